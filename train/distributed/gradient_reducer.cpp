#include "train/distributed/gradient_reducer.hpp"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace wsd {
namespace {

// Flattens tensors of one dtype into one buffer, broadcasts it, and scatters back.
void broadcast_flat(Communicator& communicator, const std::vector<torch::Tensor>& tensors) {
  std::map<torch::ScalarType, std::vector<torch::Tensor>> groups;
  for (const auto& t : tensors) groups[t.scalar_type()].push_back(t);
  for (auto& [dtype, group] : groups) {
    std::vector<torch::Tensor> views;
    for (const auto& t : group) views.push_back(t.reshape({-1}));
    std::vector<torch::Tensor> flat = {torch::cat(views)};
    communicator.broadcast(flat, 0);
    int64_t offset = 0;
    for (auto& t : group) {
      t.copy_(flat[0].narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
  }
}

}  // namespace

GradientReducer::GradientReducer(std::shared_ptr<Communicator> communicator,
                                 torch::nn::Module& module, int64_t bucket_bytes)
    : communicator_(std::move(communicator)) {
  if (bucket_bytes < 1) throw std::invalid_argument("GradientReducer: bucket size must be > 0");
  if (communicator_->world_size() == 1) return;
  for (const auto& p : module.parameters()) {
    if (p.requires_grad()) params_.push_back(p);
  }
  const int64_t n = static_cast<int64_t>(params_.size());
  bucket_of_.assign(static_cast<size_t>(n), -1);
  ready_.assign(static_cast<size_t>(n), false);
  // Reverse registration order: the output layers' gradients are ready first.
  int64_t bucket_size = 0;
  for (int64_t i = n - 1; i >= 0; --i) {
    const auto& p = params_[static_cast<size_t>(i)];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const bool fits =
        !buckets_.empty() && bucket_size + bytes <= bucket_bytes &&
        params_[static_cast<size_t>(buckets_.back().slots.front().parameter)].scalar_type() ==
            p.scalar_type();
    if (!fits) {
      buckets_.emplace_back();
      bucket_size = 0;
    }
    auto& bucket = buckets_.back();
    const int64_t offset =
        bucket.slots.empty()
            ? 0
            : bucket.slots.back().offset +
                  params_[static_cast<size_t>(bucket.slots.back().parameter)].numel();
    bucket.slots.push_back({i, offset});
    bucket_size += bytes;
    bucket_of_[static_cast<size_t>(i)] = static_cast<int64_t>(buckets_.size()) - 1;
  }
  for (auto& bucket : buckets_) {
    const auto& last = bucket.slots.back();
    const auto& p = params_[static_cast<size_t>(last.parameter)];
    bucket.flat = torch::zeros({last.offset + p.numel()}, p.options());
  }
  for (int64_t i = 0; i < n; ++i) {
    auto accumulator = torch::autograd::impl::grad_accumulator(params_[static_cast<size_t>(i)]);
    hook_keys_.push_back(
        accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
            [this, i](const torch::autograd::variable_list& outputs,
                      const torch::autograd::variable_list&) {
              on_gradient_ready(i);
              return outputs;
            })));
    accumulators_.push_back(std::move(accumulator));
  }
}

GradientReducer::~GradientReducer() {
  for (size_t i = 0; i < accumulators_.size(); ++i) accumulators_[i]->del_post_hook(hook_keys_[i]);
}

std::vector<std::vector<int64_t>> GradientReducer::bucket_layout() const {
  std::vector<std::vector<int64_t>> layout;
  for (const auto& bucket : buckets_) {
    layout.emplace_back();
    for (const auto& slot : bucket.slots) layout.back().push_back(slot.parameter);
  }
  return layout;
}

void GradientReducer::arm() {
  if (communicator_->world_size() == 1) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& bucket : buckets_) {
    bucket.pending = static_cast<int64_t>(bucket.slots.size());
    bucket.launched = false;
    bucket.work.reset();
  }
  std::fill(ready_.begin(), ready_.end(), false);
  next_launch_ = 0;
  armed_ = true;
}

void GradientReducer::copy_in(const Slot& slot, Bucket& bucket) {
  const auto& p = params_[static_cast<size_t>(slot.parameter)];
  auto target = bucket.flat.narrow(0, slot.offset, p.numel());
  const auto& grad = p.grad();
  if (grad.defined()) {
    target.view_as(p).copy_(grad);
  } else {
    target.zero_();
  }
}

// Runs on the autograd thread right after the parameter's gradient was accumulated.
void GradientReducer::on_gradient_ready(int64_t parameter) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_ || ready_[static_cast<size_t>(parameter)]) return;
  ready_[static_cast<size_t>(parameter)] = true;
  auto& bucket = buckets_[static_cast<size_t>(bucket_of_[static_cast<size_t>(parameter)])];
  for (const auto& slot : bucket.slots) {
    if (slot.parameter == parameter) copy_in(slot, bucket);
  }
  --bucket.pending;
  launch_ready_buckets();
}

void GradientReducer::launch_ready_buckets() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    auto& bucket = buckets_[next_launch_++];
    bucket.work = communicator_->allreduce_sum_async(bucket.flat);
    bucket.launched = true;
  }
}

void GradientReducer::finish() {
  if (communicator_->world_size() == 1) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) throw std::logic_error("GradientReducer::finish without arm");
  armed_ = false;
  // Parameters that took no part in this backward pass keep their (accumulated or zero) gradient.
  for (auto& bucket : buckets_) {
    for (const auto& slot : bucket.slots) {
      if (!ready_[static_cast<size_t>(slot.parameter)]) {
        ready_[static_cast<size_t>(slot.parameter)] = true;
        copy_in(slot, bucket);
        --bucket.pending;
      }
    }
  }
  launch_ready_buckets();
  const double scale = 1.0 / communicator_->world_size();
  torch::NoGradGuard no_grad;
  for (auto& bucket : buckets_) {
    bucket.work->wait();
    bucket.work.reset();
    bucket.flat.mul_(scale);
    for (const auto& slot : bucket.slots) {
      auto& p = params_[static_cast<size_t>(slot.parameter)];
      const auto averaged = bucket.flat.narrow(0, slot.offset, p.numel()).view_as(p);
      if (p.grad().defined()) {
        p.mutable_grad().copy_(averaged);
      } else {
        p.mutable_grad() = averaged.clone();
      }
    }
  }
}

void GradientReducer::broadcast_parameters(torch::nn::Module& module) {
  if (communicator_->world_size() == 1) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (auto& p : module.parameters()) tensors.push_back(p.detach());
  for (auto& b : module.buffers()) tensors.push_back(b.detach());
  broadcast_flat(*communicator_, tensors);
}

}  // namespace wsd
