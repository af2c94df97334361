#include "infer/solve/graphed_trajectory.hpp"

#include <torch/torch.h>

#include <utility>

#include "core/util/errors.hpp"
#include "infer/likelihood/likelihood_step.hpp"

#ifdef WSD_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace wsd {

void check_graphable(const SamplerConfig& sampler) {
  const auto refuse = [](const std::string& why) {
    throw InputError("sampler.cuda_graph: " + why + "; set sampler.cuda_graph: false");
  };
  if (sampler.method == SamplerMethod::kSde) {
    refuse("the sde sampler draws noise at every step from per-image host generators");
  }
  if (const auto obstacle = likelihood_kind(sampler.likelihood).graph_obstacle()) refuse(*obstacle);
}

struct GraphedTrajectory::Recording {
#ifdef WSD_WITH_CUDA
  at::cuda::CUDAGraph graph;
#endif
  torch::Tensor x_start, y, x_end;  // the graph's own input and output buffers
};

GraphedTrajectory::GraphedTrajectory(Run trajectory, Run warm_up)
    : trajectory_(std::move(trajectory)), warm_up_(std::move(warm_up)) {}

GraphedTrajectory::~GraphedTrajectory() = default;

torch::Tensor GraphedTrajectory::operator()(const torch::Tensor& x_start, const torch::Tensor& y) {
#ifndef WSD_WITH_CUDA
  (void)x_start;
  (void)y;
  throw InputError("sampler.cuda_graph needs a CUDA build of wsdiff");
#else
  if (!x_start.is_cuda() || !y.is_cuda()) {
    throw InputError("sampler.cuda_graph needs the prior on a CUDA device (--device cuda)");
  }
  std::vector<int64_t> key(x_start.sizes().begin(), x_start.sizes().end());
  key.push_back(-1);  // separates the two shapes
  key.insert(key.end(), y.sizes().begin(), y.sizes().end());
  auto& recording = recordings_[key];
  if (!recording) {
    auto fresh = std::make_unique<Recording>();
    fresh->x_start = x_start.clone();
    fresh->y = y.clone();
    // Recording needs a stream other than the default one; the device is idle on both sides of
    // it, so no event ordering between the streams is needed.
    torch::cuda::synchronize();
    {
      c10::cuda::CUDAStreamGuard on_side_stream(c10::cuda::getStreamFromPool());
      warm_up_(fresh->x_start, fresh->y);
      fresh->graph.capture_begin();
      fresh->x_end = trajectory_(fresh->x_start, fresh->y);
      fresh->graph.capture_end();
    }
    torch::cuda::synchronize();
    recording = std::move(fresh);
  }
  recording->x_start.copy_(x_start);
  recording->y.copy_(y);
  recording->graph.replay();
  return recording->x_end.clone();
#endif
}

}  // namespace wsd
