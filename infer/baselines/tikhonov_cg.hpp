#pragma once

#include <torch/types.h>

#include "infer/gaussian/gaussian_measurement_model.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

// The posterior mean (= MAP) of the linear-Gaussian model for ANY linear operator: the
// Tikhonov problem min ||y - A x||^2_{N^-1} + ||x - mu||^2_{C^-1}, whose normal equations
// (A^H N^-1 A + C^-1) x = A^H N^-1 y + C^-1 mu are solved by conjugate gradients on the whitened
// unknown z = C^-1/2 (x - mu), where the system (I + C^1/2 A^H N^-1 A C^1/2) is well
// conditioned, preconditioned by its shift-invariant approximation (CgGaussianPosterior). Every
// image runs its own CG (per-image step sizes) for a fixed number of iterations, so the loop never
// synchronises with the device. Runs in float64; returns y's dtype.
// A residual above this after the iterations is warned about: the result is then not the
// posterior mean.
inline constexpr double kTikhonovTolerance = 1e-6;
torch::Tensor tikhonov_cg(LinearOperatorImpl& op, const torch::Tensor& y,
                          const GaussianMeasurementModel& model, int64_t iterations = 300);

}  // namespace wsd
