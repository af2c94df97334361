#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "train/distributed/communicator.hpp"

namespace wsd {

// Largest |p - p_rank0| over all parameters of `module`, per rank (index = rank; entry 0 is 0).
// Collective: every rank must call it at the same point. Synchronises with the device once.
std::vector<double> parameter_divergence(Communicator& communicator, torch::nn::Module& module);

// Throws std::runtime_error naming `step` and the diverged ranks when any rank's parameters differ
// from rank 0's. Data-parallel ranks apply identical updates to identical weights, so any
// difference, however small, means a rank went its own way.
void check_parameter_consistency(Communicator& communicator, torch::nn::Module& module,
                                 int64_t step);

}  // namespace wsd
