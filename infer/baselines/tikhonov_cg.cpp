#include "infer/baselines/tikhonov_cg.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace wsd {
namespace {

// Per-image inner product of two batches [N, ...] as [N, 1, 1, 1].
torch::Tensor image_dot(const torch::Tensor& a, const torch::Tensor& b) {
  return (a * b).flatten(1).sum(1).view({-1, 1, 1, 1});
}

// Applies a real, non-negative half-grid multiplier [C or 1, H, W/2+1] to images [N, C, H, W].
torch::Tensor filter(const torch::Tensor& x, const torch::Tensor& multiplier) {
  const auto spectrum = torch::fft::rfft2(x, c10::nullopt, {-2, -1}, "ortho") * multiplier;
  return torch::fft::irfft2(spectrum, std::vector<int64_t>{x.size(-2), x.size(-1)}, {-2, -1},
                            "ortho");
}

torch::Tensor as_channels(torch::Tensor power) {
  return power.dim() == 2 ? power.unsqueeze(0) : power;
}

// The Fourier multiplier m(f) ~ |A|^2 that A^H A would be if it were shift-invariant, from the
// periodograms of A u for white probes u (exact for Fourier-diagonal A, the kept fraction for a
// mask). Only for operators whose output lives on the input's grid; undefined otherwise.
torch::Tensor gain_spectrum(LinearOperatorImpl& op, torch::Dtype dtype, torch::Device device) {
  const auto in = op.input_shape(), out = op.output_shape();
  if (in != out) return {};
  auto gen = at::make_generator<at::CPUGeneratorImpl>(20240917);
  const auto u = torch::randn({16, in[0], in[1], in[2]}, gen, torch::kFloat64).to(device);
  const auto response = op.forward(u.to(dtype)).to(torch::kFloat64);
  const auto spectrum = [](const torch::Tensor& x) {
    return torch::fft::rfft2(x, c10::nullopt, {-2, -1}, "ortho").abs().square().mean(0);
  };
  return spectrum(response) / spectrum(u);
}

}  // namespace

torch::Tensor tikhonov_cg(LinearOperatorImpl& op, const torch::Tensor& y,
                          const GaussianMeasurementModel& model, int64_t iterations) {
  const auto m = model.to(y.device());
  const auto dtype = y.scalar_type();
  const auto mean = m.prior_mean.unsqueeze(0);
  const auto sqrt_prior = as_channels(m.prior_power).sqrt();
  const auto inv_noise = 1.0 / as_channels(m.noise_power).clamp_min(1e-300);
  const auto forward = [&](const torch::Tensor& x) {
    return op.forward(x.to(dtype)).to(torch::kFloat64);
  };
  const auto adjoint = [&](const torch::Tensor& r) {
    return op.adjoint(r.to(dtype)).to(torch::kFloat64);
  };
  // The whitened normal operator z -> z + C^1/2 A^H N^-1 A C^1/2 z.
  const auto normal = [&](const torch::Tensor& z) {
    return z + filter(adjoint(filter(forward(filter(z, sqrt_prior)), inv_noise)), sqrt_prior);
  };
  const auto data = y.to(torch::kFloat64) - forward(mean.expand({y.size(0), -1, -1, -1}));
  const auto rhs = filter(adjoint(filter(data, inv_noise)), sqrt_prior);

  // Preconditioner: the inverse of the whitened system with A^H N^-1 A replaced by its
  // shift-invariant approximation, I + P m / N (the exact inverse for a Fourier-diagonal A with
  // white noise). Structured noise leaves P / N spanning many decades, which plain CG cannot
  // handle in a few hundred iterations.
  const auto gain = gain_spectrum(op, dtype, y.device());
  const auto inverse_preconditioner =
      gain.defined() ? 1.0 / (1.0 + as_channels(m.prior_power) * gain * inv_noise)
                     : torch::ones({1, 1, 1}, rhs.options());
  const auto precondition = [&](const torch::Tensor& r) {
    return filter(r, inverse_preconditioner);
  };

  auto z = torch::zeros_like(rhs);
  auto r = rhs.clone();
  auto w = precondition(r);
  auto p = w.clone();
  auto rw = image_dot(r, w);
  for (int64_t i = 0; i < iterations; ++i) {
    const auto hp = normal(p);
    // A converged image has rw = 0: its steps become 0 instead of 0/0.
    const auto alpha = rw / image_dot(p, hp).clamp_min(1e-300);
    z = z + alpha * p;
    r = r - alpha * hp;
    w = precondition(r);
    const auto rw_next = image_dot(r, w);
    p = w + (rw_next / rw.clamp_min(1e-300)) * p;
    rw = rw_next;
  }
  return (mean + filter(z, sqrt_prior)).to(dtype);
}

}  // namespace wsd
