#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>

#include "cli/command.hpp"
#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "core/io/h5_file.hpp"
#include "core/model/score_model.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "core/util/shape_text.hpp"

namespace wsd::cli {
namespace {

struct PredictOptions {
  std::string checkpoint;
  std::string input;
  std::string out;
  std::string device = "cpu";
  bool ema = false;
};

// One network evaluation on stored inputs: the diagnostic that compares implementations.
int run_predict(const PredictOptions& o) {
  namespace fs = std::filesystem;
  if (fs::exists(o.out) && fs::exists(o.input) && fs::equivalent(o.out, o.input)) {
    throw InputError("--out '" + o.out + "' is the input file; writing it would destroy /x and /t");
  }
  const Checkpoint checkpoint = load_checkpoint(o.checkpoint);
  torch::Tensor x, t;
  {
    const h5::File in = h5::File::open_read(o.input);
    for (const char* name : {"/x", "/t"}) {
      if (!in.exists(name)) throw InputError("'" + o.input + "' has no dataset " + name);
    }
    x = in.read_tensor("/x").to(torch::kFloat32);
    t = in.read_tensor("/t").to(torch::kFloat64);
  }
  if (x.dim() != 4 || t.dim() != 1 || t.size(0) != x.size(0)) {
    throw InputError("'" + o.input + "': expected /x [N, C, H, W] and /t [N], got /x " +
                     shape_text(x.sizes()) + " and /t " + shape_text(t.sizes()));
  }
  if (!torch::isfinite(x).all().item<bool>()) {
    throw InputError("'" + o.input + "': /x holds NaN or Inf values");
  }
  if (!torch::isfinite(t).all().item<bool>() || t.min().item<double>() < 0.0 ||
      t.max().item<double>() > 1.0) {
    throw InputError("'" + o.input + "': /t must lie in [0, 1], got values from " +
                     std::to_string(t.min().item<double>()) + " to " +
                     std::to_string(t.max().item<double>()));
  }
  const Config config = parse_config(checkpoint.config_yaml, o.checkpoint + " (embedded config)");
  const std::vector<int64_t> expected = {config.model.image_channels, config.model.image_size,
                                         config.model.image_size};
  if (x.sizes().slice(1).vec() != expected) {
    throw InputError("'" + o.input + "': /x is " + shape_text(x.sizes()) +
                     ", but the network of '" + o.checkpoint + "' takes [N, " +
                     shape_text(expected).substr(1));
  }
  const torch::Device device = resolve_device(o.device);
  torch::NoGradGuard no_grad;
  ScoreModel model = load_score_model(checkpoint, o.checkpoint, o.ema, device);
  const auto y = model.output(x.to(device), t.to(device)).to(torch::kCPU);
  h5::File out = h5::File::create(o.out);
  out.write_tensor("/y", y);
  out.set_attr("/", "checkpoint", o.checkpoint);
  out.set_attr("/", "weights", std::string(o.ema ? "ema" : "model"));
  spdlog::info("network output {} for {} inputs -> {}",
               std::string(enum_name(ModelType::kDdpmUnet)), x.size(0), o.out);
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& root, const GlobalOptions&) {
  auto* app =
      root.add_subcommand("predict", "Run a network once on /x and /t of an HDF5 file, write /y");
  auto o = std::make_shared<PredictOptions>();
  app->add_option("--checkpoint", o->checkpoint, "checkpoint (.h5)")->required();
  app->add_option("--input", o->input, "HDF5 with /x [N, C, H, W] and /t [N] in [0, 1]")
      ->required();
  app->add_option("-o,--out", o->out, "HDF5 to write /y to")->required();
  app->add_option("--device", o->device, "auto, cpu or cuda")->capture_default_str();
  app->add_flag("--ema", o->ema, "use the EMA weights (default: the raw model weights)");
  return {app, [=]() { return run_predict(*o); }};
}

}  // namespace wsd::cli
