#pragma once

#include <cstdint>
#include <vector>

#include "core/config/config_enums.hpp"
#include "infer/gaussian/cg_gaussian_posterior.hpp"
#include "infer/gaussian/fourier_gaussian_posterior.hpp"
#include "infer/gaussian/gaussian_measurement_model.hpp"
#include "infer/likelihood/likelihood_step.hpp"

namespace wsd {

// The data-consistency step that uses the measurement noise model (`sampler.likelihood:
// proximal`, with the `exponential` sampler). It replaces the sampler's transition: each step
// from t to s < t is the Gaussian posterior transition p(x_s | x_t, y) of a linear-Gaussian
// surrogate:
//   1. x0_hat = E[x_0 | x_t] from the prior (Tweedie), with covariance
//        C_t = (P^-1 + (alpha_t^2 / sigma_t^2) (K K^T)^-1)^-1,
//      P the data's power spectrum and K K^T the prior's noise spectrum (exact for the Gaussian
//      prior; for a network, the covariance of the Gaussian fit to the same data);
//   2. the proximal solve
//        x0_dc = argmin ||y - A x||^2_{Sigma^-1 lambda} + ||x - x0_hat||^2_{C_t^-1}
//      with Sigma = s^2 K_y K_y^T the task's structured measurement noise, in closed form per
//      frequency (FourierGaussianPosterior) for a Fourier-diagonal operator, by conjugate
//      gradients on its normal equations for any other (CgGaussianPosterior: inpainting,
//      zero-boundary blurs, downsampling, operators from files), its posterior covariance P_t;
//   3. re-noising with the prior's own structured noise along the forward-process bridge:
//        x_s = c1 x0_dc + c2 x_t + xi,  xi ~ N(0, sigma_b^2 K K^T + c1^2 P_t),  (x0: sample)
//        x_s = c1 x0_dc + c2 x_t + xi,  xi ~ N(0, sigma_b^2 K K^T)              (x0: mean)
//        c1 = alpha_s sigma_{t|s}^2 / sigma_t^2,  c2 = (alpha_t / alpha_s) sigma_s^2 / sigma_t^2,
//        sigma_b^2 = sigma_{t|s}^2 sigma_s^2 / sigma_t^2,
//        sigma_{t|s}^2 = 1 - alpha_t^2 / alpha_s^2.
// With `ProximalX0::kSample` and the Gaussian prior every transition is exact, so the sampler
// draws exact posterior samples at any number of steps. A trained prior is much sharper than its
// Gaussian fit: its own Cov[x_0 | x_t, y] is far below P_t, and drawing x_0 from N(x0_dc, P_t)
// puts wrong, large-scale noise into every step (c1 is of order 1 for coarse steps). The default
// `ProximalX0::kMean` goes on from x0_dc itself, as DDPM's ancestral step goes on from its
// x_0 estimate: the c1^2 P_t term vanishes as dt^2 for small steps, so both agree in the limit
// (docs/maths.md; experiments/results/ compares them). The step is implicit (a solve, not a
// gradient step): it cannot diverge, and its weight follows from the noise level and the
// schedule; lambda scales the data precision (1 = the noise model as given).
//
// Step i of image j draws its noise from image j's seed and i alone, so a step object can run
// any number of trajectories. The conjugate-gradient solve is warm-started from the previous
// step's solution only when a call continues the trajectory that produced it (its x_t is that
// step's output); the solve's answer depends on its start only within sampler.cg_tolerance, and
// never on another trajectory. With `sample` the CG path draws x_0 by perturb-and-optimise (the
// solve with the prior mean and the measurement replaced by draws around them), which has the
// closed form's covariance P_t without ever forming it.
class ProximalLikelihoodStep final : public LikelihoodStep {
 public:
  static constexpr const char* kWeightMeaning =
      "a multiplier of the data precision: 1 = the measurement noise model as given";
  static constexpr bool kReplacesTransition = true;
  static constexpr bool kNeedsMeasurementModel = true;
  static constexpr const char* kGraphObstacle =
      "the proximal step re-noises from per-image host generators";
  static std::optional<double> natural_weight() { return 1.0; }
  static bool composes_with(SamplerMethod method) { return method == SamplerMethod::kExponential; }

