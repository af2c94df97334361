// `wsdiff solve`: posterior sampling of measurements with a prior checkpoint.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>

#include "cli/command.hpp"
#include "cli/output_paths.hpp"
#include "core/config/config_loader.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "core/io/png_writer.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "infer/eval/measurement_set.hpp"
#include "infer/eval/reconstruction.hpp"
#include "infer/metrics/psnr.hpp"
#include "infer/metrics/ssim.hpp"

namespace wsd::cli {
namespace {

struct SolveOptions {
  std::string checkpoint;
  std::string measurements;
  std::string out;
  std::string png;
  std::string device = "auto";
};

int run_solve(const SolveOptions& o, const ConfigOptions& config_options) {
  for (const auto& assignment : config_options.overrides) {
    if (assignment.rfind("task.", 0) == 0) {
      throw InputError("--set " + assignment + ": the measurement file '" + o.measurements +
                       "' fixes the task; simulate new measurements to change it");
    }
  }
  const std::vector<NamedPath> inputs = {{"--checkpoint", o.checkpoint},
                                         {"--measurements", o.measurements},
                                         {"--config", config_options.config_path}};
  refuse_output_over_inputs(o.out, "--out", inputs);
  if (!o.png.empty()) {
    refuse_output_over_inputs((std::filesystem::path(o.png) / "x_hat.png").string(), "--png",
                              inputs);
  }
  ensure_writable_file(o.out, "--out");
  if (!o.png.empty()) ensure_writable_dir(o.png, "--png");
  const MeasurementSet set = read_measurements(o.measurements);
  // The measurement file's config (its task and sampler); --config replaces the sampler
  // section, --set edits either.
  const Config config = layer_config(set.config, o.measurements + " (embedded config)",
                                     config_options.config_path, config_options.overrides);
  const auto start = std::chrono::steady_clock::now();
  Reconstructor reconstructor(
      config, resolve_device(o.device), [&](const std::string&, int64_t done, int64_t total) {
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        spdlog::info("solved {}/{} ({:.1f} s, ETA {:.1f} s)", done, total, s,
                     s / done * (total - done));
      });
  const Reconstruction r =
      reconstructor.run_checkpoint(o.checkpoint, EvalMethod::kWsPrior, set, config.sampler);

  std::string quality;
  torch::Tensor psnr_values, ssim_values;
  if (set.x_true.defined()) {
    psnr_values = psnr(r.x_hat, set.x_true);
    ssim_values = ssim(r.x_hat, set.x_true);
    quality = fmt::format(", PSNR {:.2f} dB, SSIM {:.4f} (mean over images)",
                          psnr_values.mean().item<double>(), ssim_values.mean().item<double>());
  }
  write_h5_atomically(o.out, [&](h5::File& file) {
    file.write_tensor("/x_hat", r.x_hat.contiguous());
    file.set_attr("/", "checkpoint", o.checkpoint);
    file.set_attr("/", "measurements", o.measurements);
    file.set_attr("/", "prior", r.prior);
    file.set_attr("/", "sampler", std::string(enum_name(config.sampler.method)));
    file.set_attr("/", "likelihood", std::string(enum_name(config.sampler.likelihood)));
    file.set_attr("/", "steps", r.steps);
    file.set_attr("/", "lambda", r.lambda.value_or(0.0));
    file.set_attr("/", "lambda_auto", static_cast<int64_t>(r.lambda_search.has_value()));
    file.set_attr("/", "seconds", r.seconds);
    if (psnr_values.defined()) {
      file.write_tensor("/psnr", psnr_values);
      file.write_tensor("/ssim", ssim_values);
    }
  });
  if (!o.png.empty()) {
    std::filesystem::create_directories(o.png);
    write_image_grid(picture_channels(r.x_hat),
                     (std::filesystem::path(o.png) / "x_hat.png").string());
  }
  spdlog::info(
      "{} images, {} sampler, {} likelihood, lambda {:.3g}{}, {} steps: {:.2f} s ({:.3f} "
      "s per image){} -> {}",
      set.size(), enum_name(config.sampler.method), enum_name(config.sampler.likelihood),
      r.lambda.value_or(0.0), r.lambda_search ? " (auto)" : "", r.steps, r.seconds,
      r.seconds / set.size(), quality, o.out);
  return 0;
}

}  // namespace

Command add_solve_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand("solve", "Reconstruct images from measurements with a prior");
  auto o = std::make_shared<SolveOptions>();
  auto config = std::make_shared<ConfigOptions>();
  add_config_options(app, *config);
  app->add_option("--checkpoint", o->checkpoint, "prior checkpoint (.h5)")->required();
  app->add_option("--measurements", o->measurements, "measurement file from `wsdiff simulate`")
      ->required();
  app->add_option("-o,--out", o->out, "reconstruction file (.h5)")->required();
  app->add_option("--png", o->png, "directory for a PNG grid of the reconstructions");
  app->add_option("--device", o->device, "auto, cpu or cuda")->capture_default_str();
  return {app, [=]() { return run_solve(*o, *config); }};
}

}  // namespace wsd::cli
