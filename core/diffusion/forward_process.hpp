#pragma once

// The WS forward process and everything that ties a network output to it: noised inputs,
// regression targets, loss weights, the conversion of an output to the whitened score s_W and
// the Tweedie (posterior-mean) estimate of x_0. All time-dependent coefficients are computed
// in float64 by the schedule and cast to the working dtype once, per sample (per_sample).
//
// Two processes share the structured noise n = K e:
// - diffusion (VP): x_t = alpha_t x_0 + sigma_t n. The whitened score is
//   s_W = G G^T grad log p_t = beta_t K K^T grad log p_t, whose denoising target is
//   -(beta_t / sigma_t) n. Parameterisations: `ws` (the network outputs s_W; per-sample loss
//   weight beta_t^2, the authors' intent), `noise` (the network outputs n; weight 1) and `edm`
//   (EDM-style preconditioning, Karras et al. 2022, in VP variables: see below).
// - flow (rectified flow / flow matching): x_t = (1 - t) x_0 + t n; the network outputs the
//   velocity v = n - x_0 (weight 1), and x_0 = x_t - t v.
//
// The `edm` parameterisation: with the per-pixel data std sigma_d and D = sigma^2 + alpha^2
// sigma_d^2 (the per-pixel variance of x_t), the network sees c_in x_t with c_in = 1/sqrt(D)
// and its output F gives
//   x_0 = c_skip x_t + c_out F,  c_skip = alpha sigma_d^2 / D,  c_out = sigma sigma_d / sqrt(D).
// Its target is F* = (sigma x_0 - alpha sigma_d^2 n) / (sigma_d sqrt(D)) (unit variance at every t,
// weight 1). At high noise x_0 is c_out F, bounded by the output's scale, instead of
// (x_t - sigma n)/alpha, which multiplies every error of n by sigma/alpha (up to ~150); at low
// noise it tends to the noise parameterisation. Unit-variance structured noise keeps D exact.

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>

#include "core/config/config_enums.hpp"
#include "core/diffusion/schedule.hpp"

namespace wsd {

// What the network's output means: the model config's process + parameterisation, with the
// velocity parameterisation being the flow process (its `parameterisation` is then ignored).
enum class OutputKind { kWhitenedScore, kNoise, kPreconditionedX0, kVelocity };

struct ForwardProcessOptions {
  OutputKind output_kind() const;

  TORCH_ARG(ProcessType, process) = ProcessType::kDiffusion;
  TORCH_ARG(Parameterisation, parameterisation) = Parameterisation::kWs;
  // +1, or -1 for a network trained on +(beta/sigma) n (the authors' released training script):
  // the output is multiplied by the sign wherever it is turned into s_W or x_0.
  TORCH_ARG(int, score_sign) = 1;
  // Training times are drawn uniformly in [t_eps, 1].
  TORCH_ARG(double, t_eps) = 1e-3;
  // Data std per pixel for the edm scalings (unused by the other parameterisations).
  TORCH_ARG(double, sigma_data) = 0.5;
};

// Per-sample weighted MSE: per_sample[i] = weight_i * mean over pixels of (output - target)^2
// (float32 or float64 [N]) and loss = mean_i per_sample[i].
struct LossTerms {
  torch::Tensor per_sample;
  torch::Tensor loss;
};

// Whitened-score denoising target -(beta_t / sigma_t) n, t of shape [N] or scalar.
torch::Tensor whitened_score_target(const DiffusionSchedule& schedule, const torch::Tensor& n,
                                    const torch::Tensor& t);

// Tweedie's formula E[x_0 | x_t] = (x_t + (sigma_t^2 / beta_t) s_W) / alpha_t.
torch::Tensor tweedie_x0(const DiffusionSchedule& schedule, const torch::Tensor& x_t,
                         const torch::Tensor& s_w, const torch::Tensor& t);

// Its inverse: the whitened score of a given x_0 estimate, s_W = (beta_t / sigma_t^2)
// (alpha_t x0 - x_t).
torch::Tensor whitened_score_from_x0(const DiffusionSchedule& schedule, const torch::Tensor& x_t,
                                     const torch::Tensor& x0, const torch::Tensor& t);

// The flow state x_t = (1 - t) x_0 + t n with the signal-to-noise ratio of the VP state
// y = alpha_tau x_0 + sigma_tau n: t = sigma / (alpha + sigma) and x_t = y / (alpha + sigma).
// A flow network evaluated there is a VP prior, so every sampler and likelihood step of the
// sampler contract runs on it (docs/maths.md, "Flow process").
struct FlowState {
  torch::Tensor x_t;
  torch::Tensor t;  // float64, tau's shape
};
FlowState flow_state_at(const DiffusionSchedule& schedule, const torch::Tensor& y,
                        const torch::Tensor& tau);

class ForwardProcess {
 public:
  explicit ForwardProcess(std::shared_ptr<const DiffusionSchedule> schedule,
                          ForwardProcessOptions options = {});

