#pragma once

// Measurement noise b ~ N(0, s^2 K K^T) of y = A x + b: the project's structured noise K e
// (task.noise, any family) scaled by the level s = task.noise_level in image units (images in
// [-1, 1]). With the default unit_variance normalisation every measured pixel has variance s^2;
// with kernel_sum it is s^2 sum(g^2) instead (see structured_noise.hpp).
//
// Each image draws its noise from its own seed (StructuredNoise::sample_per_image), so a
// measurement never depends on which other images share its batch, on the batch size or on
// the device. An operator whose output channels are separate exposures (MeasurementTraits; IDT's
// LED images) gets an independent field per channel whatever task.noise.channel_mode says:
// one field shared by separate exposures is no sensor's noise, and for IDT's symmetric LED
// pairs, whose phase transfer functions are opposite, it would cancel in the reconstruction.

#include <cstdint>
#include <vector>

#include "core/config/config_types.hpp"
#include "core/noise/structured_noise.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

class MeasurementNoise {
 public:
  // Noise of `noise`'s family drawn in float64, scaled by `level`.
  MeasurementNoise(const NoiseConfig& noise, double level);
  // task.noise and task.noise_level (float64 draws, cast to the measurement's dtype).
  static MeasurementNoise from_config(const TaskConfig& task);

  double level() const { return level_; }
  const StructuredNoise& noise() const { return noise_; }

  // b for seeds.size() images of per-image shape [C, H, W], in `dtype` on `device`; with
  // `separate_exposures` every channel draws its own field.
  torch::Tensor sample(const std::vector<uint64_t>& seeds, const std::vector<int64_t>& shape,
                       torch::Dtype dtype, torch::Device device,
                       bool separate_exposures = false) const;

 private:
  StructuredNoise noise_;
  StructuredNoise per_channel_;  // the same family with channel_mode per_channel
  double level_;
};

// Seeds of images first .. first + n - 1 derived from one base seed (e.g. task.seed): image i's
// is measurement_seed(base, i) (core/util/seeds.hpp), so its noise depends only on base and i.
std::vector<uint64_t> measurement_seeds(uint64_t base, int64_t first, int64_t n);

// y = A x + b, b drawn per image with seeds[i] (one seed per image of x), in x's dtype and on
// x's device.
torch::Tensor measure(LinearOperatorImpl& op, const torch::Tensor& x, const MeasurementNoise& noise,
                      const std::vector<uint64_t>& seeds);

}  // namespace wsd
