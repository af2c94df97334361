// `wsdiff bench`: how fast this build generates structured noise, trains, samples and solves
// here. Each benchmark lives beside the code it measures and reports one JSON object (its
// to_json()); this command adds what ran where, prints the object with --json, and otherwise the
// same object as aligned text lines, so the two reports never disagree.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "cli/command.hpp"
#include "core/config/config_loader.hpp"
#include "core/model/network_benchmark.hpp"
#include "core/noise/noise_benchmark.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "core/util/timings.hpp"
#include "core/util/version.hpp"
#include "data/loader_benchmark.hpp"
#include "infer/eval/measurement_set.hpp"
#include "infer/eval/solve_benchmark.hpp"
#include "infer/samplers/sample_benchmark.hpp"
#include "train/distributed/dist_env.hpp"
#include "train/train_bench.hpp"

namespace wsd::cli {
namespace {

using Json = nlohmann::ordered_json;

// The CIFAR-10 image shape the authors' code works at: the reference shape for noise timings.
constexpr int64_t kReferenceChannels = 3, kReferenceSize = 32;

struct BenchOptions {
  std::string what;
  std::string device = "auto";
  std::optional<int64_t> batch;
  std::optional<int64_t> repeats;
  std::optional<int64_t> warmup;
  std::string shape;
  std::optional<std::string> precision;  // default: train.precision
  bool channels_last = false;
  bool cudnn_benchmark = false;
  bool compare = false;
  std::optional<int64_t> steps;
  std::string checkpoint;
  std::string measurements;
  uint64_t seed = 0;
  bool json = false;
};

// "C,H,W" with positive integers.
std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> dims;
  std::stringstream stream(text);
  std::string item;
  const InputError error("--shape '" + text + "' is not C,H,W with positive integers");
  while (std::getline(stream, item, ',')) {
    size_t used = 0;
    int64_t value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      throw error;
    }
    if (used != item.size() || value < 1) throw error;
    dims.push_back(value);
  }
  if (dims.size() != 3 || text.back() == ',') throw error;
  return dims;
}

// ---------------------------------------------------------------------------------------------
// The text report: the JSON object as "label  value" lines.

// "images_per_s" -> "images/s", "batch_ms_median" -> "batch ms median".
std::string label_of(std::string key) {
  for (const auto& [from, to] :
       std::vector<std::pair<std::string, std::string>>{{"_per_s", "/s"}, {"_per_", " per "}}) {
    for (size_t at = key.find(from); at != std::string::npos; at = key.find(from, at + 1)) {
      key.replace(at, from.size(), to);
    }
  }
  std::replace(key.begin(), key.end(), '_', ' ');
  return key;
}

std::string text_of(const Json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) return fmt::format("{:.4g}", value.get<double>());
  if (value.is_array()) {
    std::vector<std::string> parts;
    for (const auto& item : value) parts.push_back(text_of(item));
    constexpr size_t kShown = 8;
    std::string text = "[";
    for (size_t i = 0; i < std::min(parts.size(), kShown); ++i) text += (i ? ", " : "") + parts[i];
    if (parts.size() > kShown) text += fmt::format(", ... ({} values)", parts.size());
    return text + "]";
  }
  if (value.is_object()) {
    std::string text;
    for (const auto& [key, item] : value.items()) {
      text += (text.empty() ? "" : ", ") + key + " " + text_of(item);
    }
    return text;
  }
  return value.dump();
}

void print_text(const Json& report) {
  std::vector<std::pair<std::string, std::string>> lines;
  for (const auto& [key, value] : report.items()) {
    if (key == "what") continue;
    const bool rows = value.is_array() && !value.empty() && value.front().is_object();
    if (!rows) {
      lines.emplace_back(label_of(key), text_of(value));
      continue;
    }
    // One line per row, labelled by its setting.
    for (size_t i = 0; i < value.size(); ++i) {
      Json row = value[i];
      std::string label = fmt::format("{}[{}]", label_of(key), i);
      if (row.contains("setting")) {
        label = row["setting"].get<std::string>();
        row.erase("setting");
      }
      lines.emplace_back(label, text_of(row));
    }
  }
  size_t width = 14;
  for (const auto& line : lines) width = std::max(width, line.first.size());
  std::cout << "wsdiff bench: " << report.value("what", "") << "\n";
  for (const auto& [label, value] : lines) {
    std::cout << fmt::format("  {:<{}} {}\n", label, width, value);
  }
  std::cout << std::flush;
}

// ---------------------------------------------------------------------------------------------
// The benchmarks.

Json run_noise(const BenchOptions& o, const ConfigOptions& config_options, const Config& config,
               const BenchSettings& settings) {
  // Without a config the reference CIFAR-10 shape; a config or a --set of the data shape brings
  // the config's.
  bool shape_from_config = !config_options.config_path.empty();
  for (const auto& set : config_options.overrides) {
    if (set.rfind("data.channels", 0) == 0 || set.rfind("data.image_size", 0) == 0) {
      shape_from_config = true;
    }
  }
  std::vector<int64_t> shape = {kReferenceChannels, kReferenceSize, kReferenceSize};
  if (shape_from_config) {
    shape = {config.data.channels, config.data.image_size, config.data.image_size};
  }
  if (!o.shape.empty()) shape = parse_shape(o.shape);
  spdlog::info("bench noise: {} warm-up + {} timed batches of {}x{}x{}x{} {} noise on {}",
               settings.warmup, settings.repeats, settings.batch, shape[0], shape[1], shape[2],
               enum_name(config.noise.family), settings.device.str());
  return bench_noise({settings, config.noise, shape[0], shape[1], shape[2]}).to_json();
}

