#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "cli/command.hpp"
#include "cli/output_paths.hpp"
#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "core/io/png_writer.hpp"
#include "core/model/prior_loader.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "infer/samplers/trajectory.hpp"

namespace wsd::cli {
namespace {

struct SampleOptions {
  std::string checkpoint;
  std::string out;
  int64_t n = 16;
  std::optional<int64_t> steps;  // default: sampler.steps of the checkpoint's config
  std::optional<uint64_t> seed;  // default: sampler.seed
  std::string device = "auto";
  bool raw_weights = false;
};

// The samples are kept in memory until written (twice while they are joined): refuse an --n
// whose samples would not fit in half of the machine's memory, before any compute.
void check_sample_memory(int64_t n, int64_t channels, int64_t size) {
  const double bytes = 2.0 * static_cast<double>(n) * channels * size * size * sizeof(float);
  const double physical =
      static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  if (physical > 0 && bytes > 0.5 * physical) {
    throw InputError(fmt::format(
        "--n {}: {} samples of {}x{}x{} need about {:.1f} GiB, more than half of this machine's "
        "{:.1f} GiB; draw them in several runs (--seed offsets them)",
        n, n, channels, size, size, bytes / (1 << 30), physical / (1 << 30)));
  }
}

int run_sample(const SampleOptions& o, const ConfigOptions& config_options) {
  const std::vector<NamedPath> inputs = {{"--checkpoint", o.checkpoint},
                                         {"--config", config_options.config_path}};
  for (const char* name : {"samples.h5", "samples.png"}) {
    refuse_output_over_inputs((std::filesystem::path(o.out) / name).string(), "--out", inputs);
  }
  const Checkpoint checkpoint = load_checkpoint(o.checkpoint);
  // --set edits the checkpoint's own config; --config replaces its sampler section.
  const std::string stored_name = o.checkpoint + " (embedded config)";
  const Config config = layer_config(parse_config(checkpoint.config_yaml, stored_name), stored_name,
                                     config_options.config_path, config_options.overrides);
  const uint64_t first_seed = o.seed.value_or(config.sampler.seed);
  ensure_writable_dir(o.out, "--out");
  check_sample_memory(o.n, config.model.image_channels, config.model.image_size);
  const torch::Device device = resolve_device(o.device);
  // Nothing here needs autograd: InferenceMode also skips its bookkeeping (faster than
  // NoGradGuard, see infer/solve/posterior_solver.cpp).
  c10::InferenceMode inference;
  const std::unique_ptr<Prior> prior = load_prior(checkpoint, o.checkpoint, !o.raw_weights, device);
  SamplerConfig sampler = config.sampler;
  sampler.steps = static_cast<int>(o.steps.value_or(config.sampler.steps));
  const int64_t steps = sampler.steps;
  const int64_t c = config.model.image_channels, s = config.model.image_size;
  if (sampler.clamp_x0) {
    spdlog::warn("sampler.clamp_x0: the Tweedie estimate is clamped to [-1, 1] at every step");
  }
  const auto start = std::chrono::steady_clock::now();
  const int64_t report = std::max<int64_t>(1, steps / (o.n > sampler.batch_size ? 2 : 10));
  const SampleProgress progress = [&](int64_t batch, int64_t batches, int64_t step, int64_t total) {
    if (step % report != 0 && step != total) return;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double done =
        static_cast<double>((batch - 1) * total + step) / static_cast<double>(batches * total);
    spdlog::info("sampling batch {}/{}, step {}/{} ({:.1f} s, ETA {:.1f} s)", batch, batches, step,
                 total, seconds, seconds / done * (1.0 - done));
  };
  const std::string setting = "unconditional sampling from '" + o.checkpoint + "', " +
                              std::to_string(steps) + " " + std::string(enum_name(sampler.method)) +
                              " steps (try more --steps, or check the prior with wsdiff info)";
  // sampler.batch_size images at a time, image i from its own seed: results depend neither on
  // --n nor on the batch size, and memory stays bounded for thousands of samples.
  const auto x =
      sample_prior(*prior, sampler, {c, s, s}, o.n, first_seed, device, setting, progress);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::filesystem::create_directories(o.out);
  const std::string h5_path = (std::filesystem::path(o.out) / "samples.h5").string();
  write_h5_atomically(h5_path, [&](h5::File& file) {
    file.write_tensor("/samples", x.to(torch::kFloat32));
    file.set_attr("/", "checkpoint", o.checkpoint);
    file.set_attr("/", "steps", steps);
    file.set_attr("/", "seed", static_cast<int64_t>(first_seed));
    file.set_attr("/", "sampler", std::string(enum_name(config.sampler.method)));
    file.set_attr("/", "ema", static_cast<int64_t>(!o.raw_weights));
    file.set_attr("/", "prior", prior->describe());
    file.set_attr("/", "clamp_x0", static_cast<int64_t>(config.sampler.clamp_x0));
  });
  const std::string png_path = (std::filesystem::path(o.out) / "samples.png").string();
  ImageGridOptions layout;
  layout.columns = std::min<int64_t>(o.n, 16);
  write_image_grid(x.slice(0, 0, std::min<int64_t>(o.n, 256)), png_path, layout);
  spdlog::info("{} samples from {}, {} {} steps, {:.2f} s ({:.3f} s per image): {} and {}", o.n,
               prior->describe(), steps, enum_name(config.sampler.method), seconds, seconds / o.n,
               h5_path, png_path);
  return 0;
}

}  // namespace

Command add_sample_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand("sample", "Draw unconditional samples from a trained prior");
  auto o = std::make_shared<SampleOptions>();
  auto config = std::make_shared<ConfigOptions>();
  add_config_options(app, *config);
  app->add_option("--checkpoint", o->checkpoint, "checkpoint (.h5)")->required();
  app->add_option("-o,--out", o->out, "output directory (samples.h5, samples.png)")->required();
  app->add_option("-n,--n", o->n, "number of samples (1 to 1,000,000)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}))
      ->capture_default_str();
  app->add_option("--steps", o->steps,
                  "ODE steps, 1 to 100,000 (default: sampler.steps of the checkpoint)")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  app->add_option("--seed", o->seed,
                  "seed of the first image; image i uses seed + i (default: sampler.seed)");
  app->add_option("--device", o->device, "auto, cpu or cuda")->capture_default_str();
  app->add_flag("--raw-weights", o->raw_weights, "use the raw weights instead of the EMA weights");
  return {app, [=]() { return run_sample(*o, *config); }};
}

}  // namespace wsd::cli
