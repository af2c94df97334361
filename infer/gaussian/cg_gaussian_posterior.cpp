#include "infer/gaussian/cg_gaussian_posterior.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <utility>

namespace wsd {
namespace {

torch::Tensor as_channels(torch::Tensor power) {
  return power.dim() == 2 ? power.unsqueeze(0) : power;
}

}  // namespace

torch::Tensor half_grid_filter(const torch::Tensor& x, const torch::Tensor& multiplier) {
  const auto spectrum = torch::fft::rfft2(x, c10::nullopt, {-2, -1}, "ortho") * multiplier;
  return torch::fft::irfft2(spectrum, std::vector<int64_t>{x.size(-2), x.size(-1)}, {-2, -1},
                            "ortho");
}

torch::Tensor shift_invariant_gain(LinearOperatorImpl& op, torch::Dtype dtype,
                                   torch::Device device) {
  const auto in = op.input_shape(), out = op.output_shape();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(20240917);
  const auto probes = [&] {
    return torch::randn({16, in[0], in[1], in[2]}, gen, torch::kFloat64).to(device);
  };
  const auto u = probes();
  const auto response = op.forward(u.to(dtype)).to(torch::kFloat64);
  torch::Tensor gain;
  if (in != out) {
    gain = (response.square().sum() / u.square().sum()).view({1, 1, 1});
  } else {
    const auto spectrum = [](const torch::Tensor& x) {
      return torch::fft::rfft2(x, c10::nullopt, {-2, -1}, "ortho").abs().square().mean(0);
    };
    gain = spectrum(response) / spectrum(u);
  }
  // How much of A^H A the multiplier explains, on fresh probes (kShiftInvariantMisfit).
  const auto v = probes();
  const auto normal = op.adjoint(op.forward(v.to(dtype))).to(torch::kFloat64);
  const auto misfit = (normal - half_grid_filter(v, gain)).norm().item<double>() /
                      std::max(normal.norm().item<double>(), 1e-300);
  spdlog::debug("{}: shift-invariant part of A^H A misses {:.3f} of it{}", op.kind(), misfit,
                misfit > kShiftInvariantMisfit ? " (no preconditioner)" : "");
  return misfit > kShiftInvariantMisfit ? torch::Tensor() : gain;
}

CgGaussianPosterior::CgGaussianPosterior(LinearOperatorImpl& op, torch::Dtype op_dtype,
                                         const torch::Tensor& prior_power,
                                         const torch::Tensor& noise_power,
                                         const torch::Tensor& gain, CgOptions options)
    : op_(op), op_dtype_(op_dtype), options_(options) {
  const auto prior = as_channels(prior_power.to(torch::kFloat64)).clamp_min(0.0);
  const auto noise = as_channels(noise_power.to(torch::kFloat64));
  const auto floored = noise.clamp_min(1e-12 * noise.max().item<double>() + 1e-300);
  sqrt_prior_ = prior.sqrt();
  sqrt_noise_ = floored.sqrt();
  inv_noise_ = 1.0 / floored;
  if (gain.defined()) {
    // The noise's precision on the input grid: itself when the grids agree, else its mean.
    const bool same_grid = op.input_shape() == op.output_shape();
    const auto precision = same_grid ? inv_noise_ : inv_noise_.mean().view({1, 1, 1});
    preconditioner_ = 1.0 / (1.0 + prior * gain.to(prior.device()) * precision);
  }
}

torch::Tensor CgGaussianPosterior::forward(const torch::Tensor& x) const {
  return op_.forward(x.to(op_dtype_)).to(torch::kFloat64);
}

torch::Tensor CgGaussianPosterior::adjoint(const torch::Tensor& r) const {
  return op_.adjoint(r.to(op_dtype_)).to(torch::kFloat64);
}

CgGaussianPosterior::Solution CgGaussianPosterior::mean(const torch::Tensor& m,
                                                        const torch::Tensor& y,
                                                        const torch::Tensor& z0) const {
  const auto m64 = m.to(torch::kFloat64);
  const auto n = y.size(0);
  const auto means = m64.expand({n, -1, -1, -1});
  const auto whitened_adjoint = [&](const torch::Tensor& r) {
    return half_grid_filter(adjoint(half_grid_filter(r, inv_noise_)), sqrt_prior_);
  };
  const auto normal = [&](const torch::Tensor& z) {
    return z + whitened_adjoint(forward(half_grid_filter(z, sqrt_prior_)));
  };
  const auto rhs = whitened_adjoint(y.to(torch::kFloat64) - forward(means));
  TensorMap precondition;
  if (preconditioner_.defined()) {
    precondition = [&](const torch::Tensor& r) { return half_grid_filter(r, preconditioner_); };
  }
  auto cg = conjugate_gradients(normal, rhs, precondition, z0, options_);
  Solution s;
  s.x = means + half_grid_filter(cg.z, sqrt_prior_);
  s.z = std::move(cg.z);
  s.iterations = cg.iterations;
  s.relative_residual = cg.relative_residual;
  return s;
}

CgGaussianPosterior::Solution CgGaussianPosterior::sample(const torch::Tensor& m,
                                                          const torch::Tensor& y,
                                                          const torch::Tensor& white_prior,
                                                          const torch::Tensor& white_noise,
                                                          const torch::Tensor& z0) const {
  const auto m_draw = m.to(torch::kFloat64) + half_grid_filter(white_prior, sqrt_prior_);
  const auto y_draw = y.to(torch::kFloat64) + half_grid_filter(white_noise, sqrt_noise_);
  return mean(m_draw, y_draw, z0);
}

}  // namespace wsd
