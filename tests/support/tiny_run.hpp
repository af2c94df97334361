#pragma once

// The smallest training run the CLI tests use: 8x8 blob images, a one-level network, CPU.

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/synthetic_idx.hpp"

namespace wsd::test {

// 32 training (the last 8 of them the validation split) and 8 test images of 8x8 blobs as IDX
// files in `dir`; returns `dir`.
inline std::filesystem::path write_tiny_dataset(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  write_blob_idx_images(dir / "train-images-idx3-ubyte", 32, 8, 1);
  write_blob_idx_images(dir / "t10k-images-idx3-ubyte", 8, 8, 2);
  return dir;
}

// `wsdiff train` arguments for `steps` steps of batch 8 on that dataset into `run`, without
// samples or validation unless `sets` (more "key=value" overrides, applied last) asks for them.
inline std::vector<std::string> tiny_train_args(const std::filesystem::path& run,
                                                const std::filesystem::path& data, int steps,
                                                const std::vector<std::string>& sets = {}) {
  std::vector<std::string> args = {"train", "--out", run.string()};
  std::vector<std::string> all = {
      "data.path=" + data.string(), "data.validation_images=8",
      "data.image_size=8",          "model.image_size=8",
      "model.ch_mults=[1]",         "model.is_attn=[false]",
      "model.n_blocks=1",           "train.steps=" + std::to_string(steps),
      "train.batch_size=8",         "train.device=cpu",
      "train.sample_every=0",       "train.validate_every=0"};
  all.insert(all.end(), sets.begin(), sets.end());
  for (const auto& s : all) {
    args.push_back("--set");
    args.push_back(s);
  }
  return args;
}

}  // namespace wsd::test
