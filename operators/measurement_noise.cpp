#include "operators/measurement_noise.hpp"

#include <torch/torch.h>

#include "core/util/seeds.hpp"

namespace wsd {

namespace {

NoiseConfig per_channel(NoiseConfig noise) {
  noise.channel_mode = ChannelMode::kPerChannel;
  return noise;
}

}  // namespace

MeasurementNoise::MeasurementNoise(const NoiseConfig& noise, double level)
    : noise_(noise, torch::kFloat64),
      per_channel_(per_channel(noise), torch::kFloat64),
      level_(level) {
  TORCH_CHECK(level_ >= 0, "measurement noise level must be >= 0");
}

MeasurementNoise MeasurementNoise::from_config(const TaskConfig& task) {
  return MeasurementNoise(task.noise, task.noise_level);
}

torch::Tensor MeasurementNoise::sample(const std::vector<uint64_t>& seeds,
                                       const std::vector<int64_t>& shape, torch::Dtype dtype,
                                       torch::Device device, bool separate_exposures) const {
  TORCH_CHECK(shape.size() == 3, "measurement noise: shape must be [C, H, W]");
  const StructuredNoise& family = separate_exposures ? per_channel_ : noise_;
  const auto b = family.sample_per_image(seeds, shape[0], shape[1], shape[2], device);
  return (b * level_).to(dtype);
}

std::vector<uint64_t> measurement_seeds(uint64_t base, int64_t first, int64_t n) {
  std::vector<uint64_t> seeds;
  seeds.reserve(static_cast<size_t>(n));
  for (int64_t i = first; i < first + n; ++i) seeds.push_back(measurement_seed(base, i));
  return seeds;
}

torch::Tensor measure(LinearOperatorImpl& op, const torch::Tensor& x, const MeasurementNoise& noise,
                      const std::vector<uint64_t>& seeds) {
  TORCH_CHECK(static_cast<int64_t>(seeds.size()) == x.size(0), "measure: ", seeds.size(),
              " seeds for ", x.size(0), " images");
  const auto clean = op.forward(x);
  if (noise.level() == 0) return clean;
  return clean + noise.sample(seeds, op.output_shape(), clean.scalar_type(), clean.device(),
                              op.measurement_traits().separate_exposures);
}

}  // namespace wsd
