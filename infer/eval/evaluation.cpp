#include "infer/eval/evaluation.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "core/io/png_writer.hpp"
#include "core/util/errors.hpp"
#include "infer/eval/measurement_set.hpp"
#include "infer/eval/reconstruction.hpp"
#include "infer/likelihood/likelihood_step.hpp"
#include "infer/metrics/psnr.hpp"
#include "infer/metrics/ssim.hpp"
#include "operators/operator_factory.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kFigureRows = 8;

// Two-sided 97.5% quantile of Student's t with `dof` degrees of freedom (the normal's 1.96
// beyond the table): a 95% confidence interval of a mean of few images is wider than +-1.96 SE.
double t_quantile_975(int64_t dof) {
  static constexpr double kTable[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                      2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                      2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                      2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof < 1) return std::nan("");
  if (dof <= 30) return kTable[dof - 1];
  if (dof <= 60) return 2.000 + (2.042 - 2.000) * (60.0 - dof) / 30.0;
  if (dof <= 120) return 1.980 + (2.000 - 1.980) * (120.0 - dof) / 60.0;
  return 1.960;
}

// Mean, population std, the 95% confidence interval of the mean and the per-image values.
json summary(const torch::Tensor& values) {
  const auto v = values.to(torch::kFloat64).contiguous();
  std::vector<double> per_image(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
  const int64_t n = v.numel();
  const double mean = v.mean().item<double>();
  const double std = n > 1 ? v.std(/*unbiased=*/false).item<double>() : 0.0;
  json out = {{"mean", mean}, {"std", std}, {"per_image", per_image}};
  if (n > 1) {
    const double half = t_quantile_975(n - 1) * v.std(/*unbiased=*/true).item<double>() /
                        std::sqrt(static_cast<double>(n));
    out["ci95"] = {mean - half, mean + half};
  }
  return out;
}

// Per-image differences a - b of two methods' metrics on the same measurements: the paired
// comparison, whose interval is far tighter than the two methods' own intervals suggest.
json paired_difference(const json& a, const json& b) {
  json out = {{"methods", {a["method"], b["method"]}}};
  for (const char* metric : {"psnr", "ssim"}) {
    const auto va = a[metric]["per_image"].get<std::vector<double>>();
    const auto vb = b[metric]["per_image"].get<std::vector<double>>();
    auto diff = torch::tensor(va, torch::kFloat64) - torch::tensor(vb, torch::kFloat64);
    json d = summary(diff);
    d.erase("per_image");
    out[metric] = d;
  }
  return out;
}

bool is_sampled(EvalMethod method) {
  return method == EvalMethod::kWsPrior || method == EvalMethod::kConventionalPrior ||
         method == EvalMethod::kGaussianPrior;
}

// The weight of eval.lambda_grid with the best mean PSNR on the validation measurements: chosen
// per method without looking at the test images.
json choose_lambda(Reconstructor& reconstructor, EvalMethod method,
                   const MeasurementSet& validation, SamplerConfig sampler) {
  json trials = json::array();
  double best = -std::numeric_limits<double>::infinity(), chosen = 0.0;
  for (const double lambda : validation.config.eval.lambda_grid) {
    sampler.lambda = lambda;
    Reconstruction r;
    try {
      r = reconstructor.run(method, validation, sampler);
    } catch (const UnstableSettingError& e) {
      spdlog::warn("{}: lambda {:.3g} skipped: {}", enum_name(method), lambda, e.what());
      trials.push_back({{"lambda", lambda}, {"unstable", true}});
      continue;
    } catch (const DivergenceError& e) {
      spdlog::warn("{}: lambda {:.3g} skipped: {}", enum_name(method), lambda, e.what());
      trials.push_back({{"lambda", lambda}, {"diverged", true}});
      continue;
    }
    const double value = psnr(r.x_hat, validation.x_true).mean().item<double>();
    spdlog::info("{}: lambda {:.3g} on {} validation images: PSNR {:.2f} dB", enum_name(method),
                 lambda, validation.size(), value);
    trials.push_back({{"lambda", lambda}, {"psnr", value}});
    if (value > best) best = value, chosen = lambda;
  }
  if (!std::isfinite(best)) {
    throw InputError(std::string(enum_name(method)) +
                     ": no weight of eval.lambda_grid is stable (see the warnings above)");
  }
  return {{"chosen", chosen},
          {"images", validation.size()},
          {"split", "train (last images)"},
          {"trials", trials}};
}

const json* find_method(const json& task, const std::string& name) {
  for (const auto& m : task["methods"]) {
    if (m["method"] == name) return &m;
  }
  return nullptr;
}

json scores(const torch::Tensor& x_hat, const torch::Tensor& truth) {
  return {{"psnr", summary(psnr(x_hat, truth))}, {"ssim", summary(ssim(x_hat, truth))}};
}

// A measurement as a picture beside the images: same channels and size; operators whose output
// is not an image in [-1, 1] (LinearOperatorImpl::output_is_image) are rescaled per image to
// [-1, 1].
torch::Tensor displayable(const torch::Tensor& y, const std::vector<int64_t>& shape,
                          bool output_is_image) {
  auto d = y;
  if (d.size(1) != shape[0]) d = d.slice(1, 0, 1).expand({-1, shape[0], -1, -1});
  if (d.size(2) != shape[1] || d.size(3) != shape[2]) {
    d = torch::nn::functional::interpolate(d, torch::nn::functional::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{shape[1], shape[2]})
                                                  .mode(torch::kNearest));
  }
  if (!output_is_image) {
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
      json trial = {{"lambda", t.lambda}};
      if (t.diverged) {
        trial["diverged"] = true;
      } else {
        trial["residual_ratio"] = t.residual_ratio;
      }
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
    const bool op_output_is_image = make_operator(config.task, shape)->output_is_image();

    json task_json = {{"name", task.name},
                      {"operator", std::string(enum_name(config.task.operator_name))},
                      {"noise_family", std::string(enum_name(config.task.noise.family))},
                      {"noise_level", config.task.noise_level},
                      {"n_images", set.size()},
                      {"methods", json::array()}};
    std::vector<torch::Tensor> columns = {set.x_true,
                                          displayable(set.y, shape, op_output_is_image)};
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
    std::optional<MeasurementSet> validation;
    const auto record = [&](const std::string& name, const Reconstruction& r, json extra) {
      json m = scores(r.x_hat, set.x_true);
      m["method"] = name;
      m["steps"] = r.steps;
      m["seconds_per_image"] = r.seconds / static_cast<double>(set.size());
      m["prior"] = r.prior;
      m.update(lambda_json(r));
      m.update(extra);
      spdlog::info("task {}: {} PSNR {:.2f} dB, SSIM {:.4f}, {:.2f} s per image", task.name, name,
                   m["psnr"]["mean"].get<double>(), m["ssim"]["mean"].get<double>(),
                   m["seconds_per_image"].get<double>());
      task_json["methods"].push_back(m);
      write_h5_atomically((dir / (name + ".h5")).string(), [&](h5::File& file) {
        file.write_tensor("/x_hat", r.x_hat.contiguous());
      });
      columns.push_back(r.x_hat);
      names.push_back(name);
    };
    for (const EvalMethod method : config.eval.methods) {
      const std::string name(enum_name(method));
      spdlog::info("task {}: method {}", task.name, name);
      if (!is_sampled(method) || config.eval.lambda_grid.empty()) {
        record(name, reconstructor.run(method, set), json::object());
        continue;
      }
      if (!validation) {
        validation =
            simulate_validation_measurements(config, config.eval.validation_images, request.device);
      }
      SamplerConfig sampler = config.sampler;
      json choice = choose_lambda(reconstructor, method, *validation, sampler);
      sampler.lambda = choice["chosen"].get<double>();
      record(name, reconstructor.run(method, set, sampler), {{"lambda_validation", choice}});
    }
    const json* ws = find_method(task_json, "ws_prior");
    const json* conventional = find_method(task_json, "conventional_prior");
    if (ws && conventional) task_json["paired"] = paired_difference(*ws, *conventional);
    if (config.eval.save_png) {
      const int64_t rows = std::min<int64_t>(kFigureRows, set.size());
      std::vector<torch::Tensor> cells;
      for (int64_t i = 0; i < rows; ++i) {
        for (const auto& column : columns) {
          cells.push_back(picture_channels(column.slice(0, i, i + 1))[0]);
        }
      }
      const auto figure = (dir / "figure.png").string();
      ImageGridOptions grid;
      grid.columns = static_cast<int64_t>(columns.size());
      grid.column_labels = names;
      write_image_grid(torch::stack(cells), figure, grid);
      task_json["figure"] = figure;
      task_json["figure_columns"] = names;
    }
    results["tasks"].push_back(task_json);
  }
  std::ofstream(fs::path(request.out_dir) / "results.json") << results.dump(2) << "\n";
  std::ofstream(fs::path(request.out_dir) / "results.md") << results_markdown(results);
  return results;
}

