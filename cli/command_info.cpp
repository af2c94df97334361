#include <torch/torch.h>

#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.hpp"
#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "core/config/config_writer.hpp"
#include "core/model/prior_loader.hpp"
#include "core/util/device.hpp"
#include "core/util/version.hpp"

namespace wsd::cli {
namespace {

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

void print_build_info() {
  std::cout << "wsdiff " << kVersion << "\n"
            << "  libtorch        " << TORCH_VERSION << "\n"
#ifdef WSD_WITH_CUDA
            << "  cuda build      yes (NCCL backend)\n"
#else
            << "  cuda build      no\n"
#endif
#ifdef WSD_WITH_GLOO
            << "  gloo backend    yes\n"
#else
            << "  gloo backend    no\n"
#endif
            << "  gpus visible    " << (cuda_usable() ? torch::cuda::device_count() : 0) << "\n"
            << "  cpu threads     " << torch::get_num_threads() << "\n";
}

std::string noise_detail(const NoiseConfig& noise) {
  std::ostringstream out;
  if (noise.family == NoiseFamily::kGrf || noise.family == NoiseFamily::kMixture) {
    out << ", kernel std " << noise.grf_sigma_min << "-" << noise.grf_sigma_max << " px ("
        << noise.grf_sampling << ")";
  }
  if (noise.family == NoiseFamily::kMixture) out << ", white fraction " << noise.white_fraction;
  if (noise.family == NoiseFamily::kPowerLaw) {
    out << ", exponent " << noise.power_exponent << ", cutoff " << noise.power_cutoff
        << " cycles/px";
  }
  if (noise.family == NoiseFamily::kMeasured) {
    out << ", spectrum " << noise.spectrum_file << ", white fraction "
        << noise.spectrum_white_fraction;
  }
  return out.str();
}

std::string list_of(const std::vector<int>& values) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  out << "]";
  return out.str();
}

// The few settings a user checks first, read from the checkpoint's resolved config.
void print_config_summary(const std::string& yaml) {
  const Config cfg = parse_config(yaml, "checkpoint config");
  std::cout << "  data            " << cfg.data.reader << " " << cfg.data.path << " ("
            << cfg.data.image_size << "x" << cfg.data.image_size << "x" << cfg.data.channels
            << ")\n"
            << "  noise           " << cfg.noise.family << noise_detail(cfg.noise) << "\n"
            << "  model           " << cfg.model.type << ", n_channels " << cfg.model.n_channels
            << ", ch_mults " << list_of(cfg.model.ch_mults) << ", n_blocks " << cfg.model.n_blocks
            << ", " << cfg.model.parameterisation << ", " << cfg.model.schedule << "\n"
            << "  train           batch " << cfg.train.batch_size << ", lr " << cfg.train.lr << ", "
            << cfg.train.steps << " steps"
            << (cfg.data.validation_images > 0
                    ? ", the last " + std::to_string(cfg.data.validation_images) +
                          " training images held out"
                    : std::string(", no images held out"))
            << "\n"
            << "  sampler         " << cfg.sampler.method << ", " << cfg.sampler.steps
            << " steps (what `wsdiff sample` runs by default)\n";
}

// The facts `wsdiff export` recorded about how a shipped prior was trained.
void print_provenance(const std::string& json) {
  const auto p = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!p.is_object()) {
    std::cout << "  provenance      (unreadable)\n";
    return;
  }
  std::cout << "  shipped weights " << p.value("weights", std::string("?")) << " of step "
            << p.value("step", int64_t{0}) << "\n";
  if (p.contains("final_val_loss")) {
    std::cout << "  validation loss " << p["final_val_loss"].get<double>() << " (step "
              << p.value("final_val_step", int64_t{0}) << ")\n";
  }
  if (p.contains("wall_time_s")) {
    const double seconds = p["wall_time_s"].get<double>();
    std::cout << "  training time   " << std::fixed << std::setprecision(1)
              << (seconds >= 3600 ? seconds / 3600.0 : seconds / 60.0)
              << (seconds >= 3600 ? " h" : " min") << std::defaultfloat << "\n";
  }
  std::cout << "  hardware        " << p.value("hardware", std::string("?")) << "\n";
}

void print_checkpoint_info(const std::string& path) {
  const CheckpointSummary s = inspect_checkpoint(path);
  // What solve and sample verify before any work, verified here too: the network the embedded
  // config describes takes every stored tensor (names and shapes) and every value is finite.
  {
    const Checkpoint checkpoint = load_checkpoint(path);
    torch::NoGradGuard no_grad;
    load_prior(checkpoint, path, /*use_ema=*/false, torch::kCPU);
    if (s.has_ema) load_prior(checkpoint, path, /*use_ema=*/true, torch::kCPU);
  }
  std::ostringstream dtypes;
  for (size_t i = 0; i < s.dtypes.size(); ++i) dtypes << (i ? ", " : "") << s.dtypes[i];
  std::cout << "checkpoint      " << path << "\n"
            << "  format          " << kCheckpointFormat << " v" << s.format_version
            << " (written by wsdiff " << s.wsdiff_version << " at " << s.created << ")\n"
            << "  model type      " << s.model_info.type << ", parameterisation "
            << s.model_info.parameterisation_name() << ", score sign " << std::showpos
            << s.model_info.score_sign << std::noshowpos << "\n"
            << "  parameters      " << with_thousands(s.parameter_count) << " in "
            << s.model_tensors << " tensors, dtype " << dtypes.str() << "\n"
            << "  ema weights     " << (s.has_ema ? "yes" : "no") << "\n"
            << "  optimizer state " << (s.has_optimizer ? "yes" : "no") << "\n"
            << "  checksums       "
            << (s.checksums_verified ? "verified for every tensor"
                                     : "none (format v1; 'wsdiff upgrade' adds them)")
            << "\n"
            << "  loads as prior  yes (names, shapes and finite values checked)\n"
            << "  step            " << s.state.step << " (epoch " << s.state.epoch << ", "
            << with_thousands(s.state.images_seen) << " images seen)\n";
  if (!s.config_yaml.empty()) print_config_summary(s.config_yaml);
  if (!s.provenance_json.empty()) print_provenance(s.provenance_json);
}

}  // namespace

Command add_info_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand(
      "info", "Show build facts, summarise a checkpoint, or validate and print a resolved config");
  auto checkpoint = std::make_shared<std::string>();
  auto config = std::make_shared<ConfigOptions>();
  app->add_option("checkpoint", *checkpoint, "checkpoint file (.h5) to summarise");
  add_config_options(app, *config);
  return {app, [=]() {
            if (!checkpoint->empty()) {
              print_checkpoint_info(*checkpoint);
            } else if (!config->config_path.empty() || !config->overrides.empty()) {
              std::cout << to_yaml(load_config(config->config_path, config->overrides));
            } else {
              print_build_info();
            }
            return 0;
          }};
}

}  // namespace wsd::cli
