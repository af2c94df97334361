#include "infer/gaussian/gaussian_measurement_model.hpp"

#include <torch/torch.h>

namespace wsd {

GaussianMeasurementModel GaussianMeasurementModel::make(const GaussianStatistics& prior,
                                                        torch::Tensor noise_power) {
  GaussianMeasurementModel model;
  model.prior_mean = prior.mean.to(torch::kFloat64);
  model.prior_power = prior.power_spectrum.to(torch::kFloat64);
  if (model.prior_power.dim() == 2) model.prior_power = model.prior_power.unsqueeze(0);
  model.noise_power = noise_power.to(torch::kFloat64);
  model.noise_power = model.noise_power.clamp_min(1e-6 * model.noise_power.mean().item<double>());
  return model;
}

GaussianMeasurementModel GaussianMeasurementModel::to(torch::Device device) const {
  return {prior_mean.to(device), prior_power.to(device), noise_power.to(device)};
}

torch::Tensor full_grid_spectrum(const torch::Tensor& half, int64_t width) {
  const int64_t h = half.size(-2), w_half = half.size(-1);
  TORCH_CHECK(w_half == width / 2 + 1, "spectrum has ", w_half, " columns, expected ",
              width / 2 + 1, " for width ", width);
  if (width == w_half) return half;
  // Column j > W/2 of the full grid is column W - j of the half grid at row -i (mod H).
  const auto rows =
      (-torch::arange(h, torch::TensorOptions().dtype(torch::kLong).device(half.device())))
          .remainder(h);
  const auto cols = torch::arange(width - w_half, 0, -1,
                                  torch::TensorOptions().dtype(torch::kLong).device(half.device()));
  const auto mirrored = half.index_select(-2, rows).index_select(-1, cols);
  return torch::cat({half, mirrored}, -1);
}

}  // namespace wsd
