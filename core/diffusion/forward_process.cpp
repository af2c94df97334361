#include "core/diffusion/forward_process.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <utility>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

torch::Tensor as_double(const torch::Tensor& t) { return t.to(torch::kFloat64); }

// Losses are reduced in float32 at least: a bf16 mean over thousands of pixels loses digits.
torch::Tensor at_least_float(const torch::Tensor& x) {
  return x.to(c10::promoteTypes(x.scalar_type(), torch::kFloat32));
}

// The edm scalings' shared quantities, float64 per sample: alpha, sigma and sqrt(D) with
// D = sigma^2 + alpha^2 sigma_d^2 > 0 (a sum of squares: positive in floating point too).
struct EdmScales {
  torch::Tensor alpha, sigma, root_d;
  double sd;  // sigma_d
};

EdmScales edm_scales(const DiffusionSchedule& schedule, const torch::Tensor& t, double sigma_d) {
  EdmScales s{schedule.alpha(t), schedule.sigma(t), {}, sigma_d};
  s.root_d = (s.sigma.square() + (s.alpha * sigma_d).square()).sqrt();
  return s;
}

}  // namespace

OutputKind ForwardProcessOptions::output_kind() const {
  if (process() == ProcessType::kFlow) return OutputKind::kVelocity;
  switch (parameterisation()) {
    case Parameterisation::kWs:
      return OutputKind::kWhitenedScore;
    case Parameterisation::kNoise:
      return OutputKind::kNoise;
    case Parameterisation::kEdm:
      return OutputKind::kPreconditionedX0;
  }
  throw std::logic_error("unreachable parameterisation");
}

torch::Tensor whitened_score_target(const DiffusionSchedule& schedule, const torch::Tensor& n,
                                    const torch::Tensor& t) {
  return per_sample(-schedule.beta(t) / schedule.sigma(t), n) * n;
}

torch::Tensor tweedie_x0(const DiffusionSchedule& schedule, const torch::Tensor& x_t,
                         const torch::Tensor& s_w, const torch::Tensor& t) {
  const auto alpha = schedule.alpha(t);
  const auto sigma = schedule.sigma(t);
  const auto score_scale = sigma.square() / (schedule.beta(t) * alpha);
  return per_sample(1.0 / alpha, x_t) * x_t + per_sample(score_scale, s_w) * s_w;
}

torch::Tensor whitened_score_from_x0(const DiffusionSchedule& schedule, const torch::Tensor& x_t,
                                     const torch::Tensor& x0, const torch::Tensor& t) {
  const auto alpha = schedule.alpha(t), sigma = schedule.sigma(t), beta = schedule.beta(t);
  return per_sample(beta * alpha / sigma.square(), x0) * x0 -
         per_sample(beta / sigma.square(), x_t) * x_t;
}

FlowState flow_state_at(const DiffusionSchedule& schedule, const torch::Tensor& y,
                        const torch::Tensor& tau) {
  const auto alpha = schedule.alpha(tau), sigma = schedule.sigma(tau);
  const auto scale = alpha + sigma;
  return {per_sample(1.0 / scale, y) * y, sigma / scale};
}

ForwardProcess::ForwardProcess(std::shared_ptr<const DiffusionSchedule> schedule,
                               ForwardProcessOptions options)
    : schedule_(std::move(schedule)), options_(options) {
  if (!schedule_) throw InputError("forward process needs a schedule");
  if (options_.score_sign() != 1 && options_.score_sign() != -1) {
    throw InputError("score sign must be +1 or -1");
  }
  if (!(options_.t_eps() > 0.0 && options_.t_eps() < 1.0)) {
    throw InputError("t_eps must lie in (0, 1)");
  }
  if (!(options_.sigma_data() > 0.0 && std::isfinite(options_.sigma_data()))) {
    throw InputError("sigma_data must be a positive number");
  }
}

torch::Tensor ForwardProcess::network_input(const torch::Tensor& x_t,
                                            const torch::Tensor& t) const {
  if (output_kind() != OutputKind::kPreconditionedX0) return x_t;
  const auto s = edm_scales(*schedule_, t, options_.sigma_data());
  return per_sample(1.0 / s.root_d, x_t) * x_t;
}

torch::Tensor ForwardProcess::sample_t(int64_t n, torch::Generator& gen,
                                       torch::Device device) const {
  const auto u = torch::rand({n}, gen, torch::TensorOptions(torch::kFloat64).device(gen.device()));
  return (options_.t_eps() + (1.0 - options_.t_eps()) * u).to(device);
}

torch::Tensor ForwardProcess::perturb(const torch::Tensor& x0, const torch::Tensor& n,
                                      const torch::Tensor& t) const {
  if (output_kind() == OutputKind::kVelocity) {
    const auto td = as_double(t);
    return per_sample(1.0 - td, x0) * x0 + per_sample(td, n) * n;
  }
  return per_sample(schedule_->alpha(t), x0) * x0 + per_sample(schedule_->sigma(t), n) * n;
}

