#include <torch/torch.h>

#include "infer/likelihood/likelihood_step.hpp"
#include "infer/samplers/sampler.hpp"

namespace wsd {

// With s_W = -(beta_t / sigma_t) n_hat, n_hat the estimate of the structured noise K e, the ODE
// is dx/dt = -beta/2 x + beta/(2 sigma) n_hat: the VP ODE with n_hat in place of white noise.
// Holding n_hat over [t - dt, t] and integrating the rest exactly gives
//   x_s = alpha_s x0_hat + sigma_s n_hat,  x0_hat = (x_t - sigma_t n_hat) / alpha_t.
DenoisedState denoised_state(const DiffusionSchedule& schedule, const torch::Tensor& x,
                             const torch::Tensor& s_w, double t) {
  const double sigma_t = schedule.sigma(t), alpha_t = schedule.alpha(t);
  const auto n_hat = (-sigma_t / schedule.beta(t)) * s_w;
  return {(x - sigma_t * n_hat) / alpha_t, n_hat};
}

torch::Tensor sample_exponential(const DiffusionSchedule& schedule, const ScoreFn& score,
                                 torch::Tensor x, const std::vector<double>& grid,
                                 const SamplerContext& context) {
  // A likelihood step that replaces the transition (proximal) takes the step from t to s
  // itself, from the same score evaluation.
  LikelihoodStep* transition =
      context.likelihood && context.likelihood->kind().replaces_transition()
          ? context.likelihood.get()
          : nullptr;
  const int64_t steps = static_cast<int64_t>(grid.size()) - 1;
  for (int64_t i = 0; i < steps; ++i) {
    const double t = grid[static_cast<size_t>(i)];
    const double s = grid[static_cast<size_t>(i + 1)];
    const auto eval = evaluate_score(schedule, score, x, t, t - s, i, context);
    if (transition != nullptr) {
      x = transition->transition({x, eval.s_w, t, t - s, schedule, i});
    } else {
      const auto state = denoised_state(schedule, x, eval.s_w, t);
      x = eval.corrected(schedule.alpha(s) * state.x0_hat + schedule.sigma(s) * state.n_hat);
    }
    report_step(context, i + 1, steps, x);
  }
  return x;
}

}  // namespace wsd
