#include "infer/samplers/preview_samples.hpp"

#include <torch/torch.h>

#include "infer/samplers/trajectory.hpp"

namespace wsd {

torch::Tensor preview_samples(Prior& prior, const torch::Tensor& x1, int64_t steps) {
  SamplerConfig sampler;
  sampler.method = SamplerMethod::kEuler;
  sampler.time_grid = TimeGrid::kUniform;
  sampler.steps = static_cast<int>(steps);
  return Trajectory(prior, sampler)(x1, {});
}

}  // namespace wsd
