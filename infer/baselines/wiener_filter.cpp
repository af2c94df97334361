#include "infer/baselines/wiener_filter.hpp"

#include <torch/torch.h>

#include "core/util/errors.hpp"
#include "infer/gaussian/fourier_gaussian_posterior.hpp"

namespace wsd {
torch::Tensor wiener_filter(LinearOperatorImpl& op, const torch::Tensor& y,
                            const GaussianMeasurementModel& model) {
  const auto transfer = op.transfer_function();
  if (!transfer) {
    throw InputError("the Wiener filter needs a Fourier-diagonal operator; " + op.kind() +
                     " is not (use tikhonov)");
  }
  const auto in_shape = op.input_shape();
  const int64_t w = in_shape[2];
  const auto device = y.device();
  const auto m = model.to(device);
  const auto mean = m.prior_mean.unsqueeze(0);  // [1, C, H, W]
  const auto residual =
      y.to(torch::kFloat64) - op.forward(mean.to(y.scalar_type())).to(torch::kFloat64);
  auto noise = full_grid_spectrum(m.noise_power, w);
  if (noise.dim() == 2) noise = noise.unsqueeze(0);
  const FourierGaussianPosterior posterior(
      transfer->to(device), full_grid_spectrum(m.prior_power, w), noise, in_shape[0]);
  return posterior.mean(mean, fft2_ortho(residual)).to(y.scalar_type());
}

}  // namespace wsd
