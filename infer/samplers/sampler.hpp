#pragma once

// The one sampler contract. Every sampler is a function
//   sample_X(schedule, score, x, grid, context) -> x at the last grid time
// taking
//   - the prior as a score function returning the whitened score s_W(x, t) (a network in any
//     parameterisation or process through a Prior, flow matching included, or the closed-form
//     Gaussian prior),
//   - the schedule, the initial state x (at grid[0]) and a float64 time grid decreasing from 1
//     to t_eps,
//   - a context: the optional likelihood step of posterior sampling, the noise family and
//     per-image seeds of the stochastic sampler, and a per-step callback (progress, pictures).
// Times are host doubles: no step synchronises with the device. The final Tweedie estimate
// (tweedie_from_score) is the caller's last step.

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/config_enums.hpp"
#include "core/config/config_types.hpp"
#include "core/diffusion/schedule.hpp"
#include "infer/samplers/time_grid.hpp"

namespace wsd {

class LikelihoodKind;
class LikelihoodStep;
class StructuredNoise;

using ScoreFn = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& t)>;
using StepCallback = std::function<void(int64_t step, int64_t steps, const torch::Tensor& x)>;

struct SamplerContext {
  // Posterior sampling: the data-consistency increment added after every prior step.
  std::shared_ptr<LikelihoodStep> likelihood;
  // The reverse SDE: its noise family (the prior's own K) and one seed per image, from which
  // step i of image j draws its noise alone, so results never depend on the batch composition.
  const StructuredNoise* noise = nullptr;
  std::vector<uint64_t> seeds;
  StepCallback callback;
};

using SamplerFn = std::function<torch::Tensor(
    const DiffusionSchedule& schedule, const ScoreFn& score, torch::Tensor x,
    const std::vector<double>& grid, const SamplerContext& context)>;

// t as a float64 [N] tensor on x's device, filled from a host value (no transfer, no sync).
torch::Tensor time_like(const torch::Tensor& x, double t);

// E[x_0 | x_t] from the whitened score: the denoised result at the end of a trajectory.
torch::Tensor tweedie_from_score(const DiffusionSchedule& schedule, const ScoreFn& score,
                                 const torch::Tensor& x, double t);

// The sampler safeguard (sampler.clamp_x0): a score whose Tweedie estimate is clamped to
// [-1, 1], s_W' = (beta/sigma^2) (alpha clamp(x_0) - x_t). It hides a prior's errors wherever
// they push x_0 out of range, so samples made with it say little about the prior itself.
ScoreFn clamped_tweedie_score(const DiffusionSchedule& schedule, ScoreFn score);

// The paper's Euler step of the reverse probability-flow ODE dx/dt = -beta/2 x - s_W/2 on
// each interval [t_{i+1}, t_i]: x <- (2 - sqrt(1 - beta dt)) x + s_W dt / 2.
torch::Tensor sample_euler(const DiffusionSchedule& schedule, const ScoreFn& score, torch::Tensor x,
                           const std::vector<double>& grid, const SamplerContext& context = {});

// Heun's second-order method on the same ODE (two score evaluations per step; the likelihood
// increment uses the first).
torch::Tensor sample_heun(const DiffusionSchedule& schedule, const ScoreFn& score, torch::Tensor x,
                          const std::vector<double>& grid, const SamplerContext& context = {});

// The prior's estimates at (x, t) from s_W(x, t): the noise n_hat = -(sigma_t / beta_t) s_W and
// x0_hat = (x - sigma_t n_hat) / alpha_t (Tweedie). The exponential step to s holds both:
// x_s = alpha_s x0_hat + sigma_s n_hat.
struct DenoisedState {
  torch::Tensor x0_hat;
  torch::Tensor n_hat;
};
DenoisedState denoised_state(const DiffusionSchedule& schedule, const torch::Tensor& x,
                             const torch::Tensor& s_w, double t);

// The first-order exponential integrator of the VP ODE (DDIM / DPM-Solver-1): the linear drift
// is integrated exactly and the noise estimate held constant over the step.
torch::Tensor sample_exponential(const DiffusionSchedule& schedule, const ScoreFn& score,
                                 torch::Tensor x, const std::vector<double>& grid,
                                 const SamplerContext& context = {});

// DPM-Solver++(2M): the exponential step with the data prediction extrapolated linearly in
// log-SNR from the previous step (second order, one network evaluation per step).
torch::Tensor sample_dpm_solver_2m(const DiffusionSchedule& schedule, const ScoreFn& score,
                                   torch::Tensor x, const std::vector<double>& grid,
                                   const SamplerContext& context = {});

// Euler-Maruyama on the reverse SDE dx = (-beta/2 x - s_W) dt + sqrt(beta) K dw, with K the
// prior's structured noise (context.noise and context.seeds are required).
torch::Tensor sample_sde(const DiffusionSchedule& schedule, const ScoreFn& score, torch::Tensor x,
                         const std::vector<double>& grid, const SamplerContext& context = {});

// The sampler a config names, and the time grid its settings ask for.
SamplerFn sampler_for(SamplerMethod method);
std::vector<double> time_grid_for(const DiffusionSchedule& schedule, const SamplerConfig& sampler,
                                  int64_t steps, double t_eps);

// Shared step helpers.

// s_W at (x, t) and, when the context has a likelihood step, its increment there (both
// detached; DPS evaluates the score on a differentiable copy of x).
struct ScoreEvaluation {
  torch::Tensor s_w;
  torch::Tensor increment;  // undefined without a likelihood step

  // x_next plus the increment, if any.
  torch::Tensor corrected(torch::Tensor x_next) const;
};
// `step` is the step's index in the trajectory. A likelihood step that replaces the transition
// gets no increment here: the sampler it composes with calls its transition instead.
ScoreEvaluation evaluate_score(const DiffusionSchedule& schedule, const ScoreFn& score,
                               const torch::Tensor& x, double t, double dt, int64_t step,
                               const SamplerContext& context);

// InputError when a likelihood step of `kind` does not compose with sampler `method`.
void check_composes(SamplerMethod method, const LikelihoodKind& kind);

// A reverse process that ran away: a runtime failure (exit 1) whose message names the setting.
class DivergenceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Watches the state of a reverse process for divergence. Every state of a VP process, like its
// start state and its data, has a per-image rms of order 1; a state with a non-finite value or
// an rms above kMaxRms has left the process for good (an unstable explicit likelihood step grows
// geometrically), and the rest of the run would only produce NaN at full cost (or crawl through
// denormals). Checked every `every` steps and at the last one, so the host synchronises rarely.
class DivergenceGuard {
 public:
  static constexpr double kMaxRms = 100.0;

  // `setting` says what ran (sampler, steps, likelihood, lambda, stability bound) for the error.
  // Row r of a batch is image (first_row + r) / rows_per_image.
  DivergenceGuard(std::string setting, int64_t first_row = 0, int64_t rows_per_image = 1,
                  int64_t every = 10);

  // Throws DivergenceError naming the step, the first diverged image and its rms.
  void check(int64_t step, int64_t steps, const torch::Tensor& x) const;
  // A step callback that checks, then calls `next` (if any).
  StepCallback wrap(StepCallback next) const;

 private:
  std::string setting_;
  int64_t first_row_;
  int64_t rows_per_image_;
  int64_t every_;
};

// Calls the context's callback, if any.
void report_step(const SamplerContext& context, int64_t step, int64_t steps,
                 const torch::Tensor& x);

}  // namespace wsd
