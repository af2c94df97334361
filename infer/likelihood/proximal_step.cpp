#include "infer/likelihood/proximal_step.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/diffusion/forward_process.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"
#include "core/util/seeds.hpp"
#include "infer/gaussian/fourier_gaussian_posterior.hpp"
#include "infer/samplers/sampler.hpp"

namespace wsd {
namespace {

torch::Tensor with_channel_axis(torch::Tensor power) {
  return power.dim() == 2 ? power.unsqueeze(0) : power;
}

}  // namespace

ProximalLikelihoodStep::ProximalLikelihoodStep(const LikelihoodSetup& setup)
    : LikelihoodStep(setup), seeds_(setup.seeds), x0_(setup.sampler.proximal_x0) {
  const auto transfer = op_->transfer_function();
  if (!transfer) {
    throw InputError("sampler.likelihood proximal needs a Fourier-diagonal operator; " +
                     op_->kind() + " is not (use ws, normalised_gradient or dps)");
  }
  if (setup.model == nullptr || setup.prior_noise == nullptr) {
    throw InputError(
        "sampler.likelihood proximal needs the task's measurement model and the prior's noise");
  }
  if (static_cast<int64_t>(seeds_.size()) != y_.size(0)) {
    throw InputError("the proximal step needs one seed per measurement");
  }
  const GaussianMeasurementModel& model = *setup.model;
  const auto prior_noise_power =
      setup.prior_noise->psd(op_->input_shape()[1], op_->input_shape()[2]);
  const auto device = y_.device();
  const int64_t w = op_->input_shape()[2], w_out = op_->output_shape()[2];
  transfer_ = transfer->to(device, torch::kComplexDouble);
  data_mean_ = model.prior_mean.to(device, torch::kFloat64);
  data_power_ = with_channel_axis(full_grid_spectrum(model.prior_power, w)).to(device);
  prior_noise_power_ =
      with_channel_axis(full_grid_spectrum(prior_noise_power.to(torch::kFloat64), w)).to(device);
  noise_power_ = with_channel_axis(full_grid_spectrum(model.noise_power, w_out)).to(device);
}

torch::Tensor ProximalLikelihoodStep::white_noise(const std::vector<int64_t>& shape,
                                                  uint64_t stream) const {
  std::vector<torch::Tensor> white;
  white.reserve(seeds_.size());
  for (const uint64_t seed : seeds_) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(keyed_seed(seed, 0x70726f78ULL + stream));
    white.push_back(torch::randn(shape, gen, torch::kFloat64));
  }
  return torch::stack(white).to(y_.device());
}

FourierGaussianPosterior ProximalLikelihoodStep::data_posterior(const torch::Tensor& prior_power,
                                                                double t, int64_t channels) const {
  return FourierGaussianPosterior(transfer_, prior_power,
                                  noise_power_ / std::max(weight_.at(t), 1e-300), channels);
}

torch::Tensor ProximalLikelihoodStep::posterior_mean(const FourierGaussianPosterior& posterior,
                                                     const torch::Tensor& m) {
  const auto residual =
      y_.to(torch::kFloat64) - op_->forward(m.to(y_.scalar_type())).to(torch::kFloat64);
  return posterior.mean(m, fft2_ortho(residual));
}

torch::Tensor ProximalLikelihoodStep::initial_state(const torch::Tensor& prior_noise,
                                                    double alpha_t, double sigma_t) {
  const auto posterior = data_posterior(data_power_, 1.0, prior_noise.size(1));
  const auto x0 = posterior_mean(posterior, data_mean_.unsqueeze(0)) +
                  posterior.colour(white_noise(prior_noise.sizes().slice(1).vec(), 0), 1.0,
                                   torch::zeros_like(data_power_));
  return (alpha_t * x0 + sigma_t * prior_noise.to(torch::kFloat64)).to(prior_noise.scalar_type());
}

torch::Tensor ProximalLikelihoodStep::tweedie_covariance(double alpha_t, double sigma_t) const {
  // P q / (q + alpha^2 P) with q = sigma^2 k^2: both terms >= 0, so C_t is, too.
  const auto q = (sigma_t * sigma_t) * prior_noise_power_;
  return data_power_ * q / (q + (alpha_t * alpha_t) * data_power_ + 1e-300);
}

torch::Tensor ProximalLikelihoodStep::transition(const LikelihoodInput& in) {
  const auto& schedule = in.schedule;
  const double t = in.t, s = std::max(in.t - in.dt, 0.0);
  const double alpha_t = schedule.alpha(t), sigma_t = schedule.sigma(t);
  const double alpha_s = schedule.alpha(s), sigma_s = schedule.sigma(s);
  const auto x_t = in.x_t.detach();
  const auto prior = denoised_state(schedule, x_t, in.s_w.detach(), t);

  const auto posterior = data_posterior(tweedie_covariance(alpha_t, sigma_t), t, x_t.size(1));
  const auto x0_dc = posterior_mean(posterior, prior.x0_hat);

  // The bridge from x_t back to x_s given x_0; 1 - alpha_t^2 / alpha_s^2 = -expm1(-(B_t - B_s))
  // stays >= 0 and accurate for small steps.
  const double bridge =
      -std::expm1(-std::max(schedule.integrated_beta(t) - schedule.integrated_beta(s), 0.0));
  const double st2 = sigma_t * sigma_t;
  const double c1 = alpha_s * bridge / st2;
  const double c2 = (alpha_t / alpha_s) * sigma_s * sigma_s / st2;
  const double bridge_var = bridge * sigma_s * sigma_s / st2;

  // Stream 0 is the initial state's.
  const auto white = white_noise(x_t.sizes().slice(1).vec(), static_cast<uint64_t>(in.step) + 1);
  // The bridge's own noise is the prior's K, a Fourier multiplier; only `sample` needs the
  // posterior's (possibly channel-coupled) colouring.
  const auto xi =
      x0_ == ProximalX0::kSample
          ? posterior.colour(white, c1 * c1, bridge_var * prior_noise_power_)
          : ifft2_ortho_real(fft2_ortho(white) * (bridge_var * prior_noise_power_).sqrt());
  const auto x_s = c1 * x0_dc + c2 * x_t.to(torch::kFloat64) + xi;
  return x_s.to(x_t.scalar_type());
}

}  // namespace wsd
