#include "infer/likelihood/proximal_step.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
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
    : LikelihoodStep(setup),
      seeds_(setup.seeds),
      x0_(setup.sampler.proximal_x0),
      cg_{setup.sampler.cg_max_iterations, setup.sampler.cg_tolerance} {
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
  if (const auto transfer = op_->transfer_function()) {
    transfer_ = transfer->to(device, torch::kComplexDouble);
  } else {
    if (!(cg_.tolerance > 0) || cg_.max_iterations < 1) {
      throw InputError("sampler.cg_tolerance must be > 0 and sampler.cg_max_iterations >= 1");
    }
    gain_ = shift_invariant_gain(*op_, torch::kFloat64, device);
  }
  data_mean_ = model.prior_mean.to(device, torch::kFloat64);
  data_power_ = with_channel_axis(full_grid_spectrum(model.prior_power, w)).to(device);
  prior_noise_power_ =
      with_channel_axis(full_grid_spectrum(prior_noise_power.to(torch::kFloat64), w)).to(device);
  noise_power_ = with_channel_axis(full_grid_spectrum(model.noise_power, w_out)).to(device);
}

CgGaussianPosterior ProximalLikelihoodStep::cg_posterior(const torch::Tensor& prior_power,
                                                         double t) {
  const auto half = [](const torch::Tensor& full) {
    return full.narrow(-1, 0, full.size(-1) / 2 + 1);
  };
  return CgGaussianPosterior(*op_, torch::kFloat64, half(prior_power),
                             half(noise_power_) / std::max(weight_.at(t), 1e-300), gain_, cg_);
}

torch::Tensor ProximalLikelihoodStep::cg_draw(const CgGaussianPosterior& posterior,
                                              const torch::Tensor& m, uint64_t stream,
                                              const torch::Tensor& z0) {
  const auto in = op_->input_shape(), out = op_->output_shape();
  auto solution = posterior.sample(m, y_, white_noise(in, kPriorPerturbation + stream),
                                   white_noise(out, kNoisePerturbation + stream), z0);
  note_solve(solution);
  warm_z_ = solution.z;
  return solution.x;
}

void ProximalLikelihoodStep::note_solve(const CgGaussianPosterior::Solution& solution) {
  spdlog::debug("likelihood proximal: conjugate gradients {} iterations, relative residual {:.2e}",
                solution.iterations, solution.relative_residual);
  if (solution.relative_residual > cg_.tolerance && !warned_cap_) {
    warned_cap_ = true;
    spdlog::warn(
        "likelihood proximal: conjugate gradients stopped at sampler.cg_max_iterations {} with "
        "relative residual {:.3g} > sampler.cg_tolerance {:.3g} (warned once per batch)",
        cg_.max_iterations, solution.relative_residual, cg_.tolerance);
  }
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
  if (!transfer_.defined()) {
    // A draw from the data posterior under N(data mean, data power), by perturb-and-optimise.
    const auto x0 = cg_draw(cg_posterior(data_power_, 1.0), data_mean_.unsqueeze(0), 0, {});
    return (alpha_t * x0 + sigma_t * prior_noise.to(torch::kFloat64)).to(prior_noise.scalar_type());
  }
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
  const double t = in.t;
  const double alpha_t = in.schedule.alpha(t), sigma_t = in.schedule.sigma(t);
  const auto x_t = in.x_t.detach();
  const auto prior = denoised_state(in.schedule, x_t, in.s_w.detach(), t);
  if (!transfer_.defined()) return cg_transition(in, prior.x0_hat);

  const auto posterior = data_posterior(tweedie_covariance(alpha_t, sigma_t), t, x_t.size(1));
  const auto x0_dc = posterior_mean(posterior, prior.x0_hat);

  const auto bridge = bridge_of(in);
  // Stream 0 is the initial state's.
  const auto white = white_noise(x_t.sizes().slice(1).vec(), static_cast<uint64_t>(in.step) + 1);
  // The bridge's own noise is the prior's K, a Fourier multiplier; only `sample` needs the
  // posterior's (possibly channel-coupled) colouring.
  const auto xi =
      x0_ == ProximalX0::kSample
          ? posterior.colour(white, bridge.c1 * bridge.c1, bridge.variance * prior_noise_power_)
          : bridge_noise(white, bridge.variance);
  const auto x_s = bridge.c1 * x0_dc + bridge.c2 * x_t.to(torch::kFloat64) + xi;
  return x_s.to(x_t.scalar_type());
}

