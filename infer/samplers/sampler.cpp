#include "infer/samplers/sampler.hpp"

#include <torch/torch.h>

#include <cmath>

#include "core/diffusion/forward_process.hpp"

namespace wsd {

std::vector<double> uniform_time_grid(int64_t steps, double t_eps) {
  TORCH_CHECK(steps >= 1, "a time grid needs at least one step");
  std::vector<double> grid(static_cast<size_t>(steps + 1));
  for (int64_t i = 0; i <= steps; ++i) {
    grid[static_cast<size_t>(i)] = 1.0 - (1.0 - t_eps) * static_cast<double>(i) / steps;
  }
  return grid;
}

torch::Tensor time_like(const torch::Tensor& x, double t) {
  return torch::full({x.size(0)}, t,
                     torch::TensorOptions().dtype(torch::kFloat64).device(x.device()));
}

torch::Tensor tweedie_from_score(const DiffusionSchedule& schedule, const ScoreFn& score,
                                 const torch::Tensor& x, double t) {
  const auto t_vec = time_like(x, t);
  return tweedie_x0(schedule, x, score(x, t_vec), t_vec);
}

torch::Tensor sample_euler(const DiffusionSchedule& schedule, const ScoreFn& score, torch::Tensor x,
                           const std::vector<double>& grid, const StepCallback& callback) {
  const int64_t steps = static_cast<int64_t>(grid.size()) - 1;
  for (int64_t i = 0; i < steps; ++i) {
    const double t = grid[static_cast<size_t>(i)];
    const double dt = t - grid[static_cast<size_t>(i + 1)];
    const double beta = schedule.beta(t);
    const auto s_w = score(x, time_like(x, t));
    // The paper's factor needs beta dt < 1; coarser grids use its first-order expansion.
    const double decay = beta * dt < 1.0 ? 2.0 - std::sqrt(1.0 - beta * dt) : 1.0 + 0.5 * beta * dt;
    x = decay * x + (0.5 * dt) * s_w;
    if (callback) callback(i + 1, steps, x);
  }
  return x;
}

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
