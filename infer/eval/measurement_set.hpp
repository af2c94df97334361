#pragma once

// A set of simulated (or real) measurements y = A x + b and what produced them, as `wsdiff
// simulate` writes it and `solve` / `eval` read it. HDF5 layout:
//   /y        float32 [N, C', H', W']  measurements
//   /x_true   float32 [N, C, H, W]     ground truth in [-1, 1] (absent for real data)
//   /seeds    int64 [N]                per-image measurement-noise seeds
//   attributes on /: format "wsdiff-measurements", format_version 1, config (the resolved
//   YAML config: its task section rebuilds the operator), seed (task.seed), operator, created.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config_types.hpp"

namespace wsd {

struct MeasurementSet {
  Config config;                // task (operator + noise), data the truth came from
  torch::Tensor y;              // float32 [N, C', H', W'] on the CPU
  torch::Tensor x_true;         // float32 [N, C, H, W] or undefined
  std::vector<uint64_t> seeds;  // measurement-noise seed of each image

  int64_t size() const { return y.size(0); }
  // [C, H, W] of the unknown the task's operator expects.
  std::vector<int64_t> image_shape() const;
};

// The unknown's shape for a config: data.channels x data.image_size^2, unless the operator
// makes its unknown from single-channel images (operators/operator_factory.hpp,
// unknown_channel_scales; IDT with absorption: [absorption, phase]).
std::vector<int64_t> task_image_shape(const Config& config);

// The first `n` test-split images of config.data (fitted to data.image_size and data.channels)
// as ground truth, measured through the task's operator and noise. An operator whose unknown is
// made of single-channel images takes an image per channel (IDT with absorption: the absorption
// is test image i + n scaled by 0.5, so the two unknowns are independent). Runs on `device`,
// returns CPU tensors.
MeasurementSet simulate_measurements(const Config& config, int64_t n, torch::Device device);

// Validation measurements for choosing sampler settings: the last n (times the images per
// unknown) images of the training split, with measurement seeds of their own, so nothing is
// tuned on the test images or their noise.
MeasurementSet simulate_validation_measurements(const Config& config, int64_t n,
                                                torch::Device device);

void write_measurements(const MeasurementSet& set, const std::string& path);
// InputError naming the file for a missing file, a foreign HDF5 file or missing datasets.
MeasurementSet read_measurements(const std::string& path);

}  // namespace wsd
