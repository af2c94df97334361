#include <torch/torch.h>

#include <cmath>

#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"
#include "core/util/seeds.hpp"
#include "infer/samplers/sampler.hpp"

namespace wsd {
torch::Tensor sample_sde(const DiffusionSchedule& schedule, const ScoreFn& score, torch::Tensor x,
                         const std::vector<double>& grid, const SamplerContext& context) {
  if (context.noise == nullptr || static_cast<int64_t>(context.seeds.size()) != x.size(0)) {
    throw InputError("the sde sampler needs the prior's noise family and one seed per image");
  }
  const int64_t steps = static_cast<int64_t>(grid.size()) - 1;
  std::vector<uint64_t> seeds(context.seeds.size());
  for (int64_t i = 0; i < steps; ++i) {
    const double t = grid[static_cast<size_t>(i)];
    const double dt = t - grid[static_cast<size_t>(i + 1)];
    const double beta = schedule.beta(t);
    const auto eval = evaluate_score(schedule, score, x, t, dt, i, context);
    for (size_t j = 0; j < seeds.size(); ++j) seeds[j] = sampler_step_seed(context.seeds[j], i);
    const auto z =
        context.noise->sample_per_image(seeds, x.size(1), x.size(2), x.size(3), x.device())
            .to(x.scalar_type());
    // The last step lands on t_eps without new noise: the result is the mean of the transition.
    const double diffusion = i + 1 < steps ? std::sqrt(beta * dt) : 0.0;
    x = eval.corrected(x + dt * (0.5 * beta * x + eval.s_w) + diffusion * z);
    report_step(context, i + 1, steps, x);
  }
  return x;
}

}  // namespace wsd
