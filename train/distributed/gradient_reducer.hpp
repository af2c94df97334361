#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "train/distributed/communicator.hpp"

namespace torch::autograd {
struct Node;
}

namespace wsd {

// Averages gradients over ranks while backward runs. Parameters are grouped, in reverse
// registration order (roughly the order backward produces their gradients), into buckets of about
// `bucket_bytes` of one dtype. A post-hook on every parameter's gradient accumulator copies the
// finished gradient into its bucket's flat buffer; once a bucket is complete, its asynchronous
// allreduce starts, so communication overlaps the rest of backward. Buckets start strictly in
// order on every rank, as collectives must. finish() waits for all of them and writes the averages
// back into the gradients. With one process the reducer does nothing.
class GradientReducer {
 public:
  GradientReducer(std::shared_ptr<Communicator> communicator, torch::nn::Module& module,
                  int64_t bucket_bytes);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Arms the hooks for the next backward pass (the last micro-batch of a step); a backward pass
  // that is not armed only accumulates gradients locally.
  void arm();
  // Completes the armed pass: starts buckets whose parameters got no gradient (unused
  // parameters), waits for every collective and stores the averaged gradients. Throws a clear
  // error when a peer died or a collective timed out.
  void finish();
  // Copies rank 0's parameters and buffers to every rank (start of training).
  void broadcast_parameters(torch::nn::Module& module);

  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }
  // Parameter indices (registration order) of each bucket, in launch order.
  std::vector<std::vector<int64_t>> bucket_layout() const;

 private:
  struct Slot {
    int64_t parameter;
    int64_t offset;
  };
  struct Bucket {
    std::vector<Slot> slots;
    torch::Tensor flat;
    int64_t pending = 0;
    bool launched = false;
    std::unique_ptr<PendingCollective> work;
  };

  void on_gradient_ready(int64_t parameter);
  void copy_in(const Slot& slot, Bucket& bucket);
  void launch_ready_buckets();

  std::shared_ptr<Communicator> communicator_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<int64_t> bucket_of_;  // per parameter
  std::vector<bool> ready_;         // per parameter, in the armed pass
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<uintptr_t> hook_keys_;
  size_t next_launch_ = 0;
  bool armed_ = false;
  std::mutex mutex_;
};

}  // namespace wsd
