#pragma once

#include <torch/types.h>

#include "infer/gaussian/gaussian_measurement_model.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

// The exact posterior mean E[x | y] of the linear-Gaussian model for a Fourier-diagonal
// operator with transfer function T: per frequency,
//   x_hat = mu + (T^H N^-1 T + P^-1)^-1 T^H N^-1 (y - A mu),
// which for a channel-wise filter is the Wiener filter conj(T) P / (|T|^2 P + N). Multi-channel
// transfer functions (IDT: one output per LED, phase and absorption inputs) solve the small
// C_in x C_in system per frequency. y [N, C', H, W] -> x_hat [N, C, H, W] in y's dtype.
// Throws InputError when the operator is not Fourier-diagonal.
torch::Tensor wiener_filter(LinearOperatorImpl& op, const torch::Tensor& y,
                            const GaussianMeasurementModel& model);

}  // namespace wsd
