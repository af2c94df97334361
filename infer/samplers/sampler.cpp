#include "infer/samplers/sampler.hpp"

#include <torch/torch.h>

#include <cmath>
#include <iomanip>
#include <sstream>

#include "core/diffusion/forward_process.hpp"
#include "core/util/errors.hpp"
#include "infer/likelihood/likelihood_step.hpp"

namespace wsd {

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
    return whitened_score_from_x0(*s, x, tweedie_x0(*s, x, score(x, t), t).clamp(-1.0, 1.0), t);
  };
}

torch::Tensor ScoreEvaluation::corrected(torch::Tensor x_next) const {
  return increment.defined() ? x_next + increment : x_next;
}

ScoreEvaluation evaluate_score(const DiffusionSchedule& schedule, const ScoreFn& score,
                               const torch::Tensor& x, double t, double dt, int64_t step,
                               const SamplerContext& context) {
  ScoreEvaluation out;
  LikelihoodStep* likelihood = context.likelihood.get();
  // A step that replaces the transition is the sampler's to call (sample_exponential).
  if (likelihood == nullptr || likelihood->kind().replaces_transition()) {
    out.s_w = score(x, time_like(x, t));
    return out;
  }
  if (!likelihood->kind().differentiates_prior()) {
    out.s_w = score(x, time_like(x, t));
    out.increment = likelihood->increment({x, out.s_w, t, dt, schedule, step});
    return out;
  }
  torch::AutoGradMode enable_grad(true);
  const auto x_grad = x.detach().requires_grad_(true);
  const auto s_w = score(x_grad, time_like(x, t));
  out.increment = likelihood->increment({x_grad, s_w, t, dt, schedule, step}).detach();
  out.s_w = s_w.detach();
  return out;
}

void check_composes(SamplerMethod method, const LikelihoodKind& kind) {
  if (!kind.composes_with(method)) {
    throw InputError("sampler.likelihood " + kind.name() + " does not work with sampler.method " +
                     std::string(enum_name(method)));
  }
}

DivergenceGuard::DivergenceGuard(std::string setting, int64_t first_row, int64_t rows_per_image,
                                 int64_t every)
    : setting_(std::move(setting)),
      first_row_(first_row),
      rows_per_image_(std::max<int64_t>(1, rows_per_image)),
      every_(std::max<int64_t>(1, every)) {}

void DivergenceGuard::check(int64_t step, int64_t steps, const torch::Tensor& x) const {
  if (step % every_ != 0 && step != steps) return;
  const auto rms = x.detach().flatten(1).to(torch::kFloat64).square().mean(1).sqrt();
  // NaN compares false, so "not below the limit" catches it along with +inf.
  const auto bad = rms.le(kMaxRms).logical_not();
  if (!bad.any().item<bool>()) return;
  const int64_t row = bad.nonzero()[0][0].item<int64_t>();
  const double value = rms[row].item<double>();
  std::ostringstream message;
  message << "sampling diverged at step " << step << " of " << steps << " for image "
          << (first_row_ + row) / rows_per_image_ << " (state rms ";
  if (std::isfinite(value)) {
    message << std::setprecision(3) << value << ", beyond " << kMaxRms << ")";
  } else {
    message << "not finite)";
  }
  message << ": " << setting_;
  throw DivergenceError(message.str());
}

StepCallback DivergenceGuard::wrap(StepCallback next) const {
  return
      [guard = *this, next = std::move(next)](int64_t step, int64_t steps, const torch::Tensor& x) {
        guard.check(step, steps, x);
        if (next) next(step, steps, x);
      };
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
    case SamplerMethod::kDpmSolver2m:
      return sample_dpm_solver_2m;
    case SamplerMethod::kSde:
      return sample_sde;
  }
  throw InputError("unknown sampler.method");
}

std::vector<double> time_grid_for(const DiffusionSchedule& schedule, const SamplerConfig& sampler,
                                  int64_t steps, double t_eps) {
  return time_grid(schedule, sampler.time_grid, steps, t_eps, sampler.rho);
}

}  // namespace wsd
