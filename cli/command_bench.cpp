// `wsdiff bench`: how fast this build generates structured noise, trains and samples here.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <type_traits>
#include <utility>
#include <vector>

#include "cli/command.hpp"
#include "core/config/config_loader.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "core/util/version.hpp"
#include "data/loader_benchmark.hpp"
#include "infer/bench/benchmark.hpp"
#include "train/distributed/dist_env.hpp"
#include "train/train_bench.hpp"

namespace wsd::cli {
namespace {

using nlohmann::json;

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
  uint64_t seed = 0;
  bool json = false;
};

// Per-benchmark defaults: what is timed is cheap for noise, a full trajectory for sampling.
struct Defaults {
  int64_t batch, warmup, repeats;
};

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

template <typename T>
std::string list(const std::vector<T>& values) {
  std::vector<std::string> parts;
  for (const auto& v : values) {
    if constexpr (std::is_same_v<T, bool>) {
      parts.push_back(v ? "true" : "false");
    } else {
      parts.push_back(std::to_string(v));
    }
  }
  return "[" + join(parts, ",") + "]";
}

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

std::string noise_summary(const NoiseConfig& n) {
  std::string s(enum_name(n.family));
  if (n.family == NoiseFamily::kGrf || n.family == NoiseFamily::kMixture) {
    s += fmt::format(", std {}-{} px {}", n.grf_sigma_min, n.grf_sigma_max,
                     enum_name(n.grf_sampling));
    if (n.anisotropic) s += ", anisotropic";
    if (n.rotate) s += ", rotated";
  }
  if (n.family == NoiseFamily::kMixture) s += fmt::format(", white fraction {}", n.white_fraction);
  if (n.family == NoiseFamily::kPowerLaw) {
    s += fmt::format(", exponent {}, cutoff {} cycles/px", n.power_exponent, n.power_cutoff);
  }
  return s + fmt::format(", {}, {}", enum_name(n.channel_mode), enum_name(n.normalisation));
}

json noise_json(const NoiseConfig& n) {
  return {{"family", std::string(enum_name(n.family))},
          {"grf_sigma_min", n.grf_sigma_min},
          {"grf_sigma_max", n.grf_sigma_max},
          {"grf_sampling", std::string(enum_name(n.grf_sampling))},
          {"anisotropic", n.anisotropic},
          {"rotate", n.rotate},
          {"channel_mode", std::string(enum_name(n.channel_mode))},
          {"normalisation", std::string(enum_name(n.normalisation))}};
}

std::string model_summary(const ModelConfig& m) {
  return fmt::format("{} {}x{}x{}, n_channels {}, ch_mults {}, is_attn {}, n_blocks {}, {}",
                     enum_name(m.type), m.image_channels, m.image_size, m.image_size, m.n_channels,
                     list(m.ch_mults), list(m.is_attn), m.n_blocks,
                     m.process == ProcessType::kFlow ? std::string("flow")
                                                     : std::string(enum_name(m.parameterisation)));
}

json model_json(const ModelConfig& m) {
  return {{"type", std::string(enum_name(m.type))},
          {"image_channels", m.image_channels},
          {"image_size", m.image_size},
          {"n_channels", m.n_channels},
          {"ch_mults", m.ch_mults},
          {"is_attn", m.is_attn},
          {"n_blocks", m.n_blocks},
          {"process", std::string(enum_name(m.process))},
          {"parameterisation", std::string(enum_name(m.parameterisation))}};
}

// The report: one JSON object, or aligned "key  value" lines, both on stdout.
class Report {
 public:
  void line(const std::string& key, const std::string& value) { lines_.emplace_back(key, value); }
  json& data() { return data_; }

  // Ranks other than 0 of a distributed benchmark print nothing.
  void quiet() { quiet_ = true; }

