#include "infer/gaussian/fourier_gaussian_posterior.hpp"

#include <torch/torch.h>

namespace wsd {
namespace {

torch::Tensor floored(const torch::Tensor& power) {
  return power.clamp_min(1e-12 * power.max().item<double>() + 1e-300);
}

}  // namespace

torch::Tensor fft2_ortho(const torch::Tensor& x) {
  return torch::fft::fft2(x, c10::nullopt, {-2, -1}, "ortho");
}

torch::Tensor ifft2_ortho_real(const torch::Tensor& x_hat) {
  return torch::real(torch::fft::ifft2(x_hat, c10::nullopt, {-2, -1}, "ortho"));
}

FourierGaussianPosterior::FourierGaussianPosterior(const torch::Tensor& transfer,
                                                   const torch::Tensor& prior_power,
                                                   const torch::Tensor& noise_power,
                                                   int64_t channels)
    : channel_wise_(transfer.size(0) == 1 && transfer.size(1) == 1),
      channels_(channels),
      transfer_(transfer.to(torch::kComplexDouble)),
      prior_power_(floored(prior_power.to(torch::kFloat64))
                       .expand({channels, transfer.size(-2), transfer.size(-1)})),
      noise_power_(floored(noise_power.to(torch::kFloat64))) {
  if (channel_wise_) return;
  const int64_t h = transfer_.size(-2), w = transfer_.size(-1), outputs = transfer_.size(0);
  const auto tf = transfer_.permute({2, 3, 0, 1});  // [H, W, C', Cin]
  const auto inv_noise =
      (1.0 / noise_power_).expand({outputs, h, w}).permute({1, 2, 0});         // [H, W, C']
  const auto th_ninv = tf.conj().transpose(-2, -1) * inv_noise.unsqueeze(-2);  // [H, W, Cin, C']
  const auto system =
      torch::matmul(th_ninv, tf) + torch::diag_embed((1.0 / prior_power_).permute({1, 2, 0}))
                                       .to(torch::kComplexDouble);  // [H, W, Cin, Cin]
  covariance_ = torch::linalg_inv(system);
  // Exactly Hermitian, so that its Cholesky factor exists in floating point too.
  covariance_ = 0.5 * (covariance_ + covariance_.conj().transpose(-2, -1));
  gain_ = torch::matmul(covariance_, th_ninv);
}

torch::Tensor FourierGaussianPosterior::mean(const torch::Tensor& m,
                                             const torch::Tensor& residual_spectrum) const {
  torch::Tensor correction;
  if (channel_wise_) {
    const auto t0 = transfer_[0][0];
    correction = torch::conj(t0) * prior_power_ /
                 (t0.abs().square() * prior_power_ + noise_power_) * residual_spectrum;
  } else {
    const auto r = residual_spectrum.permute({0, 2, 3, 1}).unsqueeze(-1);  // [N, H, W, C', 1]
    correction = torch::matmul(gain_.unsqueeze(0), r).squeeze(-1).permute({0, 3, 1, 2});
  }
  return m.to(torch::kFloat64) + ifft2_ortho_real(correction);
}

torch::Tensor FourierGaussianPosterior::colour(const torch::Tensor& white, double a,
                                               const torch::Tensor& extra) const {
  const auto e_hat = fft2_ortho(white.to(torch::kFloat64));
  const auto extra_c = extra.to(torch::kFloat64).expand(prior_power_.sizes());
  if (channel_wise_) {
    const auto t2 = transfer_[0][0].abs().square();
    const auto posterior = prior_power_ * noise_power_ / (t2 * prior_power_ + noise_power_);
    return ifft2_ortho_real((a * posterior + extra_c).clamp_min(0.0).sqrt() * e_hat);
  }
  // Per frequency a C_in x C_in covariance: colour with its Cholesky factor. T(-f) = conj T(f)
  // makes the factor Hermitian-symmetric over f, so the draw is real.
  const auto total =
      a * covariance_ + torch::diag_embed(extra_c.permute({1, 2, 0})).to(torch::kComplexDouble);
  const auto factor = torch::linalg_cholesky(total);         // [H, W, Cin, Cin]
  const auto e = e_hat.permute({0, 2, 3, 1}).unsqueeze(-1);  // [N, H, W, Cin, 1]
  const auto draw = torch::matmul(factor.unsqueeze(0), e).squeeze(-1).permute({0, 3, 1, 2});
  return ifft2_ortho_real(draw);
}

}  // namespace wsd
