#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/config/config_types.hpp"
#include "core/model/prior.hpp"

namespace wsd::python {

// A prior loaded once and kept for many calls, from a checkpoint (.h5) or a safetensors file
// that `wsdiff export --format safetensors` wrote, with the embedded config it was trained with
// (whose sampler section is its default sampler) and its model card facts (JSON).
struct LoadedPrior {
  LoadedPrior(const std::string& path, const std::string& device, bool use_ema);

  std::vector<int64_t> image_shape() const;

  std::string path;
  torch::Device device;
  Config config;
  std::string card_json;  // a safetensors prior's, from its metadata; empty for a checkpoint
  std::unique_ptr<Prior> prior;
};

}  // namespace wsd::python
