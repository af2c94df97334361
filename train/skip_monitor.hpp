#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace wsd {

// Steps with a non-finite loss or gradient are skipped on the device (see GatedAdam); this keeps
// their record without synchronising per step: a device buffer of per-step flags and a device
// counter of consecutive skips, both read on the host only in collect().
class SkipMonitor {
 public:
  struct Skipped {
    int64_t step;
    bool
        local_loss_nonfinite;  // this rank's own loss was NaN/Inf (else the cause came from a peer)
  };

  // `capacity`: steps recorded between two collect() calls at most.
  SkipMonitor(int64_t capacity, torch::Device device);

  // `applied`: 0-dim 0/1 flag of the step's update; `local_loss`: this rank's loss.
  void record(int64_t step, const torch::Tensor& applied, const torch::Tensor& local_loss);
  bool full() const { return count_ == capacity_; }
  // Reads the flags (one host synchronisation), returns the skipped steps since the last call and
  // the current run of consecutive skips.
  std::vector<Skipped> collect(int64_t* consecutive);

 private:
  int64_t capacity_;
  int64_t count_ = 0;
  std::vector<int64_t> steps_;
  torch::Tensor flags_;        // [capacity] int32: bit 0 skipped, bit 1 local loss non-finite
  torch::Tensor consecutive_;  // 0-dim int64
};

}  // namespace wsd