  // From the setup: the measurement model (the data's power spectrum and the measurement noise
  // spectrum; its mean is unused), the prior's noise family, one seed per image of y,
  // sampler.proximal_x0 (above) and, for operators that are not Fourier-diagonal,
  // sampler.cg_tolerance and cg_max_iterations. Throws InputError when the setup lacks the model.
  explicit ProximalLikelihoodStep(const LikelihoodSetup& setup);

  torch::Tensor transition(const LikelihoodInput& in) override;

  // The state to start the reverse process from, a draw from the surrogate's p(x_t | y):
  //   x_t = alpha_t (x_w + xi) + sigma_t n,   xi ~ N(0, Cov[x_0 | y]),
  // with x_w the Wiener estimate from the data's mean and spectrum and n the prior's noise
  // (`prior_noise`, [N, C, H, W]). Frequencies the prior's noise does not reach are never noised
  // by the forward process, so x_t carries alpha_t x_0 there and the reverse process only
  // scales it: started from pure noise they would stay empty whatever the data say.
  torch::Tensor initial_state(const torch::Tensor& prior_noise, double alpha_t,
                              double sigma_t) override;

 private:
  torch::Tensor tweedie_covariance(double alpha_t, double sigma_t) const;

  torch::Tensor white_noise(const std::vector<int64_t>& shape, uint64_t stream) const;
  // The data's posterior under the prior N(m, prior_power) and the noise model at lambda_t,
  // and its mean for prior means m [N or 1, C, H, W].
  FourierGaussianPosterior data_posterior(const torch::Tensor& prior_power, double t,
                                          int64_t channels) const;
  torch::Tensor posterior_mean(const FourierGaussianPosterior& posterior, const torch::Tensor& m);

  // The bridge x_s = c1 x_0 + c2 x_t + noise of variance `variance` K K^T (above).
  struct Bridge {
    double c1, c2, variance;
  };
  static Bridge bridge_of(const LikelihoodInput& in);
  torch::Tensor bridge_noise(const torch::Tensor& white, double variance) const;

  // Operators that are not Fourier-diagonal: the solve under prior power `prior_power` (full
  // grid) and the noise model at lambda_t, the transition with it, and a perturb-and-optimise
  // draw (noise streams offset by `stream`, warm start z0).
  CgGaussianPosterior cg_posterior(const torch::Tensor& prior_power, double t);
  torch::Tensor cg_transition(const LikelihoodInput& in, const torch::Tensor& x0_hat);
  torch::Tensor cg_draw(const CgGaussianPosterior& posterior, const torch::Tensor& m,
                        uint64_t stream, const torch::Tensor& z0);
  void note_solve(const CgGaussianPosterior::Solution& solution);
  // Noise streams of the perturb-and-optimise draws, apart from the bridge's (0, 1, 2, ...).
  static constexpr uint64_t kPriorPerturbation = 1ULL << 40;
  static constexpr uint64_t kNoisePerturbation = 2ULL << 40;

  torch::Tensor transfer_;           // complex128 [C', Cin, H, W]; undefined: the CG path
  torch::Tensor data_mean_;          // float64 [C, H, W]
  torch::Tensor data_power_;         // float64 [C or 1, H, W], full grid
  torch::Tensor prior_noise_power_;  // float64 [1, H, W]
  torch::Tensor noise_power_;        // float64 [C' or 1, H', W']
  std::vector<uint64_t> seeds_;
  ProximalX0 x0_;
  // The CG path: its options, the preconditioner's gain, and the warm start (above).
  CgOptions cg_;
  torch::Tensor gain_;
  torch::Tensor warm_z_, last_x_s_;
  bool warned_cap_ = false;
};

}  // namespace wsd