// The full trainer step (TrainStep) for one setting, or for every comparable setting with
// --compare. Under torchrun/SLURM the step includes the bucketed gradient allreduce.
Json run_train(const BenchOptions& o, const Config& config, const BenchSettings& settings,
               const NetworkSettings& network, bool& quiet) {
  TrainBenchRequest request;
  request.settings = settings;
  request.config = config;
  if (o.compare) {
    request.variants = comparison_variants(settings.device);
  } else {
    request.variants = {
        {network.bf16, network.channels_last, o.cudnn_benchmark || config.train.cudnn_benchmark}};
  }
  const DistEnv env = read_dist_env();
  const auto communicator = make_communicator(
      env, settings.device,
      std::chrono::milliseconds(static_cast<int64_t>(config.train.collective_timeout_s * 1000)));
  spdlog::info("bench train: {} setting(s), {} warm-up + {} timed steps of {} x {} x {} on {}",
               request.variants.size(), settings.warmup, settings.repeats, settings.batch,
               config.train.grad_accum, communicator->world_size(), settings.device.str());
  // Ranks other than 0 of a distributed benchmark print nothing.
  quiet = env.rank != 0;
  return bench_training(request, communicator).to_json();
}

Json run_solve(const BenchOptions& o, const ConfigOptions& config_options,
               const BenchSettings& settings) {
  if (o.checkpoint.empty() || o.measurements.empty()) {
    throw InputError("--what solve needs --checkpoint and --measurements");
  }
  const MeasurementSet set = read_measurements(o.measurements);
  const Config config = layer_config(set.config, o.measurements + " (embedded config)",
                                     config_options.config_path, config_options.overrides);
  spdlog::info("bench solve: {} warm-up + {} timed solves of {} measurements of {} on {}",
               settings.warmup, settings.repeats, settings.batch, o.measurements,
               settings.device.str());
  return bench_solve({settings, config, o.checkpoint, o.measurements, set}).to_json();
}

void check_option_scope(const BenchOptions& o) {
  const std::string& w = o.what;
  static const std::vector<std::string> kNames = {"noise",  "network", "train",
                                                  "sample", "data",    "solve"};
  if (std::find(kNames.begin(), kNames.end(), w) == kNames.end()) {
    throw InputError("--what '" + w + "' is not one of noise, network, train, sample, data, solve");
  }
  const bool network_level = w == "network" || w == "train" || w == "sample";
  if (w != "noise" && !o.shape.empty()) {
    throw InputError(
        "--shape applies to --what noise; the network uses model.image_channels and "
        "model.image_size");
  }
  if (!network_level && (o.precision || o.channels_last)) {
    throw InputError("--precision and --channels-last apply to --what network, train and sample");
  }
  if (w != "sample" && o.steps) {
    throw InputError("--steps applies to --what sample (solve: --set sampler.steps=N)");
  }
  if (w != "train" && (o.compare || o.cudnn_benchmark)) {
    throw InputError("--compare and --cudnn-benchmark apply to --what train");
  }
  if (w != "solve" && (!o.checkpoint.empty() || !o.measurements.empty())) {
    throw InputError("--checkpoint and --measurements apply to --what solve");
  }
}

