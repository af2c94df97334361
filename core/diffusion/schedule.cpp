#include "core/diffusion/schedule.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

constexpr double kPi = 3.14159265358979323846;

torch::Tensor as_double(const torch::Tensor& t) {
  TORCH_CHECK(t.is_floating_point(), "schedule: t must be a floating tensor, got ", t.dtype());
  return t.to(torch::kFloat64);
}

}  // namespace

double DiffusionSchedule::alpha(double t) const { return std::exp(-0.5 * integrated_beta(t)); }

// -expm1 keeps sigma accurate for small B, where 1 - alpha^2 would cancel.
double DiffusionSchedule::sigma(double t) const {
  return std::sqrt(std::max(0.0, -std::expm1(-integrated_beta(t))));
}

torch::Tensor DiffusionSchedule::alpha(const torch::Tensor& t) const {
  return torch::exp(-0.5 * integrated_beta(t));
}

torch::Tensor DiffusionSchedule::sigma(const torch::Tensor& t) const {
  return torch::sqrt((-torch::expm1(-integrated_beta(t))).clamp_min(0.0));
}

VpSchedule::VpSchedule(double beta_min, double beta_max)
    : beta_min_(beta_min), beta_max_(beta_max) {
  if (!(beta_min >= 0.0) || !(beta_max >= beta_min) || !(beta_max > 0.0)) {
    throw InputError("vp schedule needs 0 <= beta_min <= beta_max and beta_max > 0, got " +
                     std::to_string(beta_min) + ", " + std::to_string(beta_max));
  }
}

double VpSchedule::beta(double t) const { return beta_min_ + (beta_max_ - beta_min_) * t; }

double VpSchedule::integrated_beta(double t) const {
  return beta_min_ * t + 0.5 * (beta_max_ - beta_min_) * t * t;
}

torch::Tensor VpSchedule::beta(const torch::Tensor& t) const {
  return beta_min_ + (beta_max_ - beta_min_) * as_double(t);
}

torch::Tensor VpSchedule::integrated_beta(const torch::Tensor& t) const {
  const auto td = as_double(t);
  return td * (beta_min_ + 0.5 * (beta_max_ - beta_min_) * td);
}

CosineSchedule::CosineSchedule(double beta_clip, double offset)
    : beta_clip_(beta_clip), offset_(offset) {
  if (!(offset > 0.0)) throw InputError("cosine schedule offset must be > 0");
  tan_phase0_ = std::tan(phase(0.0));
  const double beta0 = kPi / (1.0 + offset_) * std::tan(phase(0.0));
  if (!(beta_clip > beta0)) {
    throw InputError("cosine schedule: beta clip " + std::to_string(beta_clip) +
                     " must exceed beta(0) = " + std::to_string(beta0));
  }
  // beta(t_clip) = beta_clip  <=>  tan(phase) = beta_clip (1+s) / pi.
  const double phase_clip = std::atan(beta_clip * (1.0 + offset_) / kPi);
  t_clip_ = phase_clip * 2.0 * (1.0 + offset_) / kPi - offset_;
  integrated_at_clip_ = integrated_unclipped(t_clip_);
}

double CosineSchedule::phase(double t) const { return 0.5 * kPi * (t + offset_) / (1.0 + offset_); }

double CosineSchedule::beta(double t) const {
  if (t >= t_clip_) return beta_clip_;
  return kPi / (1.0 + offset_) * std::tan(phase(t));
}

double CosineSchedule::integrated_beta(double t) const {
  if (t >= t_clip_) return integrated_at_clip_ + beta_clip_ * (t - t_clip_);
  return integrated_unclipped(t);
}

// B(t) = -2 log(cos(phase(t)) / cos(phase(0))) >= 0. With d = phase(t) - phase(0) the ratio is
// 1 - 2 sin^2(d/2) - tan(phase(0)) sin(d), so B = -2 log1p(-(2 sin^2(d/2) + tan(phase(0)) sin d)):
// for t >= 0 the argument of log1p is a sum of non-negative terms, negated, and B cannot come
// out below zero however libm and ATen's vectorised functions round (a difference of two
// separately rounded logarithms did, making sigma = sqrt(1 - exp(-B)) NaN near t = 0).
double CosineSchedule::integrated_unclipped(double t) const {
  const double d = 0.5 * kPi * std::max(t, 0.0) / (1.0 + offset_);
  const double half = std::sin(0.5 * d);
  return std::max(0.0, -2.0 * std::log1p(-(2.0 * half * half + tan_phase0_ * std::sin(d))));
}

// Both branches are evaluated by torch::where, so the unclipped one sees t clamped below t_clip
// where tan stays finite (an inf there would poison gradients through where).
torch::Tensor CosineSchedule::beta(const torch::Tensor& t) const {
  const auto td = as_double(t);
  const auto phase_t = 0.5 * kPi * (td.clamp_max(t_clip_) + offset_) / (1.0 + offset_);
  const auto raw = kPi / (1.0 + offset_) * torch::tan(phase_t);
  return torch::where(td >= t_clip_, torch::full_like(td, beta_clip_), raw);
}

// The same stable form as integrated_unclipped, vectorised.
torch::Tensor CosineSchedule::integrated_beta(const torch::Tensor& t) const {
  const auto td = as_double(t);
  const auto d = 0.5 * kPi * td.clamp(0.0, t_clip_) / (1.0 + offset_);
  const auto raw =
      (-2.0 * torch::log1p(-(2.0 * torch::sin(0.5 * d).square() + tan_phase0_ * torch::sin(d))))
          .clamp_min(0.0);
  const auto clipped = integrated_at_clip_ + beta_clip_ * (td - t_clip_);
  return torch::where(td >= t_clip_, clipped, raw);
}

std::shared_ptr<const DiffusionSchedule> make_schedule(NoiseSchedule kind, double beta_min,
                                                       double beta_max) {
  switch (kind) {
    case NoiseSchedule::kVp:
      return std::make_shared<VpSchedule>(beta_min, beta_max);
    case NoiseSchedule::kCosine:
      return std::make_shared<CosineSchedule>(beta_max);
  }
  throw InputError("unknown noise schedule");
}

std::shared_ptr<const DiffusionSchedule> make_schedule(const std::string& name, double beta_min,
                                                       double beta_max) {
  const auto kind = parse_enum<NoiseSchedule>(name);
  if (!kind) throw InputError("unknown noise schedule '" + name + "', expected vp or cosine");
  return make_schedule(*kind, beta_min, beta_max);
}

torch::Tensor per_sample(const torch::Tensor& coefficient, const torch::Tensor& like) {
  auto c = coefficient.to(like.device(), like.scalar_type());
  if (c.dim() == 0) return c;
  TORCH_CHECK(c.dim() == 1 && (c.size(0) == like.size(0) || c.size(0) == 1),
              "per_sample: expected a coefficient of shape [", like.size(0), "] or [1], got ",
              c.sizes());
  std::vector<int64_t> shape(static_cast<size_t>(like.dim()), 1);
  shape[0] = c.size(0);
  return c.view(shape);
}

}  // namespace wsd
