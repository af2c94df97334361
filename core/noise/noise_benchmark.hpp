#pragma once

// `wsdiff bench --what noise`: StructuredNoise::sample of one batch, timed.

#include <nlohmann/json.hpp>

#include <cstdint>

#include "core/config/config_types.hpp"
#include "core/util/timings.hpp"

namespace wsd {

struct NoiseBenchRequest {
  BenchSettings settings;
  NoiseConfig noise;
  int64_t channels = 3, height = 32, width = 32;
};

struct NoiseBenchResult {
  NoiseBenchRequest request;
  Timings per_batch;
  double samples_per_s = 0;  // batch / median time

  nlohmann::ordered_json to_json() const;
};

NoiseBenchResult bench_noise(const NoiseBenchRequest& request);

}  // namespace wsd
