#include "infer/samplers/sampler.hpp"

#include <torch/torch.h>

#include "core/diffusion/forward_process.hpp"
#include "core/util/errors.hpp"
#include "infer/likelihood/likelihood_step.hpp"

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

ScoreFn clamped_tweedie_score(const DiffusionSchedule& schedule, ScoreFn score) {
  const auto* s = &schedule;
  return [s, score = std::move(score)](const torch::Tensor& x, const torch::Tensor& t) {
    const auto x0 = tweedie_x0(*s, x, score(x, t), t).clamp(-1.0, 1.0);
    const auto alpha = s->alpha(t), sigma = s->sigma(t), beta = s->beta(t);
    return per_sample(beta * alpha / sigma.square(), x0) * x0 -
           per_sample(beta / sigma.square(), x) * x;
  };
}

torch::Tensor ScoreEvaluation::corrected(torch::Tensor x_next) const {
  return increment.defined() ? x_next + increment : x_next;
}

ScoreEvaluation evaluate_score(const DiffusionSchedule& schedule, const ScoreFn& score,
                               const torch::Tensor& x, double t, double dt,
                               const SamplerContext& context) {
  ScoreEvaluation out;
  LikelihoodStep* likelihood = context.likelihood.get();
  if (likelihood == nullptr) {
    out.s_w = score(x, time_like(x, t));
    return out;
  }
  if (!likelihood->differentiates_prior()) {
    out.s_w = score(x, time_like(x, t));
    out.increment = likelihood->increment({x, out.s_w, t, dt, schedule});
    return out;
  }
  torch::AutoGradMode enable_grad(true);
  const auto x_grad = x.detach().requires_grad_(true);
  const auto s_w = score(x_grad, time_like(x, t));
  out.increment = likelihood->increment({x_grad, s_w, t, dt, schedule}).detach();
  out.s_w = s_w.detach();
  return out;
}

void report_step(const SamplerContext& context, int64_t step, int64_t steps,
                 const torch::Tensor& x) {
  if (context.callback) context.callback(step, steps, x);
}

SamplerFn sampler_for(SamplerMethod method) {
  switch (method) {
    case SamplerMethod::kEuler:
      return sample_euler;
    case SamplerMethod::kHeun:
      return sample_heun;
    case SamplerMethod::kExponential:
      return sample_exponential;
    case SamplerMethod::kSde:
      return sample_sde;
  }
  throw InputError("unknown sampler.method");
}

}  // namespace wsd
