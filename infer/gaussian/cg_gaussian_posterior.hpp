#pragma once

// The Gaussian posterior of y = A x + b for ANY linear operator A (forward and adjoint only),
// with stationary prior and noise covariances:
//   x ~ N(m, F^-1 diag(P) F) per channel,   b ~ N(0, F^-1 diag(N) F) per output channel.
// Its mean solves the normal equations (A^H N^-1 A + P^-1) x = A^H N^-1 y + P^-1 m. They are
// solved by conjugate gradients (conjugate_gradients.hpp) on the whitened unknown
// z = P^-1/2 (x - m):
//   (I + P^1/2 A^H N^-1 A P^1/2) z = P^1/2 A^H N^-1 (y - A m),
// which needs no P^-1 (P may vanish where the prior is certain) and whose spectrum is bounded
// below by 1. Preconditioner: the inverse of that system with A^H A replaced by a Fourier
// multiplier g ~ |A|^2 (shift_invariant_gain), 1 / (1 + P g / N), where A^H A is close to
// one: exact for a Fourier-diagonal A, which then needs few iterations however many decades
// P / N spans (structured noise); none otherwise. The Fourier-diagonal closed form is
// fourier_gaussian_posterior.hpp; for such operators both give the same answer.
//
// Spectra are float64 half grids [.., H, W/2+1] (as GaussianStatistics and StructuredNoise::psd
// give them); the noise power is floored at 1e-12 of its maximum, as in the closed form. The
// solve runs in float64 and applies the operator in `op_dtype` (the proximal step asks for
// float64: structured noise can make the system ill-conditioned enough for float32 rounding in
// the operator to stall the iteration).

#include <torch/types.h>

#include "infer/gaussian/conjugate_gradients.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

class CgGaussianPosterior {
 public:
  // prior_power: [C or 1, H, W/2+1]; noise_power: [C' or 1, H', W'/2+1]; gain: what
  // shift_invariant_gain returns for the operator (undefined: no preconditioner).
  CgGaussianPosterior(LinearOperatorImpl& op, torch::Dtype op_dtype,
                      const torch::Tensor& prior_power, const torch::Tensor& noise_power,
                      const torch::Tensor& gain, CgOptions options);

  struct Solution {
    torch::Tensor x;  // float64 [N, C, H, W]
    torch::Tensor z;  // the whitened unknown, the warm start of a similar solve
    int64_t iterations = 0;
    double relative_residual = -1.0;
  };

  // E[x | y] for prior means m [N or 1, C, H, W] and measurements y [N, C', H', W'], from the
  // whitened initial guess z0 (undefined: z = 0, i.e. x = m).
  Solution mean(const torch::Tensor& m, const torch::Tensor& y, const torch::Tensor& z0 = {}) const;

  // A draw from N(E[x | y], Cov[x | y]) by perturb-and-optimise: the mean of the same problem with
  // the prior mean and the measurement replaced by draws around them, m + P^1/2 e and
  // y + N^1/2 u, from white noise e [N, C, H, W] and u [N, C', H', W'] (float64). Exact for a
  // linear-Gaussian model up to the solve's tolerance.
  Solution sample(const torch::Tensor& m, const torch::Tensor& y, const torch::Tensor& white_prior,
                  const torch::Tensor& white_noise, const torch::Tensor& z0 = {}) const;

 private:
  torch::Tensor forward(const torch::Tensor& x) const;
  torch::Tensor adjoint(const torch::Tensor& r) const;

  LinearOperatorImpl& op_;
  torch::Dtype op_dtype_;
  torch::Tensor sqrt_prior_;      // [C or 1, H, W/2+1]
  torch::Tensor sqrt_noise_;      // [C' or 1, H', W'/2+1]
  torch::Tensor inv_noise_;       // [C' or 1, H', W'/2+1]
  torch::Tensor preconditioner_;  // [.., H, W/2+1] or undefined
  CgOptions options_;
};

// The Fourier multiplier g(f) ~ |A|^2 that A^H A would be if it were shift-invariant, from the
// periodograms of A u for white probes u: exact for a Fourier-diagonal A. Half grid
// [C, H, W/2+1] when the output lives on the input's grid; otherwise the scalar
// E||A u||^2 / E||u||^2 as [1, 1, 1]. float64, on `device`. Undefined (no preconditioner) unless
// the multiplier reproduces A^H A v on other probes v to kShiftInvariantMisfit of its norm: a
// preconditioner from a poor approximation of A^H A (a mask, where g is the kept fraction
// everywhere; downsampling; a zero-boundary blur whose boundary band is a sizeable part of the
// image) shrinks the directions the data do not reach by the data's precision and leaves the
// system worse conditioned than none.
constexpr double kShiftInvariantMisfit = 0.1;
torch::Tensor shift_invariant_gain(LinearOperatorImpl& op, torch::Dtype dtype,
                                   torch::Device device);

// Applies a real, non-negative half-grid multiplier [C or 1, H, W/2+1] to images [N, C, H, W].
torch::Tensor half_grid_filter(const torch::Tensor& x, const torch::Tensor& multiplier);

}  // namespace wsd
