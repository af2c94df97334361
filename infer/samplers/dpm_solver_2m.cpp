#include <torch/torch.h>

#include <cmath>

#include "infer/samplers/sampler.hpp"

namespace wsd {

// DPM-Solver++(2M) (Lu et al. 2022) in the whitened variables. In the log-SNR
// lambda = log(alpha/sigma) the VP ODE with data prediction D is exactly
//   x_s = (sigma_s / sigma_t) x_t - alpha_s expm1(-h) D,   h = lambda_s - lambda_t,
// whatever the noise covariance: the structured noise only enters through the prior's x0_hat.
// D = x0_hat gives the exponential (DDIM) step; the multistep correction extrapolates x0_hat
// linearly in lambda from the previous step: D = (1 + 1/(2r)) x0_hat_i - 1/(2r) x0_hat_{i-1},
// r = h_{i-1} / h_i. One network evaluation per step; first order at the first step and, below
// 15 steps, at the last one (the extrapolation is least reliable there).
torch::Tensor sample_dpm_solver_2m(const DiffusionSchedule& schedule, const ScoreFn& score,
                                   torch::Tensor x, const std::vector<double>& grid,
                                   const SamplerContext& context) {
  const int64_t steps = static_cast<int64_t>(grid.size()) - 1;
  const auto log_snr = [&](double t) { return std::log(schedule.alpha(t) / schedule.sigma(t)); };
  torch::Tensor previous_x0;
  double previous_h = 0.0;
  for (int64_t i = 0; i < steps; ++i) {
    const double t = grid[static_cast<size_t>(i)];
    const double s = grid[static_cast<size_t>(i + 1)];
    const double h = log_snr(s) - log_snr(t);
    const auto eval = evaluate_score(schedule, score, x, t, t - s, i, context);
    const auto x0_hat = denoised_state(schedule, x, eval.s_w, t).x0_hat;
    auto d = x0_hat;
    const bool lower_order_final = i == steps - 1 && steps < 15;
    if (previous_x0.defined() && !lower_order_final) {
      const double half_inverse_r = 0.5 * h / previous_h;
      d = (1.0 + half_inverse_r) * x0_hat - half_inverse_r * previous_x0;
    }
    const double sigma_ratio = schedule.sigma(s) / schedule.sigma(t);
    x = eval.corrected(sigma_ratio * x - (schedule.alpha(s) * std::expm1(-h)) * d);
    previous_x0 = x0_hat;
    previous_h = h;
    report_step(context, i + 1, steps, x);
  }
  return x;
}

}  // namespace wsd
