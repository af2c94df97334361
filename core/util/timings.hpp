#pragma once

// Timing of repeated calls, behind every `wsdiff bench` measurement. Only a benchmark
// synchronises with the device: on CUDA it waits for the queued work before every clock read, so
// each time covers the kernels of its call and nothing else. The library loops it drives (noise,
// network, sampler) never synchronise by themselves.

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace wsd {

// Wall-clock seconds of each timed call.
struct Timings {
  std::vector<double> seconds;

  double median() const;
  double min() const;
  // "<prefix>_ms_median", "<prefix>_ms_min" and "<prefix>_ms_all" in milliseconds.
  void add_to(nlohmann::ordered_json& report, const std::string& prefix) const;
};

// Calls `fn` `warmup` times untimed, then `repeats` times timed (repeats >= 1). On a CUDA device
// the device is synchronised before every clock read.
Timings time_calls(const std::function<void()>& fn, int64_t warmup, int64_t repeats,
                   torch::Device device);

// What every benchmark is told: where, how large a batch, how often.
struct BenchSettings {
  torch::Device device = torch::kCPU;
  int64_t batch = 1;
  int64_t warmup = 1;
  int64_t repeats = 1;
  uint64_t seed = 0;

  // InputError for a batch or repeat count below 1 or a negative warm-up.
  void check() const;
};

}  // namespace wsd
