#pragma once

// Continuous-time noise schedules of the variance-preserving forward process
//   dx = -beta(t)/2 x dt + sqrt(beta(t)) K dw,   x_t = alpha_t x_0 + sigma_t K e,
// with B(t) = int_0^t beta, alpha_t = exp(-B/2) and sigma_t = sqrt(1 - alpha_t^2).
// Everything is computed in double: the tensor overloads take t of any floating dtype and
// return float64 on t's device, so sampler bookkeeping never loses precision near t = 0
// (sigma ~ sqrt(beta_min t)) or near t = 1 (alpha ~ 1e-2).

#include <torch/types.h>

#include <memory>
#include <string>

#include "core/config/config_enums.hpp"

namespace wsd {

// A schedule is fully defined by beta(t) and its integral B(t); alpha and sigma derive from B so
// that beta = -2 d(log alpha)/dt holds exactly for every schedule. The class is named
// DiffusionSchedule because wsd::NoiseSchedule is already the config enum that selects one.
class DiffusionSchedule {
 public:
  virtual ~DiffusionSchedule() = default;

  virtual std::string name() const = 0;

  virtual double beta(double t) const = 0;
  virtual double integrated_beta(double t) const = 0;
  virtual torch::Tensor beta(const torch::Tensor& t) const = 0;
  virtual torch::Tensor integrated_beta(const torch::Tensor& t) const = 0;

  double alpha(double t) const;
  double sigma(double t) const;
  torch::Tensor alpha(const torch::Tensor& t) const;
  torch::Tensor sigma(const torch::Tensor& t) const;
};

// Linear beta: beta(t) = beta_min + (beta_max - beta_min) t (Song et al.'s VP SDE).
class VpSchedule final : public DiffusionSchedule {
 public:
  explicit VpSchedule(double beta_min = 0.1, double beta_max = 20.0);

  std::string name() const override { return "vp"; }
  double beta(double t) const override;
  double integrated_beta(double t) const override;
  torch::Tensor beta(const torch::Tensor& t) const override;
  torch::Tensor integrated_beta(const torch::Tensor& t) const override;

  double beta_min() const { return beta_min_; }
  double beta_max() const { return beta_max_; }

 private:
  double beta_min_;
  double beta_max_;
};

// Nichol & Dhariwal's cosine schedule, alpha_t = cos(pi/2 (t+s)/(1+s)) / cos(pi/2 s/(1+s)),
// whose beta = pi/(1+s) tan(pi/2 (t+s)/(1+s)) diverges at t = 1. beta is clipped at beta_clip
// from the time t_clip where it reaches that value; B (hence alpha and sigma) integrates the
// clipped beta, so alpha_1 > 0 stays finite and beta = -2 d(log alpha)/dt still holds. With
// beta_clip = 20 the clip starts at t ~ 0.90 and alpha_1 ~ 0.057; with 100, t ~ 0.98 and ~0.012.
class CosineSchedule final : public DiffusionSchedule {
 public:
  explicit CosineSchedule(double beta_clip = 20.0, double offset = 0.008);

  std::string name() const override { return "cosine"; }
  double beta(double t) const override;
  double integrated_beta(double t) const override;
  torch::Tensor beta(const torch::Tensor& t) const override;
  torch::Tensor integrated_beta(const torch::Tensor& t) const override;

  double beta_clip() const { return beta_clip_; }
  double offset() const { return offset_; }
  double t_clip() const { return t_clip_; }

 private:
  double phase(double t) const;                 // pi/2 (t+s)/(1+s)
  double integrated_unclipped(double t) const;  // B(t) of the unclipped beta

  double beta_clip_;
  double offset_;
  double t_clip_;
  double tan_phase0_;
  double integrated_at_clip_;
};

// The schedule a model config names. beta_min/beta_max parameterise "vp"; for "cosine"
// beta_max is the clip of beta (the largest beta it may reach) and beta_min is unused.
// Throws InputError for an unknown name or invalid parameters.
std::shared_ptr<const DiffusionSchedule> make_schedule(NoiseSchedule kind, double beta_min = 0.1,
                                                       double beta_max = 20.0);
std::shared_ptr<const DiffusionSchedule> make_schedule(const std::string& name,
                                                       double beta_min = 0.1,
                                                       double beta_max = 20.0);

// A per-sample coefficient (shape [N] or a scalar, any floating dtype) reshaped to broadcast
// against `like` ([N, ...]) and cast to its dtype and device. The single place where float64
// schedule values meet tensors in the working dtype.
torch::Tensor per_sample(const torch::Tensor& coefficient, const torch::Tensor& like);

}  // namespace wsd
