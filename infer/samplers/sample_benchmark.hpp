#pragma once

// `wsdiff bench --what sample`: uniform Euler trajectories (Trajectory, the runner `wsdiff
// sample` uses) of a freshly initialised network (eval mode, no gradients) from one batch of the
// model's structured noise; each timed call is one trajectory, `steps` steps and the final
// Tweedie step: steps + 1 network evaluations. Speed only: `--what solve` times a trained prior
// with its quality.

#include <nlohmann/json.hpp>

#include <cstdint>

#include "core/config/config_types.hpp"
#include "core/model/network_benchmark.hpp"
#include "core/util/timings.hpp"

namespace wsd {

struct SampleBenchRequest {
  BenchSettings settings;
  NetworkSettings network;
  ModelConfig model;
  NoiseConfig noise;
  int64_t steps = 20;
};

struct SampleBenchResult {
  SampleBenchRequest request;
  Timings per_trajectory;
  double seconds_per_step = 0;   // median trajectory / network evaluations
  double seconds_per_image = 0;  // of one `steps`-step trajectory, per image of the batch
  int64_t parameters = 0;

  nlohmann::ordered_json to_json() const;
};

SampleBenchResult bench_sample(const SampleBenchRequest& request);

}  // namespace wsd
