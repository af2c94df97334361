#pragma once

// `wsdiff eval`: tasks x methods on the same measurements. For every task it simulates
// eval.n_images measurements (saved as <out>/<task>/measurements.h5), reconstructs them with
// every method of eval.methods, and scores each image with PSNR and SSIM on [0, 1] images
// ((x + 1) / 2, clamped; PSNR per image, then averaged). It writes
//   <out>/results.json   per task and method: per-image and mean +- std PSNR/SSIM, the lambda
//                        used (and the automatic search's trials), steps, seconds per image;
//   <out>/results.md     one table per task;
//   <out>/<task>/figure.png  rows of ground truth | measurement | each method;
//   <out>/<task>/<method>.h5  the reconstructions (/x_hat).

#include <torch/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/config/config_types.hpp"

namespace wsd {

struct EvalTask {
  std::string name;  // directory and table name, e.g. the config file's stem
  Config config;
};

struct EvalRequest {
  std::vector<EvalTask> tasks;
  std::string out_dir;
  torch::Device device = torch::kCPU;
};

nlohmann::json run_evaluation(const EvalRequest& request);

// The markdown tables of a results document.
std::string results_markdown(const nlohmann::json& results);

}  // namespace wsd
