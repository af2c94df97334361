#pragma once

// The Gaussian posterior of y = A x + b for a Fourier-diagonal A (transfer function T, see
// operators/fourier_diagonal_operator.hpp), per frequency f of the orthonormal fft2 grid:
//   x ~ N(m, F^-1 diag(P) F) per channel,   b ~ N(0, F^-1 diag(N) F) per output channel,
//   M(f)       = T^H N^-1 T + P^-1                       (C_in x C_in, Hermitian)
//   E[x | y]   = m + F^-1 M^-1 T^H N^-1 F (y - A m),
//   Cov[x | y] = F^-1 M^-1 F.
// For a channel-wise filter (T [1, 1, H, W]) M is a scalar per frequency and channel:
// E[x | y] is the Wiener filter conj(T) P / (|T|^2 P + N) and the posterior power is
// P N / (|T|^2 P + N). It is the classical Wiener baseline (wiener_filter.hpp) and the
// data-consistency solve of the proximal likelihood step (infer/likelihood/proximal_step.hpp).
//
// Spectra are float64 on the full fft2 grid (full_grid_spectrum makes them from half grids) and
// are floored at 1e-12 of their maximum: a zero power would make M singular.

#include <torch/types.h>

#include <cstdint>

namespace wsd {

class FourierGaussianPosterior {
 public:
  // transfer: complex [C', Cin, H, W] (channel-wise: [1, 1, H, W]); prior_power: [C or 1, H, W];
  // noise_power: [C' or 1, H, W]; `channels` is C, the unknown's channel count. All on one device.
  FourierGaussianPosterior(const torch::Tensor& transfer, const torch::Tensor& prior_power,
                           const torch::Tensor& noise_power, int64_t channels);

  // E[x | y] for prior means m [N or 1, C, H, W], given fft2 of the residual y - A m
  // ([N, C', H, W], complex); float64 [N, C, H, W].
  torch::Tensor mean(const torch::Tensor& m, const torch::Tensor& residual_spectrum) const;

  // A zero-mean Gaussian draw with covariance  a Cov[x | y] + F^-1 diag(extra) F  (extra: power
  // [C or 1, H, W], >= 0), made from white noise e [N, C, H, W] (float64, unit variance).
  torch::Tensor colour(const torch::Tensor& white, double a, const torch::Tensor& extra) const;

 private:
  bool channel_wise_;
  int64_t channels_;
  torch::Tensor transfer_;     // complex128 [C', Cin, H, W]
  torch::Tensor prior_power_;  // [C, H, W]
  torch::Tensor noise_power_;  // [C' or 1, H, W]
  // Multi-channel operators: M^-1 and M^-1 T^H N^-1 per frequency, [H, W, Cin, Cin] and
  // [H, W, Cin, C'].
  torch::Tensor covariance_, gain_;
};

// The 2D orthonormal DFT over the last two axes, as every Fourier-diagonal operator uses it.
torch::Tensor fft2_ortho(const torch::Tensor& x);
// Real part of the inverse of fft2_ortho.
torch::Tensor ifft2_ortho_real(const torch::Tensor& x_hat);

}  // namespace wsd
