#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>

#include "cli/command.hpp"
#include "cli/command_noise_fit.hpp"
#include "cli/output_paths.hpp"
#include "core/config/config_loader.hpp"
#include "core/config/config_writer.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "core/io/png_writer.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"
#include "core/util/seeds.hpp"

namespace wsd::cli {
namespace {

struct NoiseCommandOptions {
  int64_t n = 16;
  std::string out;
  std::string png;
  uint64_t seed = 0;
};

// Shows users what their prior's noise looks like: samples, the analytic spectrum, a picture.
int run_noise(const NoiseCommandOptions& o, const ConfigOptions& config_options) {
  const std::vector<NamedPath> inputs = {{"--config", config_options.config_path}};
  refuse_output_over_inputs(o.out, "--out", inputs);
  refuse_output_over_inputs(o.png, "--png", inputs);
  ensure_writable_file(o.out, "--out");
  if (!o.png.empty()) ensure_writable_file(o.png, "--png");
  const Config config = load_config(config_options.config_path, config_options.overrides);
  const StructuredNoise noise(config.noise);
  const int64_t c = config.data.channels, s = config.data.image_size;
  const auto seeds = consecutive_seeds(o.seed, 0, o.n);
  const auto samples = noise.sample_per_image(seeds, c, s, s);
  const auto psd = noise.psd(s, s);
  write_h5_atomically(o.out, [&](h5::File& file) {
    file.write_tensor("/noise", samples.to(torch::kFloat32));
    file.write_tensor("/psd", psd);
    file.set_attr(
        "/psd", "units",
        std::string("E|rfft2_ortho(n)|^2 per frequency; mean over the full grid = pixel variance"));
    file.set_attr("/", "config", to_yaml(config));
    file.set_attr("/", "seed", static_cast<int64_t>(o.seed));
  });
  spdlog::info("{} {} noise samples {}x{}x{} (pixel std {:.3f}) and their power spectrum -> {}",
               o.n, enum_name(config.noise.family), c, s, s, samples.std().item<double>(), o.out);
  if (!o.png.empty()) {
    // Noise is unbounded: scale to +-3 std so the structure, not the clipping, is visible.
    write_image_grid(samples / (3.0 * samples.std()), o.png);
    spdlog::info("grid -> {}", o.png);
  }
  return 0;
}

}  // namespace

Command add_noise_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand(
      "noise", "Draw structured-noise samples and their power spectrum ('noise fit': fit one)");
  auto o = std::make_shared<NoiseCommandOptions>();
  auto config = std::make_shared<ConfigOptions>();
  add_config_options(app, *config);
  app->add_option("-n,--n", o->n, "number of samples")->check(at_least(1))->capture_default_str();
  // Not required() here: `wsdiff noise fit` has an --out of its own.
  app->add_option("-o,--out", o->out, "HDF5 output (/noise, /psd)");
  app->add_option("--png", o->png, "also write a PNG grid of the samples");
  app->add_option("--seed", o->seed, "seed of the first sample; sample i uses seed + i")
      ->capture_default_str();
  const Command fit = add_noise_fit_command(*app);
  return {app, [=]() {
            if (fit.app->parsed()) return fit.run();
            if (o->out.empty()) throw InputError("--out is required (the HDF5 output)");
            return run_noise(*o, *config);
          }};
}

}  // namespace wsd::cli
