#pragma once

#include <torch/torch.h>

#include <memory>

#include "train/distributed/communicator.hpp"

namespace wsd {

// Averages gradients over ranks: gradients are flattened into one contiguous buffer per dtype
// and reduced with a single collective each, not one collective per parameter.
class GradientReducer {
 public:
  explicit GradientReducer(std::shared_ptr<Communicator> communicator);
  void average(torch::nn::Module& module);
  // Copies rank 0's parameters and buffers to every rank (start of training).
  void broadcast_parameters(torch::nn::Module& module);

 private:
  std::shared_ptr<Communicator> communicator_;
};

}  // namespace wsd