ProximalLikelihoodStep::Bridge ProximalLikelihoodStep::bridge_of(const LikelihoodInput& in) {
  const auto& schedule = in.schedule;
  const double t = in.t, s = std::max(in.t - in.dt, 0.0);
  const double alpha_t = schedule.alpha(t), sigma_t = schedule.sigma(t);
  const double alpha_s = schedule.alpha(s), sigma_s = schedule.sigma(s);
  // The bridge from x_t back to x_s given x_0; 1 - alpha_t^2 / alpha_s^2 = -expm1(-(B_t - B_s))
  // stays >= 0 and accurate for small steps.
  const double bridge =
      -std::expm1(-std::max(schedule.integrated_beta(t) - schedule.integrated_beta(s), 0.0));
  const double st2 = sigma_t * sigma_t;
  return {alpha_s * bridge / st2, (alpha_t / alpha_s) * sigma_s * sigma_s / st2,
          bridge * sigma_s * sigma_s / st2};
}

torch::Tensor ProximalLikelihoodStep::bridge_noise(const torch::Tensor& white,
                                                   double variance) const {
  return ifft2_ortho_real(fft2_ortho(white) * (variance * prior_noise_power_).sqrt());
}

// The same transition with x0_dc from conjugate gradients (cg_gaussian_posterior.hpp); `sample`
// draws x_0 by perturb-and-optimise, so x_s = c1 x0_draw + c2 x_t + bridge noise has the closed
// form's covariance sigma_b^2 K K^T + c1^2 P_t.
torch::Tensor ProximalLikelihoodStep::cg_transition(const LikelihoodInput& in,
                                                    const torch::Tensor& x0_hat) {
  const auto x_t = in.x_t.detach();
  const double alpha_t = in.schedule.alpha(in.t), sigma_t = in.schedule.sigma(in.t);
  const auto posterior = cg_posterior(tweedie_covariance(alpha_t, sigma_t), in.t);
  // Warm start: the previous step's whitened correction, when this call continues the
  // trajectory that step produced (x_t is its output), else x0_hat itself (z = 0). Late in the
  // trajectory x0_hat moves little between steps and the data's pull on it even less, so the
  // previous correction is close; keying it to the trajectory keeps trajectories independent.
  const bool continues = last_x_s_.defined() && in.x_t.defined() &&
                         in.x_t.data_ptr() == last_x_s_.data_ptr() && warm_z_.defined() &&
                         warm_z_.size(0) == x_t.size(0);
  const torch::Tensor z0 = continues ? warm_z_ : torch::Tensor();
  const auto step_stream = static_cast<uint64_t>(in.step) + 1;
  torch::Tensor x0_dc;
  if (x0_ == ProximalX0::kSample) {
    x0_dc = cg_draw(posterior, x0_hat, step_stream, z0);
  } else {
    auto solution = posterior.mean(x0_hat, y_, z0);
    note_solve(solution);
    warm_z_ = solution.z;
    x0_dc = solution.x;
  }
  const auto bridge = bridge_of(in);
  const auto xi =
      bridge_noise(white_noise(x_t.sizes().slice(1).vec(), step_stream), bridge.variance);
  last_x_s_ = (bridge.c1 * x0_dc + bridge.c2 * x_t.to(torch::kFloat64) + xi).to(x_t.scalar_type());
  return last_x_s_;
}

}  // namespace wsd
