#pragma once

#include <torch/types.h>

#include <string>
#include <utility>

#include "core/diffusion/schedule.hpp"
#include "core/noise/structured_noise.hpp"

namespace wsd {

// A diffusion prior as samplers and solvers see it: the whitened score, the Tweedie estimate of
// x_0, the schedule both refer to, and what the prior was trained on: its own structured noise
// family (the K of G = sqrt(beta) K, from which every reverse process starts) and the last time
// t_eps of its reverse process. Implemented by a trained network (ScoreModel) and by the
// closed-form Gaussian prior (GaussianPriorModel); `load_prior` picks one from a checkpoint.
// The score methods are not const because evaluating a network is not.
class Prior {
 public:
  virtual ~Prior() = default;

  // s_W(x_t, t) = G G^T grad log p_t(x_t) for x_t [N, C, H, W] and t float64 [N] (or scalar),
  // in x_t's dtype and on its device.
  virtual torch::Tensor whitened_score(const torch::Tensor& x_t, const torch::Tensor& t) = 0;
  // E[x_0 | x_t].
  virtual torch::Tensor x0_estimate(const torch::Tensor& x_t, const torch::Tensor& t) = 0;
  virtual const DiffusionSchedule& schedule() const = 0;
  // What the prior is, for logs ("ddpm_unet (noise, sign +1)", "gaussian (exact)").
  virtual std::string describe() const = 0;

  // The prior's own noise family (the config's `noise` section it was trained with).
  const StructuredNoise& noise() const { return noise_; }
  // Where its reverse process ends (model.t_eps).
  double t_eps() const { return t_eps_; }

 protected:
  Prior(StructuredNoise noise, double t_eps) : noise_(std::move(noise)), t_eps_(t_eps) {}
  // Copies belong to the concrete classes; slicing through the interface is not allowed.
  Prior(const Prior&) = default;
  Prior(Prior&&) = default;
  Prior& operator=(const Prior&) = default;
  Prior& operator=(Prior&&) = default;

 private:
  StructuredNoise noise_;
  double t_eps_;
};

}  // namespace wsd