  void print(bool as_json, const std::string& what) const {
    if (quiet_) return;
    if (as_json) {
      std::cout << data_.dump(2) << std::endl;
      return;
    }
    std::cout << "wsdiff bench: " << what << "\n";
    size_t width = 14;
    for (const auto& line : lines_) width = std::max(width, line.first.size());
    for (const auto& [key, value] : lines_) {
      std::cout << fmt::format("  {:<{}} {}\n", key, width, value);
    }
    std::cout << std::flush;
  }

 private:
  std::vector<std::pair<std::string, std::string>> lines_;
  json data_ = json::object();
  bool quiet_ = false;
};

void add_timings(Report& r, const std::string& prefix, const Timings& t) {
  r.data()[prefix + "_ms_median"] = t.median() * 1e3;
  r.data()[prefix + "_ms_min"] = t.min() * 1e3;
  std::vector<double> ms;
  for (double s : t.seconds) ms.push_back(s * 1e3);
  r.data()[prefix + "_ms_all"] = ms;
}

std::string rate(double per_s) {
  return per_s >= 100 ? fmt::format("{:.0f}", per_s) : fmt::format("{:.3g}", per_s);
}

// The full trainer step (TrainStep) for one setting, or for every comparable setting with
// --compare. Under torchrun/SLURM the step includes the bucketed gradient allreduce.
void run_train_bench(const BenchOptions& o, const Config& config, const BenchSettings& settings,
                     const NetworkSettings& network, Report& r) {
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
  const TrainBenchResult result = bench_training(request, communicator);
  r.line("parameters", std::to_string(result.parameters));
  r.line("global batch",
         fmt::format("{} = {} per rank x {} accumulation x {} rank(s)", result.global_batch,
                     settings.batch, config.train.grad_accum, result.world_size));
  r.line("step",
         "t, noise, forward, loss, backward, " +
             (result.world_size > 1 ? fmt::format("{} allreduce bucket(s), ", result.buckets)
                                    : std::string()) +
             "clip, Adam, EMA (no data loading)");
  r.data()["parameters"] = result.parameters;
  r.data()["global_batch"] = result.global_batch;
  r.data()["world_size"] = result.world_size;
  r.data()["grad_accum"] = config.train.grad_accum;
  r.data()["buckets"] = result.buckets;
  json rows = json::array();
  for (const auto& row : result.rows) {
    r.line(row.variant.name(),
           fmt::format("{} images/s ({:.2f} ms median, {:.2f} ms min)", rate(row.images_per_s),
                       row.per_step.median() * 1e3, row.per_step.min() * 1e3));
    json j = {{"precision", row.variant.bf16 ? "bf16" : "fp32"},
              {"channels_last", row.variant.channels_last},
              {"cudnn_benchmark", row.variant.cudnn_benchmark},
              {"images_per_s", row.images_per_s},
              {"loss", row.last_loss},
              {"step_ms_median", row.per_step.median() * 1e3},
              {"step_ms_min", row.per_step.min() * 1e3}};
    rows.push_back(j);
  }
  r.data()["variants"] = rows;
  if (result.rows.size() == 1) r.data()["images_per_s"] = result.rows.front().images_per_s;
  if (env.rank != 0) r.quiet();
}

int run_bench(const BenchOptions& o, const ConfigOptions& config_options) {
  static const std::map<std::string, Defaults> kDefaults = {{"noise", {128, 5, 20}},
                                                            {"network", {0, 3, 10}},
                                                            {"train", {0, 2, 5}},
                                                            {"sample", {16, 1, 3}},
                                                            {"data", {0, 2, 20}}};
  const auto found = kDefaults.find(o.what);
  if (found == kDefaults.end()) {
    throw InputError("--what '" + o.what + "' is not one of noise, network, train, sample, data");
  }
  const bool noise_only = o.what == "noise", sample_only = o.what == "sample";
  const bool data_only = o.what == "data";
  if (!noise_only && !o.shape.empty()) {
    throw InputError(
        "--shape applies to --what noise; the network uses model.image_channels "
        "and model.image_size");
  }
  if ((noise_only || data_only) && (o.precision || o.channels_last)) {
    throw InputError("--precision and --channels-last apply to --what network and sample");
  }
  if (!sample_only && o.steps) throw InputError("--steps applies to --what sample");
  const bool train_step = o.what == "train";
  if (!train_step && (o.compare || o.cudnn_benchmark)) {
    throw InputError("--compare and --cudnn-benchmark apply to --what train");
  }

  const Config config = load_config(config_options.config_path, config_options.overrides);
  const torch::Device device = resolve_device(o.device);
  const Defaults& d = found->second;
  BenchSettings settings;
  settings.device = device;
  settings.batch = o.batch.value_or(d.batch > 0 ? d.batch : config.train.batch_size);
  settings.warmup = o.warmup.value_or(d.warmup);
  settings.repeats = o.repeats.value_or(d.repeats);
  settings.seed = o.seed;
  if (settings.batch < 1) throw InputError("--batch must be at least 1");
  if (settings.repeats < 1) throw InputError("--repeats must be at least 1");
  if (settings.warmup < 0) throw InputError("--warmup must not be negative");

  NetworkSettings network;
  const std::string precision =
      o.precision.value_or(std::string(enum_name(config.train.precision)));
  if (precision != "fp32" && precision != "bf16") {
    throw InputError("--precision '" + precision + "' is not one of fp32, bf16");
  }
  network.bf16 = precision == "bf16";
  network.channels_last = o.channels_last || config.train.channels_last;
  if (!noise_only && !data_only && network.bf16 && !device.is_cuda() && !o.compare) {
    throw InputError("--precision bf16 (autocast) needs a CUDA device, not " + device.str() +
                     "; use --precision fp32");
  }

  Report r;
  const std::string source = config_options.config_path.empty() ? std::string("built-in defaults")
                                                                : config_options.config_path;
  const std::string source_line =
      config_options.overrides.empty()
          ? source
          : fmt::format("{} + {} --set", source, config_options.overrides.size());
  r.data()["what"] = o.what;
  r.data()["wsdiff_version"] = kVersion;
  r.data()["torch_version"] =
      fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
  r.data()["device"] = device.str();
  r.data()["torch_threads"] = torch::get_num_threads();
  r.data()["config"] =
      config_options.config_path.empty() ? json(nullptr) : json(config_options.config_path);
  r.data()["overrides"] = config_options.overrides;
  r.data()["batch"] = settings.batch;
  r.data()["warmup"] = settings.warmup;
  r.data()["repeats"] = settings.repeats;
  r.data()["seed"] = settings.seed;
  r.line("device", fmt::format("{} ({} torch threads)", device.str(), torch::get_num_threads()));
  r.line("config", source_line);
  r.line("repeats", fmt::format("{} timed, {} warm-up, seed {}", settings.repeats, settings.warmup,
                                settings.seed));

  if (data_only) {
    const LoaderBenchResult result =
        bench_loader({config, device, settings.batch, settings.warmup, settings.repeats});
    r.line("data", result.dataset);
    r.line("loader", fmt::format("{} worker(s), prefetch {}, fit {}", config.data.workers,
                                 config.data.prefetch, enum_name(config.data.fit)));
    r.line("timed", fmt::format("{} images in {:.3f} s", result.images, result.seconds));
    r.line("throughput", rate(result.images_per_s) + " images/s");
    r.data()["dataset"] = result.dataset;
    r.data()["workers"] = config.data.workers;
    r.data()["images"] = result.images;
    r.data()["seconds"] = result.seconds;
    r.data()["images_per_s"] = result.images_per_s;
    r.data()["skipped_samples"] = result.skipped;
    r.print(o.json, o.what);
    return 0;
  }
  if (noise_only) {
    // Without a config the reference CIFAR-10 shape; a config or a --set of the data shape
    // brings the config's.
    bool shape_from_config = !config_options.config_path.empty();
    for (const auto& set : config_options.overrides) {
      if (set.rfind("data.channels", 0) == 0 || set.rfind("data.image_size", 0) == 0) {
        shape_from_config = true;
      }
    }
    std::vector<int64_t> shape = {kReferenceChannels, kReferenceSize, kReferenceSize};
    if (shape_from_config)
      shape = {config.data.channels, config.data.image_size, config.data.image_size};
    if (!o.shape.empty()) shape = parse_shape(o.shape);
    NoiseBenchRequest request{settings, config.noise, shape[0], shape[1], shape[2]};
    spdlog::info("bench noise: {} warm-up + {} timed batches of {}x{}x{}x{} {} noise on {}",
                 settings.warmup, settings.repeats, settings.batch, shape[0], shape[1], shape[2],
                 enum_name(config.noise.family), device.str());
    const NoiseBenchResult result = bench_noise(request);
    r.line("noise", noise_summary(config.noise));
    r.line("batch", fmt::format("{} x {} x {} x {} (float32)", settings.batch, shape[0], shape[1],
                                shape[2]));
    r.line("per batch", fmt::format("{:.3f} ms median, {:.3f} ms min",
                                    result.per_batch.median() * 1e3, result.per_batch.min() * 1e3));
    r.line("throughput", rate(result.samples_per_s) + " samples/s");
    r.data()["noise"] = noise_json(config.noise);
    r.data()["shape"] = {settings.batch, shape[0], shape[1], shape[2]};
    add_timings(r, "batch", result.per_batch);
    r.data()["samples_per_s"] = result.samples_per_s;
  } else {
    r.line("model", model_summary(config.model));
    r.line("noise", noise_summary(config.noise));
    r.line("precision",
           fmt::format("{}{}", precision, network.channels_last ? ", channels-last" : ""));
    r.data()["model"] = model_json(config.model);
    r.data()["noise"] = noise_json(config.noise);
    r.data()["precision"] = precision;
    r.data()["channels_last"] = network.channels_last;
  }

  if (o.what == "network") {
    TrainStepBenchRequest request{settings, network, config.model, config.noise, config.train.lr};
    spdlog::info("bench network: {} warm-up + {} timed training steps of batch {} on {}",
                 settings.warmup, settings.repeats, settings.batch, device.str());
    const TrainStepBenchResult result = bench_train_step(request);
    r.line("parameters", std::to_string(result.parameters));
    r.line("batch", fmt::format("{} x {} x {} x {}", settings.batch, config.model.image_channels,
                                config.model.image_size, config.model.image_size));
    r.line("step", "t, noise, forward, loss, backward, Adam (no loader, reduction, clip, EMA)");
    r.line("per step", fmt::format("{:.2f} ms median, {:.2f} ms min",
                                   result.per_step.median() * 1e3, result.per_step.min() * 1e3));
    r.line("throughput",
           fmt::format("{} images/s (best {})", rate(result.images_per_s),
                       rate(static_cast<double>(settings.batch) / result.per_step.min())));
    r.data()["parameters"] = result.parameters;
    add_timings(r, "step", result.per_step);
    r.data()["images_per_s"] = result.images_per_s;
    r.data()["images_per_s_best"] = static_cast<double>(settings.batch) / result.per_step.min();
    r.data()["loss"] = result.last_loss;
  } else if (train_step) {
    run_train_bench(o, config, settings, network, r);
  } else if (sample_only) {
    const int64_t steps = o.steps.value_or(20);
    if (steps < 1) throw InputError("--steps must be at least 1");
    SampleBenchRequest request{settings, network, config.model, config.noise, steps};
    spdlog::info("bench sample: {} warm-up + {} timed {}-step Euler trajectories of batch {} on {}",
                 settings.warmup, settings.repeats, steps, settings.batch, device.str());
    const SampleBenchResult result = bench_sample(request);
    const double per_image_1000 = result.seconds_per_step * 1000.0 / settings.batch;
    r.line("parameters", std::to_string(result.parameters));
    r.line("batch", fmt::format("{} x {} x {} x {}, {} Euler steps", settings.batch,
                                config.model.image_channels, config.model.image_size,
                                config.model.image_size, steps));
    r.line("per step",
           fmt::format("{:.4f} s (batch of {})", result.seconds_per_step, settings.batch));
    r.line("per image", fmt::format("{:.4f} s for {} steps, {:.3f} s for 1000 steps",
                                    result.seconds_per_image, steps, per_image_1000));
    r.line("per batch", fmt::format("{:.2f} s for 1000 steps", result.seconds_per_step * 1000.0));
    r.data()["steps"] = steps;
    r.data()["parameters"] = result.parameters;
    add_timings(r, "trajectory", result.per_trajectory);
    r.data()["s_per_step"] = result.seconds_per_step;
    r.data()["s_per_image"] = result.seconds_per_image;
    r.data()["s_per_image_1000_steps"] = per_image_1000;
    r.data()["s_per_batch_1000_steps"] = result.seconds_per_step * 1000.0;
  }
  r.print(o.json, o.what);
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& root, const GlobalOptions&) {
  auto* app =
      root.add_subcommand("bench", "Measure speed of noise generation, training and sampling");
  auto o = std::make_shared<BenchOptions>();
  auto config = std::make_shared<ConfigOptions>();
  add_config_options(app, *config);
  app->add_option("--what", o->what,
                  "noise: StructuredNoise::sample of a batch; network: the network's training "
                  "arithmetic (forward, loss, backward, Adam); train: the full trainer step "
                  "(micro-batches, gradient allreduce under torchrun, clip, Adam, EMA); sample: "
                  "Euler sampling steps; data: the config's data loader (images/s; --repeats "
                  "timed batches)")
      ->required();
  app->add_option("--device", o->device, "auto, cpu or cuda")->capture_default_str();
  app->add_option("--batch", o->batch,
                  "batch size, per rank for train (default: noise 128, network, train and data "
                  "train.batch_size, sample 16)");
  app->add_option("--repeats", o->repeats,
                  "timed repetitions; median and min are reported (default: noise 20, "
                  "network 10, train 5, sample 3 trajectories, data 20 batches)");
  app->add_option("--warmup", o->warmup,
                  "untimed calls first (default: noise 5, network 3, train 2, sample 1, data 2 "
                  "batches)");
  app->add_option("--shape", o->shape,
                  "noise only: C,H,W of each sample (default: 3,32,32, or data.channels and "
                  "data.image_size when --config or --set data.* gives them)");
  app->add_option("--precision", o->precision,
                  "network and sample: fp32, or bf16 autocast on CUDA (default: train.precision)");
  app->add_flag("--channels-last", o->channels_last,
                "network and sample: NHWC weights and inputs (default: train.channels_last)");
  app->add_flag("--cudnn-benchmark", o->cudnn_benchmark,
                "train only: let cuDNN pick convolution algorithms by timing them (default: "
                "train.cudnn_benchmark)");
  app->add_flag("--compare", o->compare,
                "train only: time every setting worth comparing on the device (CUDA: fp32/bf16 x "
                "contiguous/channels-last x cuDNN benchmark off/on; CPU: fp32 x both layouts)");
  app->add_option("--steps", o->steps,
                  "sample only: Euler steps per timed trajectory (default 20); results are also "
                  "extrapolated to 1000 steps");
  app->add_option("--seed", o->seed, "seed of the weights, inputs and noise")
      ->capture_default_str();
  app->add_flag("--json", o->json, "print one JSON object instead of the text report");
  return {app, [=]() { return run_bench(*o, *config); }};
}

}  // namespace wsd::cli
