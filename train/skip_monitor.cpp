#include "train/skip_monitor.hpp"

#include <stdexcept>

namespace wsd {

SkipMonitor::SkipMonitor(int64_t capacity, torch::Device device) : capacity_(capacity) {
  if (capacity < 1) throw std::invalid_argument("SkipMonitor: capacity must be at least 1");
  const auto options = torch::TensorOptions().device(device);
  flags_ = torch::zeros({capacity}, options.dtype(torch::kInt32));
  consecutive_ = torch::zeros({}, options.dtype(torch::kInt64));
  steps_.resize(static_cast<size_t>(capacity));
}

void SkipMonitor::record(int64_t step, const torch::Tensor& applied,
                         const torch::Tensor& local_loss) {
  if (full()) throw std::logic_error("SkipMonitor::record on a full buffer; collect() first");
  torch::NoGradGuard no_grad;
  const auto skipped = applied.logical_not();
  const auto flag = skipped.to(torch::kInt32) +
                    2 * torch::isfinite(local_loss.detach()).logical_not().to(torch::kInt32);
  flags_[count_].copy_(flag);
  consecutive_.add_(1).mul_(skipped.to(torch::kInt64));
  steps_[static_cast<size_t>(count_)] = step;
  ++count_;
}

std::vector<SkipMonitor::Skipped> SkipMonitor::collect(int64_t* consecutive) {
  std::vector<Skipped> out;
  const auto host = flags_.narrow(0, 0, count_).to(torch::kCPU).contiguous();
  const int32_t* f = host.data_ptr<int32_t>();
  for (int64_t i = 0; i < count_; ++i) {
    if (f[i] & 1) out.push_back({steps_[static_cast<size_t>(i)], (f[i] & 2) != 0});
  }
  if (consecutive) *consecutive = consecutive_.item<int64_t>();
  count_ = 0;
  return out;
}

}  // namespace wsd
