#pragma once

// A tiny training setup shared by the trainer tests: an 8x8 IDX dataset written by the test and
// a one-level UNet, small enough for many short CPU runs.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config/config_loader.hpp"
#include "tests/support/synthetic_idx.hpp"
#include "train/trainer.hpp"

namespace wsd::test {

inline std::filesystem::path make_tiny_dataset(const std::filesystem::path& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write_blob_idx_images(dir / "train-images-idx3-ubyte", 64, 8, 1);
  write_blob_idx_images(dir / "t10k-images-idx3-ubyte", 16, 8, 2);
  return dir;
}

// `overrides` are "section.key=value" settings applied on top, e.g. "train.grad_accum=2".
inline Config tiny_config(const std::filesystem::path& data, int64_t steps,
                          const std::vector<std::string>& overrides = {},
                          const std::string& process = "diffusion") {
  return parse_config(
      "data: {path: '" + data.string() +
          "', image_size: 8, channels: 1, random_flip: true}\n"
          "noise: {family: grf, grf_sigma_min: 0.5, grf_sigma_max: 2.0}\n"
          "model: {type: ddpm_unet, parameterisation: noise, image_channels: 1, image_size: 8,\n"
          "        process: " +
          process +
          ",\n"
          "        n_channels: 32, ch_mults: [1], is_attn: [false], n_blocks: 1, dropout: 0.0}\n"
          "train: {steps: " +
          std::to_string(steps) +
          ", batch_size: 8, lr: 1.0e-3, warmup_steps: 2,\n"
          "        log_every: 1, validate_every: 0, sample_every: 0, checkpoint_every: 0, device: "
          "cpu}\n",
      "tiny", overrides);
}

inline TrainOutcome run_training(const Config& config, const std::filesystem::path& out,
                                 const std::string& resume = "", DistEnv env = {}) {
  TrainRequest request;
  request.config = config;
  request.out_dir = out.string();
  request.resume = resume;
  request.env = env;
  std::filesystem::create_directories(out);
  std::atomic<bool> stop{false};
  return train(request, stop);
}

}  // namespace wsd::test
