#include "infer/eval/evaluation.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/io/h5_file.hpp"
#include "core/io/png_writer.hpp"
#include "core/util/errors.hpp"
#include "infer/eval/measurement_set.hpp"
#include "infer/eval/reconstruction.hpp"
#include "infer/metrics/psnr.hpp"
#include "infer/metrics/ssim.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kFigureRows = 8;

json summary(const torch::Tensor& values) {
  const auto v = values.to(torch::kFloat64).contiguous();
  std::vector<double> per_image(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
  const double std = v.numel() > 1 ? v.std(/*unbiased=*/false).item<double>() : 0.0;
  return {{"mean", v.mean().item<double>()}, {"std", std}, {"per_image", per_image}};
}

json scores(const torch::Tensor& x_hat, const torch::Tensor& truth) {
  return {{"psnr", summary(psnr(x_hat, truth))}, {"ssim", summary(ssim(x_hat, truth))}};
}

// A measurement as a picture beside the images: same channels and size; operators whose output
// is not an image in [-1, 1] (Laplace, IDT) are rescaled per image to [-1, 1].
torch::Tensor displayable(const torch::Tensor& y, const std::vector<int64_t>& shape,
                          OperatorType op) {
  auto d = y;
  if (d.size(1) != shape[0]) d = d.slice(1, 0, 1).expand({-1, shape[0], -1, -1});
  if (d.size(2) != shape[1] || d.size(3) != shape[2]) {
    d = torch::nn::functional::interpolate(d, torch::nn::functional::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{shape[1], shape[2]})
                                                  .mode(torch::kNearest));
  }
  if (op == OperatorType::kLaplace || op == OperatorType::kIdt) {
    const auto flat = d.flatten(1);
    const auto lo = std::get<0>(flat.min(1)).view({-1, 1, 1, 1});
    const auto hi = std::get<0>(flat.max(1)).view({-1, 1, 1, 1});
    d = (d - lo) / (hi - lo).clamp_min(1e-12) * 2 - 1;
  }
  return d;
}

json lambda_json(const Reconstruction& r) {
  json out = json::object();
  if (r.lambda) out["lambda"] = *r.lambda;
  if (r.lambda_search) {
    const auto& s = *r.lambda_search;
    json trials = json::array();
    for (const auto& t : s.trials) {
      json trial = {{"lambda", t.lambda}, {"residual_ratio", t.residual_ratio}};
      if (t.psnr) trial["psnr"] = *t.psnr;
      trials.push_back(trial);
    }
    out["lambda_auto"] = {{"chosen", s.lambda}, {"trials", trials}};
    if (const auto* best = s.best()) {
      out["lambda_auto"]["best_by_truth"] = best->lambda;
      out["lambda_auto"]["psnr_gap_db"] = *best->psnr - *s.chosen().psnr;
    }
  }
  return out;
}

}  // namespace

