#include "train/distributed/gradient_reducer.hpp"

#include <map>

namespace wsd {
namespace {

// Flattens tensors of one dtype into one buffer, reduces or broadcasts it, and scatters back.
template <typename Collective>
void through_flat_buffers(const std::vector<torch::Tensor>& tensors, Collective&& collective) {
  std::map<torch::ScalarType, std::vector<torch::Tensor>> groups;
  for (const auto& t : tensors) groups[t.scalar_type()].push_back(t);
  for (auto& [dtype, group] : groups) {
    std::vector<torch::Tensor> flat = {torch::cat([&] {
      std::vector<torch::Tensor> views;
      for (const auto& t : group) views.push_back(t.reshape({-1}));
      return views;
    }())};
    collective(flat);
    int64_t offset = 0;
    for (auto& t : group) {
      t.copy_(flat[0].narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
  }
}

}  // namespace

GradientReducer::GradientReducer(std::shared_ptr<Communicator> communicator)
    : communicator_(std::move(communicator)) {}

void GradientReducer::average(torch::nn::Module& module) {
  if (communicator_->world_size() == 1) return;
  std::vector<torch::Tensor> grads;
  for (auto& p : module.parameters()) {
    if (p.grad().defined()) grads.push_back(p.mutable_grad());
  }
  const double scale = 1.0 / communicator_->world_size();
  through_flat_buffers(grads, [&](std::vector<torch::Tensor>& flat) {
    communicator_->allreduce_sum(flat);
    flat[0].mul_(scale);
  });
}

void GradientReducer::broadcast_parameters(torch::nn::Module& module) {
  if (communicator_->world_size() == 1) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (auto& p : module.parameters()) tensors.push_back(p.detach());
  for (auto& b : module.buffers()) tensors.push_back(b.detach());
  through_flat_buffers(
      tensors, [&](std::vector<torch::Tensor>& flat) { communicator_->broadcast(flat, 0); });
}

}  // namespace wsd
