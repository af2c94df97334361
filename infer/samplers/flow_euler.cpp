#include <torch/torch.h>

#include "infer/samplers/sampler.hpp"

namespace wsd {

torch::Tensor sample_flow_euler(const DenoiserFn& denoise, torch::Tensor x,
                                const std::vector<double>& grid, const StepCallback& callback) {
  const int64_t steps = static_cast<int64_t>(grid.size()) - 1;
  for (int64_t i = 0; i < steps; ++i) {
    const double t = grid[static_cast<size_t>(i)];
    const double dt = t - grid[static_cast<size_t>(i + 1)];
    const auto velocity = (x - denoise(x, time_like(x, t))) / t;
    x = x - dt * velocity;
    if (callback) callback(i + 1, steps, x);
  }
  return x;
}

}  // namespace wsd
