#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/command.hpp"
#include "cli/output_paths.hpp"
#include "core/checkpoint/checkpoint.hpp"
#include "core/checkpoint/prior_safetensors.hpp"
#include "core/config/config_loader.hpp"
#include "core/config/config_writer.hpp"
#include "core/network/state_dict.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"

namespace wsd::cli {
namespace {

struct ExportOptions {
  std::string checkpoint;
  std::string out;
  std::string metrics;
  std::string hardware;
  std::vector<std::string> sampler_sets;
  std::string format = "h5";
};

// The embedded config with `sets` applied. Only the sampler section may change: it is what
// `wsdiff sample` and `solve` run by default, while every other section says how the weights
// were trained, which an export must not rewrite.
std::string exported_config(const std::string& yaml, const std::string& name,
                            const std::vector<std::string>& sets) {
  const Config stored = parse_config(yaml, name);
  if (sets.empty()) return yaml;
  for (const auto& set : sets) {
    if (set.rfind("sampler.", 0) != 0) {
      throw InputError("--set " + set +
                       ": export edits only the sampler section (what wsdiff sample and solve "
                       "run by default); the other sections say how the prior was trained");
    }
  }
  return to_yaml(layer_config(stored, name, "", sets));
}

// What a run's metrics.jsonl says about it: the last validation loss and the wall time, summed
// over the segments of a resumed run (each segment's `time_s` restarts at zero).
struct RunHistory {
  double final_val_loss = std::nan("");
  int64_t final_val_step = 0;
  double wall_time_s = 0.0;
};

RunHistory read_history(const std::string& path, int64_t up_to_step) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read metrics file '" + path + "'");
  RunHistory h;
  double segment = 0.0, previous = -1.0;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const std::exception& e) {
      throw InputError(path + ":" + std::to_string(line_no) + ": not a JSON object (" + e.what() +
                       ")");
    }
    const int64_t step = j.value("step", int64_t{0});
    if (step > up_to_step) continue;
    if (j.contains("val_loss") && j["val_loss"].is_number()) {
      h.final_val_loss = j["val_loss"].get<double>();
      h.final_val_step = step;
    }
    if (j.contains("time_s") && j["time_s"].is_number()) {
      const double t = j["time_s"].get<double>();
      if (t < previous) {
        h.wall_time_s += segment;
        segment = 0.0;
      }
      segment = std::max(segment, t);
      previous = t;
    }
  }
  h.wall_time_s += segment;
  return h;
}

std::string this_machine() {
  if (cuda_usable()) return std::to_string(torch::cuda::device_count()) + " CUDA GPU(s)";
  std::string model = "CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return std::to_string(std::thread::hardware_concurrency()) + " cores, " + model;
}

