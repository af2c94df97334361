#pragma once

// The exact posterior of a small linear-Gaussian problem from explicit matrices:
//   E[x | y] = mu + C A^T (A C A^T + N)^-1 (y - A mu),  Cov[x | y] = C - C A^T (A C A^T + N)^-1 A
//   C,
// an independent reference for the Fourier-domain solvers.

#include <torch/torch.h>

#include <functional>
#include <utility>
#include <vector>

#include "infer/gaussian/gaussian_measurement_model.hpp"
#include "operators/linear_operator.hpp"

namespace wsd::test {

// The matrix [out, in] of a linear map on tensors of per-image shape `shape`.
inline torch::Tensor dense(const std::function<torch::Tensor(const torch::Tensor&)>& map,
                           const std::vector<int64_t>& shape) {
  int64_t numel = 1;
  for (auto s : shape) numel *= s;
  std::vector<int64_t> batch_shape = {numel};
  batch_shape.insert(batch_shape.end(), shape.begin(), shape.end());
  const auto basis = torch::eye(numel, torch::kFloat64).view(batch_shape);
  return map(basis).flatten(1).t().contiguous();
}

// Applies a real half-grid multiplier per channel to [N, C, H, W].
inline torch::Tensor fourier_filter(const torch::Tensor& x, const torch::Tensor& multiplier) {
  const auto z = torch::fft::rfft2(x, c10::nullopt, {-2, -1}, "ortho") * multiplier;
  return torch::fft::irfft2(z, std::vector<int64_t>{x.size(-2), x.size(-1)}, {-2, -1}, "ortho");
}

struct DensePosterior {
  torch::Tensor mean;        // [N, C, H, W]
  torch::Tensor covariance;  // [CHW, CHW]
};

// The matrix of a real half-grid multiplier on tensors of per-image shape `shape`.
inline torch::Tensor dense_filter(const torch::Tensor& multiplier,
                                  const std::vector<int64_t>& shape) {
  return dense([&](const torch::Tensor& x) { return fourier_filter(x, multiplier); }, shape);
}

// The posterior of x ~ N(mean, c) [D] observed as obs = a x + noise, noise ~ N(0, n), for
// observations obs [out, N]: means [D, N] and the covariance [D, D].
inline std::pair<torch::Tensor, torch::Tensor> dense_gaussian_update(const torch::Tensor& mean,
                                                                     const torch::Tensor& c,
                                                                     const torch::Tensor& a,
                                                                     const torch::Tensor& n,
                                                                     const torch::Tensor& obs) {
  const auto gain = torch::matmul(torch::matmul(c, a.t()),
                                  torch::linalg_inv(torch::matmul(torch::matmul(a, c), a.t()) + n));
  return {mean.unsqueeze(1) + torch::matmul(gain, obs - torch::matmul(a, mean).unsqueeze(1)),
          c - torch::matmul(gain, torch::matmul(a, c))};
}

inline DensePosterior dense_posterior(LinearOperatorImpl& op, const torch::Tensor& y,
                                      const GaussianMeasurementModel& m) {
  const auto in = op.input_shape(), out = op.output_shape();
  const auto a = dense([&](const torch::Tensor& x) { return op.forward(x); }, in);
  const auto [x, covariance] =
      dense_gaussian_update(m.prior_mean.flatten(), dense_filter(m.prior_power, in), a,
                            dense_filter(m.noise_power, out), y.to(torch::kFloat64).flatten(1).t());
  std::vector<int64_t> shape = {y.size(0)};
  shape.insert(shape.end(), in.begin(), in.end());
  return {x.t().reshape(shape), covariance};
}

// E[x_0 | x_t, y] [N, C, H, W] from both observations stacked: x_t = alpha x_0 + sigma K e (K K^T
// the multiplier `prior_noise_power`) and y = A x_0 + noise (model.noise_power), x_0 ~ the
// model's prior. What the proximal step's data-consistent x_0 is in closed form.
inline torch::Tensor dense_x0_given_xt_and_y(LinearOperatorImpl& op,
                                             const GaussianMeasurementModel& model,
                                             const torch::Tensor& prior_noise_power, double alpha,
                                             double sigma, const torch::Tensor& x_t,
                                             const torch::Tensor& y) {
  const auto in = op.input_shape(), out = op.output_shape();
  const auto a = dense([&](const torch::Tensor& x) { return op.forward(x); }, in);
  const int64_t pixels = a.size(1);
  const auto stacked = torch::cat({alpha * torch::eye(pixels, torch::kFloat64), a});
  const int64_t rows = stacked.size(0);
  auto noise_cov = torch::zeros({rows, rows}, torch::kFloat64);
  noise_cov.slice(0, 0, pixels)
      .slice(1, 0, pixels)
      .copy_(dense_filter(sigma * sigma * prior_noise_power, in));
  noise_cov.slice(0, pixels).slice(1, pixels).copy_(dense_filter(model.noise_power, out));
  const auto observed =
      torch::cat({x_t.to(torch::kFloat64).flatten(1), y.to(torch::kFloat64).flatten(1)}, 1).t();
  return dense_gaussian_update(model.prior_mean.flatten(), dense_filter(model.prior_power, in),
                               stacked, noise_cov, observed)
      .first.t()
      .reshape(x_t.sizes());
}

}  // namespace wsd::test
