#include "infer/eval/evaluation.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "core/config/config_writer.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "core/io/png_writer.hpp"
#include "core/util/errors.hpp"
#include "infer/eval/measurement_set.hpp"
#include "infer/eval/reconstruction.hpp"
#include "infer/eval/weight_search.hpp"
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

// The data weight with the best mean PSNR on the validation measurements, from eval.lambda_grid
// widened until the best is interior (weight_search.hpp): chosen per method without looking at
// the test images.
json choose_lambda(Reconstructor& reconstructor, EvalMethod method,
                   const MeasurementSet& validation, const std::string& source,
                   SamplerConfig sampler) {
  const std::string name(enum_name(method));
  WeightSearch search;
  search.grid = validation.config.eval.lambda_grid;
  search.evaluate = [&](double lambda) {
    sampler.lambda = lambda;
    try {
      const auto r = reconstructor.run(method, validation, sampler);
      const auto values = psnr(r.x_hat, validation.x_true).to(torch::kFloat64).contiguous();
      const std::vector<double> out(values.data_ptr<double>(),
                                    values.data_ptr<double>() + values.numel());
      spdlog::info("{}: lambda {:.3g} on {} validation images: PSNR {:.2f} dB", name, lambda,
                   validation.size(), values.mean().item<double>());
      return out;
    } catch (const std::exception& e) {
      spdlog::warn("{}: lambda {:.3g} skipped: {}", name, lambda, e.what());
      throw;
    }
  };
  const WeightChoice choice = search_weight(search, name);
  json trials = json::array();
  for (const auto& t : choice.trials) {
    json trial = {{"lambda", t.lambda}};
    if (t.psnr) trial["psnr"] = *t.psnr, trial["psnr_se"] = *t.psnr_se;
    if (t.unstable) trial["unstable"] = true;
    if (t.diverged) trial["diverged"] = true;
    trials.push_back(trial);
  }
  json out = {{"chosen", choice.lambda},
              {"images", validation.size()},
              {"split", source},
              {"interior", choice.interior},
              {"trials", trials}};
  if (!choice.interior) {
    out["stopped_by"] = choice.stopped_by;
    spdlog::warn("{}: the best weight {:.3g} is at the edge of those tried, stopped by {}", name,
                 choice.lambda, choice.stopped_by);
  }
  return out;
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
// is not an image in [-1, 1] (MeasurementTraits::is_image) are rescaled per image to
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

// How to read a task's figure: the intensity scale, the PSNR on the tiles, and what of a
// measurement or unknown that is not one image the figure shows.
std::string figure_caption(const MeasurementSet& set, bool output_is_image) {
  std::string caption = "[-1, +1] = black to white, tiles: psnr db";
  const int64_t measured = set.y.size(1), unknown = set.x_true.size(1);
  if (measured != unknown) {
    caption += fmt::format(", measurement: image 1 of {}", measured);
  }
  if (!output_is_image) caption += ", measurement rescaled per image";
  if (picture_channels(set.x_true.slice(0, 0, 1)).size(1) != unknown) {
    caption += fmt::format(", unknown: channel 1 of {}", unknown);
  }
  return caption;
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

// A measurement file eval scores against its truth; `test_file` is set when `path` is the
// validation file that goes with it (same task, or the weight chosen would be another task's).
MeasurementSet read_evaluation_file(const std::string& path, const std::string& test_file) {
  if (path.empty()) {
    throw InputError("eval.measurements " + test_file +
                     " needs eval.validation_measurements, a file of other images to choose the "
                     "data weight on (or an empty eval.lambda_grid to use sampler.lambda)");
  }
  MeasurementSet set = read_measurements(path);
  if (!set.x_true.defined()) {
    throw InputError(path +
                     ": no ground truth (/x_true) to score against; pack the measurements "
                     "with --truth");
  }
  if (!test_file.empty()) {
    const MeasurementSet test = read_measurements(test_file);
    Config test_task, own_task;
    test_task.task = test.config.task;
    own_task.task = set.config.task;
    if (to_yaml(test_task) != to_yaml(own_task)) {
      throw InputError(path + ": its task differs from that of eval.measurements " + test_file);
    }
  }
  return set;
}

}  // namespace

json run_evaluation(const EvalRequest& request) {
  json results = {{"tasks", json::array()}};
  fs::create_directories(request.out_dir);
  for (const auto& task : request.tasks) {
    const fs::path dir = fs::path(request.out_dir) / task.name;
    fs::create_directories(dir);
    const bool from_file = !task.config.eval.measurements.empty();
    if (!from_file) {
      spdlog::info("task {}: simulating measurements ({}, test images: {})", task.name,
                   enum_name(task.config.task.operator_name), enum_name(task.config.eval.images));
    }
    const MeasurementSet set = from_file ? read_evaluation_file(task.config.eval.measurements, "")
                                         : simulate_measurements(task.config, request.device);
    // Measurements from a file bring the task that made them.
    Config config = task.config;
    if (from_file) config.task = set.config.task;
    write_measurements(set, (dir / "measurements.h5").string());
    const auto shape = set.image_shape();
    const bool op_output_is_image =
        make_operator(config.task, shape)->measurement_traits().is_image;

    json task_json = {
        {"name", task.name},
        {"operator", std::string(enum_name(config.task.operator_name))},
        {"noise_family", std::string(enum_name(config.task.noise.family))},
        {"noise_level", config.task.noise_level},
        {"n_images", set.size()},
        {"images", from_file ? json{{"file", config.eval.measurements}}
                             : json{{"selection", std::string(enum_name(config.eval.images))},
                                    {"indices", set.image_indices}}},
        {"methods", json::array()}};
    std::vector<torch::Tensor> columns = {set.x_true,
                                          displayable(set.y, shape, op_output_is_image)};
    std::vector<std::string> names = {"truth", "measurement"};
    // Per-image PSNR of each column, drawn on its tiles (none for the truth, nor for a
    // measurement that is not an image of the unknown).
    std::vector<torch::Tensor> column_psnr = {torch::Tensor(), torch::Tensor()};
    if (set.y.sizes() == set.x_true.sizes()) {
      column_psnr[1] = psnr(set.y, set.x_true);
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
      column_psnr.push_back(psnr(r.x_hat, set.x_true));
    };
    for (const EvalMethod method : config.eval.methods) {
      const std::string name(enum_name(method));
      spdlog::info("task {}: method {}", task.name, name);
      if (!is_sampled(method) || config.eval.lambda_grid.empty()) {
        record(name, reconstructor.run(method, set), json::object());
        continue;
      }
      if (!validation && from_file) {
        validation =
            read_evaluation_file(config.eval.validation_measurements, config.eval.measurements);
      } else if (!validation) {
        validation =
            simulate_validation_measurements(config, config.eval.validation_images, request.device);
      }
      SamplerConfig sampler = config.sampler;
      const std::string source =
          from_file ? "file " + config.eval.validation_measurements
          : config.data.validation_images > 0
              ? "validation split (the last images of the train split, held out of training)"
              : "train split (its last images)";
      json choice = choose_lambda(reconstructor, method, *validation, source, sampler);
      sampler.lambda = choice["chosen"].get<double>();
      record(name, reconstructor.run(method, set, sampler), {{"lambda_validation", choice}});
    }
    const json* ws = find_method(task_json, "ws_prior");
    const json* conventional = find_method(task_json, "conventional_prior");
    if (ws && conventional) task_json["paired"] = paired_difference(*ws, *conventional);
    if (config.eval.save_png) {
      const int64_t rows = std::min<int64_t>(kFigureRows, set.size());
      std::vector<torch::Tensor> cells;
      ImageGridOptions grid;
      for (int64_t i = 0; i < rows; ++i) {
        for (size_t c = 0; c < columns.size(); ++c) {
          cells.push_back(picture_channels(columns[c].slice(0, i, i + 1))[0]);
          grid.tile_labels.push_back(column_psnr[c].defined()
                                         ? fmt::format("{:.1f}", column_psnr[c][i].item<double>())
                                         : std::string());
        }
      }
      const auto figure = (dir / "figure.png").string();
      grid.columns = static_cast<int64_t>(columns.size());
      grid.column_labels = names;
      grid.caption = figure_caption(set, op_output_is_image);
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

// Which test images a task measured, for its heading: " 0-99" for a range, " list (5, 3)" or
// " random (17, 4, ...)" otherwise.
std::string image_selection_text(const json& task) {
  if (!task.contains("images")) return "";
  if (task["images"].contains("file")) {
    return " from " + task["images"]["file"].get<std::string>();
  }
  const auto indices = task["images"]["indices"].get<std::vector<int64_t>>();
  if (indices.empty()) return "";
  bool consecutive = true;
  for (size_t i = 1; i < indices.size(); ++i) consecutive &= indices[i] == indices[i - 1] + 1;
  if (consecutive) {
    return fmt::format(" {}-{}", indices.front(), indices.back());
  }
  const size_t shown = std::min<size_t>(indices.size(), 8);
  std::vector<int64_t> head(indices.begin(), indices.begin() + static_cast<std::ptrdiff_t>(shown));
  return fmt::format(" {} ({}{})", task["images"]["selection"].get<std::string>(),
                     fmt::join(head, ", "), shown < indices.size() ? ", ..." : "");
}

}  // namespace

std::string results_markdown(const json& results) {
  std::string out;
  for (const auto& task : results["tasks"]) {
    out += "## " + task["name"].get<std::string>() + " (" + task["operator"].get<std::string>() +
           ", " + task["noise_family"].get<std::string>() + " noise, level " +
           fmt::format("{:g}", task["noise_level"].get<double>()) + ", " +
           std::to_string(task["n_images"].get<int64_t>()) + " test images" +
           image_selection_text(task) + ")\n\n";
    out += "| method | PSNR (dB) | 95% CI | SSIM | 95% CI | lambda | steps | s / image |\n";
    out += "|---|---|---|---|---|---|---|---|\n";
    for (const auto& m : task["methods"]) {
      const auto value = [&](const char* key, const char* format) -> std::string {
        return m.contains(key) ? fmt::format(fmt::runtime(format), m[key].get<double>()) : "-";
      };
      std::string lambda = value("lambda", "{:.3g}");
      if (m.contains("lambda_auto")) lambda += " (auto)";
      if (m.contains("lambda_validation")) {
        lambda += m["lambda_validation"].value("interior", true) ? " (validation)"
                                                                 : " (validation, at a bound)";
      }
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
