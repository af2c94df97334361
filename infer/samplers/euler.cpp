#include <torch/torch.h>

#include <cmath>

#include "infer/samplers/sampler.hpp"

namespace wsd {

torch::Tensor sample_euler(const DiffusionSchedule& schedule, const ScoreFn& score, torch::Tensor x,
                           const std::vector<double>& grid, const SamplerContext& context) {
  const int64_t steps = static_cast<int64_t>(grid.size()) - 1;
  for (int64_t i = 0; i < steps; ++i) {
    const double t = grid[static_cast<size_t>(i)];
    const double dt = t - grid[static_cast<size_t>(i + 1)];
    const double beta = schedule.beta(t);
    const auto eval = evaluate_score(schedule, score, x, t, dt, i, context);
    // The paper's factor needs beta dt < 1; coarser grids use its first-order expansion.
    const double decay = beta * dt < 1.0 ? 2.0 - std::sqrt(1.0 - beta * dt) : 1.0 + 0.5 * beta * dt;
    x = eval.corrected(decay * x + (0.5 * dt) * eval.s_w);
    report_step(context, i + 1, steps, x);
  }
  return x;
}

}  // namespace wsd
