// `wsdiff simulate`: measurements y = A x + b of test images for a task config, or of the
// validation images (the validation split, held out of training) on which settings may be tuned.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>

#include "cli/command.hpp"
#include "cli/output_paths.hpp"
#include "core/config/config_loader.hpp"
#include "core/io/png_writer.hpp"
#include "core/util/device.hpp"
#include "infer/eval/measurement_set.hpp"

namespace wsd::cli {
namespace {

struct SimulateOptions {
  std::string out;
  int64_t n = 0;  // 0 = task.n_images
  std::string device = "auto";
  std::string png;
  bool validation = false;
};

int run_simulate(const SimulateOptions& o, const ConfigOptions& config_options) {
  const std::vector<NamedPath> inputs = {{"--config", config_options.config_path}};
  refuse_output_over_inputs(o.out, "--out", inputs);
  if (!o.png.empty()) {
    refuse_output_over_inputs(o.png + "_truth.png", "--png", inputs);
    refuse_output_over_inputs(o.png + "_measurements.png", "--png", inputs);
  }
  const Config config = load_config(config_options.config_path, config_options.overrides);
  const int64_t n = o.n > 0 ? o.n : config.task.n_images;
  ensure_writable_file(o.out, "--out");
  if (!o.png.empty()) ensure_writable_file(o.png + "_truth.png", "--png");
  const auto device = resolve_device(o.device);
  const auto set = o.validation ? simulate_validation_measurements(config, n, device)
                                : simulate_measurements(config, n, device);
  if (const auto parent = std::filesystem::path(o.out).parent_path(); !parent.empty()) {
    std::filesystem::create_directories(parent);
  }
  write_measurements(set, o.out);
  if (!o.png.empty()) {
    write_image_grid(set.x_true.slice(1, 0, 1), o.png + "_truth.png");
    // Each image's first measurement channel, rescaled to show its structure.
    auto y = set.y.slice(1, 0, 1);
    const auto flat = y.flatten(1);
    y = (y - std::get<0>(flat.min(1)).view({-1, 1, 1, 1})) /
            (std::get<0>(flat.max(1)) - std::get<0>(flat.min(1)))
                .clamp_min(1e-12)
                .view({-1, 1, 1, 1}) *
            2 -
        1;
    write_image_grid(y, o.png + "_measurements.png");
  }
  spdlog::info(
      "{} measurements of {} images, task {} (noise {} at level {:g}, seed {}): {} [{}] from [{}]",
      n, o.validation ? "validation" : "test", enum_name(config.task.operator_name),
      enum_name(config.task.noise.family), config.task.noise_level, config.task.seed, o.out,
      fmt::join(set.y.sizes().slice(1), "x"), fmt::join(set.x_true.sizes().slice(1), "x"));
  return 0;
}

}  // namespace

Command add_simulate_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand("simulate", "Simulate measurements y = A x + b for a task");
  auto o = std::make_shared<SimulateOptions>();
  auto config = std::make_shared<ConfigOptions>();
  add_config_options(app, *config);
  app->add_option("-o,--out", o->out, "measurement file (.h5)")->required();
  app->add_option("-n,--n", o->n, "number of test images (default: task.n_images)")
      ->check(at_least(1));
  app->add_option("--device", o->device, "auto, cpu or cuda")->capture_default_str();
  app->add_option("--png", o->png,
                  "also write PREFIX_truth.png and PREFIX_measurements.png (path prefix)");
  app->add_flag("--validation", o->validation,
                "measure the validation images (the validation split, with the seeds "
                "`eval` chooses lambda on) instead of the test images: tune settings here");
  return {app, [=]() { return run_simulate(*o, *config); }};
}

}  // namespace wsd::cli
