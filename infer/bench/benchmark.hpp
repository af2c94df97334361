#pragma once

// Speed measurements behind `wsdiff bench`: structured-noise generation, the training step's
// arithmetic and Euler sampling, each timed over repeated calls after untimed warm-up calls.
//
// Only the benchmark synchronises with the device: on CUDA it waits for the queued work before
// every clock read, so each time covers the kernels of its call and nothing else. The library
// loops it drives (noise, network, sampler) never synchronise by themselves.

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/config/config_types.hpp"

namespace wsd {

// Wall-clock seconds of each timed call.
struct Timings {
  std::vector<double> seconds;

  double median() const;
  double min() const;
};

// Calls `fn` `warmup` times untimed, then `repeats` times timed (repeats >= 1). On a CUDA device
// the device is synchronised before every clock read.
Timings time_calls(const std::function<void()>& fn, int64_t warmup, int64_t repeats,
                   torch::Device device);

// Settings shared by the three benchmarks.
struct BenchSettings {
  torch::Device device = torch::kCPU;
  int64_t batch = 1;
  int64_t warmup = 1;
  int64_t repeats = 1;
  uint64_t seed = 0;
};

// StructuredNoise::sample of one batch [batch, channels, height, width] of `noise`.
struct NoiseBenchRequest {
  BenchSettings settings;
  NoiseConfig noise;
  int64_t channels = 3, height = 32, width = 32;
};
struct NoiseBenchResult {
  Timings per_batch;
  double samples_per_s = 0;  // batch / median time
};
NoiseBenchResult bench_noise(const NoiseBenchRequest& request);

// Network-level precision and layout, for the training-step and sampling benchmarks.
struct NetworkSettings {
  bool bf16 = false;  // bf16 autocast around the forward pass (CUDA only)
  bool channels_last = false;
};

// One training step on random images of the model's size, without the data loader: times t,
// structured noise, x_t, forward, the forward process's loss, backward and an Adam step (no
// gradient reduction, clipping or EMA). The network is in training mode (dropout active).
struct TrainStepBenchRequest {
  BenchSettings settings;
  NetworkSettings network;
  ModelConfig model;
  NoiseConfig noise;
  double lr = 2e-4;
};
struct TrainStepBenchResult {
  Timings per_step;
  double images_per_s = 0;  // batch / median time
  int64_t parameters = 0;
  double last_loss = 0;  // read once, after the timed steps
};
TrainStepBenchResult bench_train_step(const TrainStepBenchRequest& request);

// sample_euler trajectories of `steps` steps of a freshly initialised network (eval mode, no
// gradients) from one batch of the model's structured noise; each timed call is a trajectory.
struct SampleBenchRequest {
  BenchSettings settings;
  NetworkSettings network;
  ModelConfig model;
  NoiseConfig noise;
  int64_t steps = 20;
};
struct SampleBenchResult {
  Timings per_trajectory;
  double seconds_per_step = 0;   // median trajectory / steps
  double seconds_per_image = 0;  // of one `steps`-step trajectory, per image of the batch
  int64_t parameters = 0;
};
SampleBenchResult bench_sample(const SampleBenchRequest& request);

}  // namespace wsd