// A shipped prior: the EMA weights as the model, no optimizer state or generator states, and
// the facts of the model card in the file itself.
int run_export(const ExportOptions& o) {
  namespace fs = std::filesystem;
  refuse_output_over_inputs(o.out, "--out",
                            {{"--checkpoint", o.checkpoint}, {"--metrics", o.metrics}});
  ensure_writable_file(o.out, "--out");
  const Checkpoint source = load_checkpoint(o.checkpoint);
  if (source.model_info.type == ModelType::kGaussian) {
    throw InputError("'" + o.checkpoint + "' holds a gaussian prior: it has no EMA to export");
  }
  Checkpoint shipped;
  shipped.config_yaml =
      exported_config(source.config_yaml, o.checkpoint + " (embedded config)", o.sampler_sets);
  shipped.model_info = source.model_info;
  shipped.model = source.ema.empty() ? source.model : source.ema;
  shipped.state.step = source.state.step;
  shipped.state.epoch = source.state.epoch;
  shipped.state.images_seen = source.state.images_seen;
  shipped.measured_noise_power = source.measured_noise_power;  // a shipped prior is one file
  shipped.measured_noise_width = source.measured_noise_width;
  check_finite(shipped.model, o.checkpoint);

  // Exporting a prior again (to change its default sampler) keeps what its file says of the run
  // that trained it; options given now override it.
  const bool reexport = source.ema.empty() && !source.provenance_json.empty();
  nlohmann::json provenance =
      reexport ? nlohmann::json::parse(source.provenance_json, nullptr, false) : nlohmann::json();
  if (!provenance.is_object()) {
    provenance = {{"weights", source.ema.empty() ? "model" : "ema"},
                  {"hardware", o.hardware.empty() ? this_machine() : o.hardware}};
  } else if (!o.hardware.empty()) {
    provenance["hardware"] = o.hardware;
  }
  provenance["step"] = source.state.step;
  provenance["images_seen"] = source.state.images_seen;
  if (!o.metrics.empty()) {
    const RunHistory h = read_history(o.metrics, source.state.step);
    if (std::isfinite(h.final_val_loss)) {
      provenance["final_val_loss"] = h.final_val_loss;
      provenance["final_val_step"] = h.final_val_step;
    }
    provenance["wall_time_s"] = std::round(h.wall_time_s);
  }
  shipped.provenance_json = provenance.dump();
  if (o.format == "safetensors") {
    save_prior_safetensors(shipped, o.out);
  } else {
    save_checkpoint(shipped, o.out);
  }
  spdlog::info("exported {} weights of step {} ({} images seen) -> {} ({:.1f} MB)",
               provenance["weights"].get<std::string>(), source.state.step,
               source.state.images_seen, o.out,
               static_cast<double>(fs::file_size(o.out)) / (1024.0 * 1024.0));
  return 0;
}

}  // namespace

Command add_export_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand(
      "export",
      "Write a training checkpoint's EMA weights as a prior to ship (no optimizer state)");
  auto o = std::make_shared<ExportOptions>();
  app->add_option("--checkpoint", o->checkpoint, "training checkpoint (.h5)")
      ->required()
      ->check(CLI::ExistingFile);
  app->add_option("-o,--out", o->out, "prior to write (.h5, or .safetensors with --format)")
      ->required();
  app->add_option("--format", o->format,
                  "h5: a wsdiff checkpoint; safetensors: the weights under the authors' state-dict "
                  "keys, readable by the Python safetensors package, with wsdiff's metadata")
      ->check(CLI::IsMember({"h5", "safetensors"}))
      ->capture_default_str();
  app->add_option("--metrics", o->metrics,
                  "the run's metrics.jsonl: records the final validation loss and wall time");
  app->add_option("--hardware", o->hardware,
                  "where the run trained (default: a description of this machine, or what an "
                  "exported prior's file already says)");
  app->add_option("--set", o->sampler_sets,
                  "sampler.KEY=VALUE: the sampler the prior runs by default (repeatable); the "
                  "other sections of its config are how it was trained and stay");
  app->footer(
      "Both formats hold the EMA weights (what sampling uses), or the model's when the\n"
      "checkpoint has no EMA (an exported or imported prior). --format safetensors writes a\n"
      "safetensors file whose tensors load with safetensors.torch.load_file into the authors'\n"
      "network, and whose __metadata__ holds: format (\"pt\"), wsdiff.format (\"wsdiff-prior\"),\n"
      "wsdiff.format_version, wsdiff.version, wsdiff.weights (ema or model),\n"
      "wsdiff.model.type, wsdiff.model.parameterisation, wsdiff.model.score_sign,\n"
      "wsdiff.config (the YAML), wsdiff.model_card (the model card JSON) and\n"
      "wsdiff.train_state (step, epoch, images_seen): `wsdiff import --from P.safetensors`\n"
      "turns it back into a checkpoint without a config. A prior of the measured noise family\n"
      "(its spectrum travels in the .h5) exports as h5 only.");
  return {app, [=]() { return run_export(*o); }};
}

}  // namespace wsd::cli