int run_bench(const BenchOptions& o, const ConfigOptions& config_options) {
  // Defaults: what is timed is cheap for noise, a full trajectory for sampling, a whole batch of
  // posterior samples for solving.
  static const std::map<std::string, std::vector<int64_t>> kDefaults = {
      {"noise", {128, 5, 20}}, {"network", {0, 3, 10}}, {"train", {0, 2, 5}},
      {"sample", {16, 1, 3}},  {"data", {0, 2, 20}},    {"solve", {16, 0, 1}}};
  check_option_scope(o);
  const std::vector<int64_t>& d = kDefaults.at(o.what);
  const Config config = load_config(config_options.config_path, config_options.overrides);
  BenchSettings settings;
  settings.device = resolve_device(o.device);
  settings.batch = o.batch.value_or(d[0] > 0 ? d[0] : config.train.batch_size);
  settings.warmup = o.warmup.value_or(d[1]);
  settings.repeats = o.repeats.value_or(d[2]);
  settings.seed = o.seed;
  settings.check();

  NetworkSettings network;
  const std::string precision =
      o.precision.value_or(std::string(enum_name(config.train.precision)));
  if (precision != "fp32" && precision != "bf16") {
    throw InputError("--precision '" + precision + "' is not one of fp32, bf16");
  }
  network.bf16 = precision == "bf16";
  network.channels_last = o.channels_last || config.train.channels_last;
  const bool network_level = o.what == "network" || o.what == "train" || o.what == "sample";
  if (network_level && !o.compare) network.check(settings.device);

  Json report;
  report["what"] = o.what;
  report["wsdiff_version"] = kVersion;
  report["torch_version"] =
      fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
  report["device"] = settings.device.str();
  report["torch_threads"] = torch::get_num_threads();
  std::string source =
      config_options.config_path.empty() ? "built-in defaults" : config_options.config_path;
  if (o.what == "solve") {
    source =
        o.measurements + " (embedded config)" +
        (config_options.config_path.empty() ? "" : ", sampler of " + config_options.config_path);
  }
  report["config"] = source;
  report["overrides"] = config_options.overrides;
  report["batch"] = settings.batch;
  report["warmup"] = settings.warmup;
  report["repeats"] = settings.repeats;
  report["seed"] = settings.seed;

  bool quiet = false;
  Json result;
  if (o.what == "noise") {
    result = run_noise(o, config_options, config, settings);
  } else if (o.what == "network") {
    spdlog::info("bench network: {} warm-up + {} timed training steps of batch {} on {}",
                 settings.warmup, settings.repeats, settings.batch, settings.device.str());
    result =
        bench_network({settings, network, config.model, config.noise, config.train.lr}).to_json();
  } else if (o.what == "train") {
    result = run_train(o, config, settings, network, quiet);
  } else if (o.what == "sample") {
    const int64_t steps = o.steps.value_or(20);
    spdlog::info("bench sample: {} warm-up + {} timed {}-step Euler trajectories of batch {} on {}",
                 settings.warmup, settings.repeats, steps, settings.batch, settings.device.str());
    result = bench_sample({settings, network, config.model, config.noise, steps}).to_json();
  } else if (o.what == "data") {
    result =
        bench_loader({config, settings.device, settings.batch, settings.warmup, settings.repeats})
            .to_json();
  } else {
    result = run_solve(o, config_options, settings);
  }
  report.update(result);
  if (quiet) return 0;
  if (o.json) {
    std::cout << report.dump(2) << std::endl;
  } else {
    print_text(report);
  }
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand(
      "bench", "Measure speed of noise generation, training, sampling and solving");
  auto o = std::make_shared<BenchOptions>();
  auto config = std::make_shared<ConfigOptions>();
  add_config_options(app, *config);
  app->add_option("--what", o->what,
                  "noise: StructuredNoise::sample of a batch; network: the network's training "
                  "arithmetic (forward, loss, backward, Adam); train: the full trainer step "
                  "(micro-batches, gradient allreduce under torchrun, clip, Adam, EMA); sample: "
                  "Euler sampling steps; data: the config's data loader (images/s; --repeats "
                  "timed batches); solve: posterior sampling with --checkpoint on the first "
                  "--batch measurements of --measurements (s per image with PSNR and SSIM; the "
                  "file's sampler, or --config's, edited by --set)")
      ->required();
  app->add_option("--device", o->device, "auto, cpu or cuda")->capture_default_str();
  app->add_option("--batch", o->batch,
                  "batch size, per rank for train (default: noise 128, network, train and data "
                  "train.batch_size, sample and solve 16)");
  app->add_option("--repeats", o->repeats,
                  "timed repetitions; median and min are reported (default: noise 20, "
                  "network 10, train 5, sample 3 trajectories, data 20 batches, solve 1)");
  app->add_option("--warmup", o->warmup,
                  "untimed calls first (default: noise 5, network 3, train 2, sample 1, data 2 "
                  "batches, solve 0)");
  app->add_option("--shape", o->shape,
                  "noise only: C,H,W of each sample (default: 3,32,32, or data.channels and "
                  "data.image_size when --config or --set data.* gives them)");
  app->add_option("--precision", o->precision,
                  "network, train and sample: fp32, or bf16 autocast on CUDA (default: "
                  "train.precision)");
  app->add_flag("--channels-last", o->channels_last,
                "network, train and sample: NHWC weights and inputs (default: "
                "train.channels_last)");
  app->add_flag("--cudnn-benchmark", o->cudnn_benchmark,
                "train only: let cuDNN pick convolution algorithms by timing them (default: "
                "train.cudnn_benchmark)");
  app->add_flag("--compare", o->compare,
                "train only: time every setting worth comparing on the device (CUDA: fp32/bf16 x "
                "contiguous/channels-last x cuDNN benchmark off/on; CPU: fp32 x both layouts)");
  app->add_option("--steps", o->steps,
                  "sample only: Euler steps per timed trajectory (default 20); results are also "
                  "extrapolated to 1000 steps");
  app->add_option("--checkpoint", o->checkpoint, "solve only: the prior checkpoint (.h5)");
  app->add_option("--measurements", o->measurements,
                  "solve only: a measurement file from `wsdiff simulate`, with ground truth");
  app->add_option("--seed", o->seed, "seed of the weights, inputs and noise")
      ->capture_default_str();
  app->add_flag("--json", o->json, "print one JSON object instead of the text report");
  return {app, [=]() { return run_bench(*o, *config); }};
}

}  // namespace wsd::cli