// The sign is folded into the target so that whitened_score(target) is the true s_W for
// either sign: a network trained here round-trips through its checkpoint's recorded sign.
torch::Tensor ForwardProcess::target(const torch::Tensor& x0, const torch::Tensor& n,
                                     const torch::Tensor& t) const {
  const double sign = options_.score_sign();
  switch (output_kind()) {
    case OutputKind::kWhitenedScore:
      return sign * whitened_score_target(*schedule_, n, t);
    case OutputKind::kNoise:
      return sign * n;
    case OutputKind::kPreconditionedX0: {
      const auto s = edm_scales(*schedule_, t, options_.sigma_data());
      return sign * (per_sample(s.sigma / (s.sd * s.root_d), x0) * x0 -
                     per_sample(s.alpha * s.sd / s.root_d, n) * n);
    }
    case OutputKind::kVelocity:
      return sign * (n - x0);
  }
  throw std::logic_error("unreachable output kind");
}

torch::Tensor ForwardProcess::loss_weight(const torch::Tensor& t) const {
  if (output_kind() == OutputKind::kWhitenedScore) return schedule_->beta(t).square();
  return torch::ones_like(as_double(t));
}

LossTerms ForwardProcess::loss(const torch::Tensor& output, const torch::Tensor& target,
                               const torch::Tensor& t,
                               const torch::Tensor& frequency_filter) const {
  TORCH_CHECK(output.sizes() == target.sizes(), "loss: output ", output.sizes(), " vs target ",
              target.sizes());
  auto diff = at_least_float(output) - at_least_float(target);
  if (frequency_filter.defined()) {
    // Orthonormal transforms: by Parseval the filtered error's mean square is the
    // filter^2-weighted mean of the error's power over the full frequency grid.
    const int64_t h = diff.size(-2), w = diff.size(-1);
    const auto filter = frequency_filter.to(diff.device(), diff.scalar_type());
    diff = torch::fft::irfft2(torch::fft::rfft2(diff, c10::nullopt, {-2, -1}, "ortho") * filter,
                              std::vector<int64_t>{h, w}, {-2, -1}, "ortho");
  }
  const auto mse = diff.square().flatten(1).mean(1);
  // Weights are reshaped to [N] explicitly: broadcasting a [N] weight against [N, C, H, W]
  // would align it with the last axis and mix samples (the published code's bug).
  auto weight = loss_weight(t).to(mse.device(), mse.scalar_type());
  weight = weight.dim() == 0 ? weight.expand_as(mse) : weight.view({-1});
  TORCH_CHECK(weight.size(0) == mse.size(0), "loss: ", weight.size(0), " times for ", mse.size(0),
              " samples");
  LossTerms terms;
  terms.per_sample = weight * mse;
  terms.loss = terms.per_sample.mean();
  return terms;
}

torch::Tensor ForwardProcess::whitened_score(const torch::Tensor& output, const torch::Tensor& x_t,
                                             const torch::Tensor& t) const {
  const double sign = options_.score_sign();
  switch (output_kind()) {
    case OutputKind::kWhitenedScore:
      return sign == 1.0 ? output : -output;
    case OutputKind::kNoise:
      return per_sample(-sign * schedule_->beta(t) / schedule_->sigma(t), output) * output;
    case OutputKind::kPreconditionedX0: {
      // alpha c_skip - 1 = -sigma^2 / D exactly, so (beta/sigma^2)(alpha x_0 - x_t) is
      // beta (-x_t / D + alpha sigma_d F / (sigma sqrt(D))), with no difference of large terms.
      const auto s = edm_scales(*schedule_, t, options_.sigma_data());
      const auto beta = schedule_->beta(t);
      return per_sample(-beta / s.root_d.square(), x_t) * x_t +
             per_sample(sign * beta * s.alpha * s.sd / (s.sigma * s.root_d), output) * output;
    }
    case OutputKind::kVelocity:
      break;
  }
  throw std::logic_error(
      "whitened_score: a velocity output has no VP whitened score at the same (x_t, t); "
      "ScoreModel evaluates a flow network at flow_state_at(...)");
}

torch::Tensor ForwardProcess::x0_estimate(const torch::Tensor& output, const torch::Tensor& x_t,
                                          const torch::Tensor& t) const {
  if (output_kind() == OutputKind::kVelocity) {
    const double sign = options_.score_sign();
    return x_t - per_sample(sign * as_double(t), output) * output;
  }
  if (output_kind() == OutputKind::kPreconditionedX0) {
    const auto s = edm_scales(*schedule_, t, options_.sigma_data());
    return per_sample(s.alpha * s.sd * s.sd / s.root_d.square(), x_t) * x_t +
           per_sample(options_.score_sign() * s.sigma * s.sd / s.root_d, output) * output;
  }
  return tweedie_x0(*schedule_, x_t, whitened_score(output, x_t, t), t);
}

}  // namespace wsd
