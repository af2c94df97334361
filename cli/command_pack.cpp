// `wsdiff pack`: measurements a user brings (image files or HDF5 arrays that did not come from
// `wsdiff simulate`) and the task that declares their operator and noise, as one measurement
// file that `wsdiff solve` reads (infer/eval/user_measurements.hpp).
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>

#include "cli/command.hpp"
#include "cli/output_paths.hpp"
#include "core/config/config_loader.hpp"
#include "infer/eval/user_measurements.hpp"

namespace wsd::cli {
namespace {

struct PackOptions {
  std::string images;
  std::string truth;
  std::string dataset = "/y";
  std::string out;
};

int run_pack(const PackOptions& o, const ConfigOptions& config_options) {
  const std::vector<NamedPath> inputs = {
      {"--config", config_options.config_path}, {"--images", o.images}, {"--truth", o.truth}};
  refuse_output_over_inputs(o.out, "--out", inputs);
  const Config config = load_config(config_options.config_path, config_options.overrides);
  ensure_writable_file(o.out, "--out");
  const auto set = pack_measurements(config, o.images, o.truth, o.dataset);
  if (const auto parent = std::filesystem::path(o.out).parent_path(); !parent.empty()) {
    std::filesystem::create_directories(parent);
  }
  write_measurements(set, o.out);
  spdlog::info("{} measurements [{}] from {}{}, task {} (noise {} at level {:g}): {}", set.size(),
               fmt::join(set.y.sizes().slice(1), "x"), o.images,
               o.truth.empty() ? " (no ground truth: solve reports no PSNR)"
                               : ", ground truth from " + o.truth,
               enum_name(config.task.operator_name), enum_name(config.task.noise.family),
               config.task.noise_level, o.out);
  return 0;
}

}  // namespace

Command add_pack_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand(
      "pack", "Pack your own measurements and the task that made them into a measurement file");
  auto o = std::make_shared<PackOptions>();
  auto config = std::make_shared<ConfigOptions>();
  add_config_options(app, *config);
  app->add_option("--images", o->images,
                  "the measurements: a folder of image files, one image file, or an HDF5 file "
                  "(.h5) with an [N, C, H, W] or [N, H, W] array, each of the task's output shape")
      ->required();
  app->add_option("--truth", o->truth,
                  "ground truth in the same forms, when known (then solve reports PSNR/SSIM)");
  app->add_option("--dataset", o->dataset,
                  "the array's name in an HDF5 --images file (the truth's: /x_true unless given)")
      ->capture_default_str();
  app->add_option("-o,--out", o->out, "measurement file to write (.h5)")->required();
  return {app, [=]() { return run_pack(*o, *config); }};
}

}  // namespace wsd::cli
