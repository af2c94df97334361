#include <torch/torch.h>

#include "infer/samplers/sampler.hpp"

namespace wsd {
namespace {

// dx/dt of the probability-flow ODE.
torch::Tensor drift(const DiffusionSchedule& schedule, const torch::Tensor& x,
                    const torch::Tensor& s_w, double t) {
  return (-0.5 * schedule.beta(t)) * x - 0.5 * s_w;
}

}  // namespace

torch::Tensor sample_heun(const DiffusionSchedule& schedule, const ScoreFn& score, torch::Tensor x,
                          const std::vector<double>& grid, const SamplerContext& context) {
  const int64_t steps = static_cast<int64_t>(grid.size()) - 1;
  for (int64_t i = 0; i < steps; ++i) {
    const double t = grid[static_cast<size_t>(i)];
    const double t_next = grid[static_cast<size_t>(i + 1)];
    const double dt = t - t_next;
    const auto eval = evaluate_score(schedule, score, x, t, dt, i, context);
    const auto d0 = drift(schedule, x, eval.s_w, t);
    const auto x_euler = x - dt * d0;
    const auto d1 = drift(schedule, x_euler, score(x_euler, time_like(x, t_next)), t_next);
    x = eval.corrected(x - (0.5 * dt) * (d0 + d1));
    report_step(context, i + 1, steps, x);
  }
  return x;
}

}  // namespace wsd