namespace {

std::string interval(const json& summary, const char* format) {
  if (!summary.contains("ci95")) return "-";
  return "[" + fmt::format(fmt::runtime(format), summary["ci95"][0].get<double>()) + ", " +
         fmt::format(fmt::runtime(format), summary["ci95"][1].get<double>()) + "]";
}

}  // namespace

std::string results_markdown(const json& results) {
  std::string out;
  for (const auto& task : results["tasks"]) {
    out += "## " + task["name"].get<std::string>() + " (" + task["operator"].get<std::string>() +
           ", " + task["noise_family"].get<std::string>() + " noise, level " +
           fmt::format("{:g}", task["noise_level"].get<double>()) + ", " +
           std::to_string(task["n_images"].get<int64_t>()) + " images)\n\n";
    out += "| method | PSNR (dB) | 95% CI | SSIM | 95% CI | lambda | steps | s / image |\n";
    out += "|---|---|---|---|---|---|---|---|\n";
    for (const auto& m : task["methods"]) {
      const auto value = [&](const char* key, const char* format) -> std::string {
        return m.contains(key) ? fmt::format(fmt::runtime(format), m[key].get<double>()) : "-";
      };
      std::string lambda = value("lambda", "{:.3g}");
      if (m.contains("lambda_auto")) lambda += " (auto)";
      if (m.contains("lambda_validation")) lambda += " (validation)";
      out += fmt::format("| {} | {:.2f} +- {:.2f} | {} | {:.4f} +- {:.4f} | {} | {} | {} | {} |\n",
                         m["method"].get<std::string>(), m["psnr"]["mean"].get<double>(),
                         m["psnr"]["std"].get<double>(), interval(m["psnr"], "{:.2f}"),
                         m["ssim"]["mean"].get<double>(), m["ssim"]["std"].get<double>(),
                         interval(m["ssim"], "{:.4f}"), lambda,
                         m.contains("steps") ? std::to_string(m["steps"].get<int64_t>()) : "-",
                         value("seconds_per_image", "{:.3f}"));
    }
    out += "\n";
    if (task.contains("paired")) {
      const auto& p = task["paired"];
      out += fmt::format(
          "Paired difference {} - {} over the same images: PSNR {:+.2f} dB {}, SSIM {:+.4f} {}\n\n",
          p["methods"][0].get<std::string>(), p["methods"][1].get<std::string>(),
          p["psnr"]["mean"].get<double>(), interval(p["psnr"], "{:+.2f}"),
          p["ssim"]["mean"].get<double>(), interval(p["ssim"], "{:+.4f}"));
    }
  }
  return out;
}

}  // namespace wsd
