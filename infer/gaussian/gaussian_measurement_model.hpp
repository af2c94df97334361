#pragma once

// The linear-Gaussian model the classical baselines solve exactly:
//   x ~ N(mu, C),  C = F^-1 diag(P) F per channel (the Gaussian prior's statistics),
//   y = A x + b,   b ~ N(0, s^2 K K^T), K K^T = F^-1 diag(k^2) F per output channel,
// with F the orthonormal 2D DFT. Power spectra are given on the rfft2 half grid [H, W/2+1] as
// GaussianStatistics and StructuredNoise::psd report them.
//
// The noise spectrum is floored at 1e-6 of its mean: a low-pass structured noise (a GRF) has
// essentially zero power at high frequencies, which would make the model claim noiseless
// measurements there and the normal equations hopelessly ill-conditioned. No sensor is
// noiseless at any frequency; with white noise the floor is inactive.

#include <torch/types.h>

#include "core/diffusion/gaussian_prior.hpp"

namespace wsd {

struct GaussianMeasurementModel {
  torch::Tensor prior_mean;   // float64 [C, H, W]
  torch::Tensor prior_power;  // float64 [C or 1, H, W/2+1]
  torch::Tensor noise_power;  // float64 [H', W'/2+1] (or [C', H', W'/2+1]): s^2 k^2 of b

  static GaussianMeasurementModel make(const GaussianStatistics& prior, torch::Tensor noise_power);
  GaussianMeasurementModel to(torch::Device device) const;
};

// A half-grid spectrum [..., H, W/2+1] of a real field extended to the full fft2 grid
// [..., H, W] by Hermitian symmetry, S(-f) = S(f).
torch::Tensor full_grid_spectrum(const torch::Tensor& half, int64_t width);

}  // namespace wsd
