#pragma once

// `wsdiff bench --what network`: the network's training arithmetic alone (t, structured noise,
// x_t, forward, WhitenedScoreLoss, backward, one Adam step) on random images of the model's size,
// without the loader, gradient reduction, clipping or EMA (`--what train` times those too).

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include <cstdint>

#include "core/config/config_types.hpp"
#include "core/network/ddpm_unet.hpp"
#include "core/util/timings.hpp"

namespace wsd {

// Network-level precision and layout, shared by the network and sampling benchmarks.
struct NetworkSettings {
  bool bf16 = false;  // bf16 autocast around the forward pass (CUDA only)
  bool channels_last = false;

  // InputError for bf16 off CUDA.
  void check(torch::Device device) const;
  nlohmann::ordered_json to_json() const;
};

// What every network-level report starts with: the model and noise sections, the precision and
// layout when one setting applies (`network` set), and the batch's shape.
nlohmann::ordered_json network_report_head(const ModelConfig& model, const NoiseConfig& noise,
                                           int64_t batch, const NetworkSettings* network = nullptr);

// A freshly initialised network (weights from settings.seed) on the device, in the layout.
DdpmUNet benchmark_network(const ModelConfig& model, const BenchSettings& settings,
                           const NetworkSettings& network);

// `x` in the benchmark's memory layout.
torch::Tensor in_layout(const torch::Tensor& x, const NetworkSettings& network);

struct NetworkBenchRequest {
  BenchSettings settings;
  NetworkSettings network;
  ModelConfig model;
  NoiseConfig noise;
  double lr = 2e-4;
};

struct NetworkBenchResult {
  NetworkBenchRequest request;
  Timings per_step;
  double images_per_s = 0;  // batch / median time
  int64_t parameters = 0;
  double last_loss = 0;  // read once, after the timed steps

  nlohmann::ordered_json to_json() const;
};

NetworkBenchResult bench_network(const NetworkBenchRequest& request);

}  // namespace wsd
