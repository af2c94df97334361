#pragma once

// A set of simulated (or real) measurements y = A x + b and what produced them, as `wsdiff
// simulate` writes it and `solve` / `eval` read it. HDF5 layout:
//   /y        float32 [N, C', H', W']  measurements
//   /x_true   float32 [N, C, H, W]     ground truth in [-1, 1] (absent for real data)
//   /seeds    int64 [N]                per-image measurement-noise seeds
//   /image_indices int64 [N]           the test-split index of each image (simulated sets only)
//   attributes on /: format "wsdiff-measurements", format_version 1, config (the resolved
//   YAML config: its task section rebuilds the operator), seed (task.seed), operator, created.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config_types.hpp"

namespace wsd {

struct MeasurementSet {
  Config config;                       // task (operator + noise), data the truth came from
  torch::Tensor y;                     // float32 [N, C', H', W'] on the CPU
  torch::Tensor x_true;                // float32 [N, C, H, W] or undefined
  std::vector<uint64_t> seeds;         // measurement-noise seed of each image
  std::vector<int64_t> image_indices;  // test-split index of each image; empty when unknown

  int64_t size() const { return y.size(0); }
  // [C, H, W] of the unknown the task's operator expects.
  std::vector<int64_t> image_shape() const;
};

// The unknown's shape for a config: data.channels x data.image_size^2, unless the operator
// makes its unknown from single-channel images (operators/operator_factory.hpp,
// unknown_channel_scales; IDT with absorption: [absorption, phase]).
std::vector<int64_t> task_image_shape(const Config& config);

// The test-split indices `eval` selects (eval.images: range, list or a seeded random subset)
// from a split of `test_size` images.
std::vector<int64_t> select_test_images(const EvalConfig& eval, int64_t test_size);

// The test-split images config.eval selects, of config.data (fitted to data.image_size and
// data.channels), as ground truth, measured through the task's operator and noise; image i's
// noise seed depends on task.seed and its index alone. An operator whose unknown is
// made of single-channel images takes an image per channel (IDT with absorption: the absorption
// is test image i + n scaled by 0.5, so the two unknowns are independent). Runs on `device`,
// returns CPU tensors.
MeasurementSet simulate_measurements(const Config& config, torch::Device device);
// The first n test images.
MeasurementSet simulate_measurements(const Config& config, int64_t n, torch::Device device);

// Validation measurements for choosing sampler settings: the last n (times the images per
// unknown) images of the validation split (data.validation_images, held out of training; the
// train split's own last images when it is 0), with measurement seeds of their own, so nothing
// is tuned on the test images or their noise.
MeasurementSet simulate_validation_measurements(const Config& config, int64_t n,
                                                torch::Device device);

void write_measurements(const MeasurementSet& set, const std::string& path);
// InputError naming the file for a missing file, a foreign HDF5 file or missing datasets.
MeasurementSet read_measurements(const std::string& path);

}  // namespace wsd