json run_evaluation(const EvalRequest& request) {
  json results = {{"tasks", json::array()}};
  fs::create_directories(request.out_dir);
  for (const auto& task : request.tasks) {
    const Config& config = task.config;
    const fs::path dir = fs::path(request.out_dir) / task.name;
    fs::create_directories(dir);
    spdlog::info("task {}: simulating {} measurements ({})", task.name, config.eval.n_images,
                 enum_name(config.task.operator_name));
    const MeasurementSet set = simulate_measurements(config, config.eval.n_images, request.device);
    write_measurements(set, (dir / "measurements.h5").string());
    const auto shape = set.image_shape();

    json task_json = {{"name", task.name},
                      {"operator", std::string(enum_name(config.task.operator_name))},
                      {"noise_family", std::string(enum_name(config.task.noise.family))},
                      {"noise_level", config.task.noise_level},
                      {"n_images", set.size()},
                      {"methods", json::array()}};
    std::vector<torch::Tensor> columns = {set.x_true,
                                          displayable(set.y, shape, config.task.operator_name)};
    std::vector<std::string> names = {"truth", "measurement"};
    if (set.y.sizes() == set.x_true.sizes()) {
      json m = scores(set.y, set.x_true);
      m["method"] = "measurement";
      task_json["methods"].push_back(m);
    }
    Reconstructor reconstructor(config, request.device,
                                [](const std::string& what, int64_t done, int64_t total) {
                                  spdlog::info("{}: {}/{} images", what, done, total);
                                });
    for (const EvalMethod method : config.eval.methods) {
      const std::string name(enum_name(method));
      spdlog::info("task {}: method {}", task.name, name);
      const Reconstruction r = reconstructor.run(method, set);
      json m = scores(r.x_hat, set.x_true);
      m["method"] = name;
      m["steps"] = r.steps;
      m["seconds_per_image"] = r.seconds / static_cast<double>(set.size());
      m["prior"] = r.prior;
      m.update(lambda_json(r));
      spdlog::info("task {}: {} PSNR {:.2f} dB, SSIM {:.4f}, {:.2f} s per image", task.name, name,
                   m["psnr"]["mean"].get<double>(), m["ssim"]["mean"].get<double>(),
                   m["seconds_per_image"].get<double>());
      task_json["methods"].push_back(m);
      h5::File file = h5::File::create((dir / (name + ".h5")).string());
      file.write_tensor("/x_hat", r.x_hat.contiguous());
      columns.push_back(r.x_hat);
      names.push_back(name);
    }
    if (config.eval.save_png) {
      const int64_t rows = std::min<int64_t>(kFigureRows, set.size());
      std::vector<torch::Tensor> cells;
      for (int64_t i = 0; i < rows; ++i) {
        for (const auto& column : columns)
          cells.push_back(column[i].slice(0, 0, shape[0] == 2 ? 1 : shape[0]));
      }
      const auto figure = (dir / "figure.png").string();
      write_image_grid(torch::stack(cells), figure, static_cast<int64_t>(columns.size()));
      task_json["figure"] = figure;
      task_json["figure_columns"] = names;
    }
    results["tasks"].push_back(task_json);
  }
  std::ofstream(fs::path(request.out_dir) / "results.json") << results.dump(2) << "\n";
  std::ofstream(fs::path(request.out_dir) / "results.md") << results_markdown(results);
  return results;
}

std::string results_markdown(const json& results) {
  std::string out;
  for (const auto& task : results["tasks"]) {
    out += "## " + task["name"].get<std::string>() + " (" + task["operator"].get<std::string>() +
           ", " + task["noise_family"].get<std::string>() + " noise, level " +
           fmt::format("{:g}", task["noise_level"].get<double>()) + ", " +
           std::to_string(task["n_images"].get<int64_t>()) + " images)\n\n";
    out += "| method | PSNR (dB) | SSIM | lambda | steps | s / image |\n";
    out += "|---|---|---|---|---|---|\n";
    for (const auto& m : task["methods"]) {
      const auto value = [&](const char* key, const char* format) -> std::string {
        return m.contains(key) ? fmt::format(fmt::runtime(format), m[key].get<double>()) : "-";
      };
      std::string lambda = value("lambda", "{:.3g}");
      if (m.contains("lambda_auto")) lambda += " (auto)";
      out += fmt::format("| {} | {:.2f} +- {:.2f} | {:.4f} +- {:.4f} | {} | {} | {} |\n",
                         m["method"].get<std::string>(), m["psnr"]["mean"].get<double>(),
                         m["psnr"]["std"].get<double>(), m["ssim"]["mean"].get<double>(),
                         m["ssim"]["std"].get<double>(), lambda,
                         m.contains("steps") ? std::to_string(m["steps"].get<int64_t>()) : "-",
                         value("seconds_per_image", "{:.3f}"));
    }
    out += "\n";
  }
  return out;
}

}  // namespace wsd
