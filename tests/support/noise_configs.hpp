#pragma once

// Noise sections for tests: StructuredNoise takes the `noise` config section itself
// (core/config/config_types.hpp), so tests describe noise the way a config file does.

#include "core/config/config_types.hpp"

namespace wsd::test {

inline NoiseConfig noise_of(NoiseFamily family) {
  NoiseConfig config;
  config.family = family;
  return config;
}

// GRF noise whose kernel std is drawn in [lo, hi] px.
inline NoiseConfig grf_noise(double lo, double hi) {
  NoiseConfig config = noise_of(NoiseFamily::kGrf);
  config.grf_sigma_min = lo;
  config.grf_sigma_max = hi;
  return config;
}

// `config` after `edit` (a callable taking NoiseConfig&), for one-expression variations.
template <class Edit>
NoiseConfig edited(NoiseConfig config, Edit&& edit) {
  edit(config);
  return config;
}

}  // namespace wsd::test