  const DiffusionSchedule& schedule() const { return *schedule_; }
  std::shared_ptr<const DiffusionSchedule> schedule_ptr() const { return schedule_; }
  const ForwardProcessOptions& options() const { return options_; }
  OutputKind output_kind() const { return options_.output_kind(); }

  // Training times, float64 [n] uniform in [t_eps, 1], drawn on `gen`'s device.
  torch::Tensor sample_t(int64_t n, torch::Generator& gen, torch::Device device) const;

  // The noised input x_t for clean x_0 [N, ...], structured noise n (same shape) and t [N].
  torch::Tensor perturb(const torch::Tensor& x0, const torch::Tensor& n,
                        const torch::Tensor& t) const;

  // What the network sees for x_t: c_in x_t for edm, x_t itself otherwise.
  torch::Tensor network_input(const torch::Tensor& x_t, const torch::Tensor& t) const;

  // What the network output regresses onto: -(beta/sigma) n (ws), n (noise), F* (edm),
  // n - x_0 (velocity).
  torch::Tensor target(const torch::Tensor& x0, const torch::Tensor& n,
                       const torch::Tensor& t) const;

  // Per-sample loss weights, float64 [N]: beta_t^2 (ws), 1 (noise, edm, velocity).
  torch::Tensor loss_weight(const torch::Tensor& t) const;

  // Weighted MSE of `output` against `target` (both [N, C, H, W]); float32 at least, so bf16
  // network outputs are reduced in float32. With `frequency_filter` ([H, W/2+1], real, >= 0) the
  // error is filtered by it in the Fourier domain first (a filter even in f, as a noise psd is), so
  // each frequency's squared error is weighted by the filter's square (train.loss_weighting); a
  // filter of ones changes nothing.
  LossTerms loss(const torch::Tensor& output, const torch::Tensor& target, const torch::Tensor& t,
                 const torch::Tensor& frequency_filter = {}) const;

  // THE conversion of a network output at x_t to the whitened score s_W (diffusion only):
  // ws: sign * output; noise: -(beta/sigma) sign * output; edm: (beta/sigma^2)(alpha x_0 - x_t)
  // in a form free of cancellation. Throws for the flow process, whose score is not a VP
  // whitened score (use x0_estimate).
  torch::Tensor whitened_score(const torch::Tensor& output, const torch::Tensor& x_t,
                               const torch::Tensor& t) const;

  // E[x_0 | x_t] from a network output: Tweedie with whitened_score() for diffusion,
  // x_t - t * sign * v for flow.
  torch::Tensor x0_estimate(const torch::Tensor& output, const torch::Tensor& x_t,
                            const torch::Tensor& t) const;

 private:
  std::shared_ptr<const DiffusionSchedule> schedule_;
  ForwardProcessOptions options_;
};

}  // namespace wsd
