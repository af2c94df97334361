#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>

#include "cli/command.hpp"
#include "cli/output_paths.hpp"
#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "core/io/atomic_file.hpp"
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

// One network evaluation on stored inputs: the diagnostic that compares implementations, and
// what research tools ask instead of restating the maths: beside the raw output /y it writes
// the prior's E[x_0 | x_t] (/x0), its whitened score (/score) and the schedule's alpha_t and
// sigma_t (/alpha, /sigma), whatever the parameterisation, process and schedule. Without /x
// only the schedule is written.
int run_predict(const PredictOptions& o) {
  namespace fs = std::filesystem;
  refuse_output_over_inputs(o.out, "--out", {{"--checkpoint", o.checkpoint}, {"--input", o.input}});
  ensure_writable_file(o.out, "--out");
  const Checkpoint checkpoint = load_checkpoint(o.checkpoint);
  torch::Tensor x, t;
  try {
    const h5::File in = h5::File::open_read(o.input);
    if (!in.exists("/t")) throw InputError("'" + o.input + "' has no dataset /t");
    t = in.read_tensor("/t").to(torch::kFloat64);
    if (in.exists("/x")) x = in.read_tensor("/x").to(torch::kFloat32);
  } catch (const h5::H5Error& e) {
    // Whatever cannot be read in it, the file given is the cause: a bad input.
    throw InputError("--input: " + std::string(e.what()));
  }
  if (t.dim() != 1 || (x.defined() && (x.dim() != 4 || t.size(0) != x.size(0)))) {
    throw InputError("'" + o.input + "': expected /x [N, C, H, W] and /t [N], got /x " +
                     (x.defined() ? shape_text(x.sizes()) : std::string("(none)")) + " and /t " +
                     shape_text(t.sizes()));
  }
  if (x.defined() && !torch::isfinite(x).all().item<bool>()) {
    throw InputError("'" + o.input + "': /x holds NaN or Inf values");
  }
  if (t.numel() == 0 || !torch::isfinite(t).all().item<bool>() || t.min().item<double>() < 0.0 ||
      t.max().item<double>() > 1.0) {
    throw InputError("'" + o.input + "': /t must be non-empty and lie in [0, 1]");
  }
  const Config config = parse_config(checkpoint.config_yaml, o.checkpoint + " (embedded config)");
  const std::vector<int64_t> expected = {config.model.image_channels, config.model.image_size,
                                         config.model.image_size};
  if (x.defined() && x.sizes().slice(1).vec() != expected) {
    throw InputError("'" + o.input + "': /x is " + shape_text(x.sizes()) +
                     ", but the network of '" + o.checkpoint + "' takes [N, " +
                     shape_text(expected).substr(1));
  }
  const torch::Device device = resolve_device(o.device);
  torch::NoGradGuard no_grad;
  ScoreModel model = load_score_model(checkpoint, config, o.checkpoint, o.ema, device);
  std::vector<double> alpha, sigma;
  const auto t_host = t.contiguous();
  for (int64_t i = 0; i < t.size(0); ++i) {
    alpha.push_back(model.schedule().alpha(t_host.data_ptr<double>()[i]));
    sigma.push_back(model.schedule().sigma(t_host.data_ptr<double>()[i]));
  }
  torch::Tensor y, x0, score;
  if (x.defined()) {
    const auto x_in = x.to(device), t_in = t.to(device);
    y = model.output(x_in, t_in).to(torch::kCPU);
    x0 = model.x0_estimate(x_in, t_in).to(torch::kCPU);
    score = model.whitened_score(x_in, t_in).to(torch::kCPU);
  }
  write_h5_atomically(o.out, [&](h5::File& out) {
    if (x.defined()) {
      out.write_tensor("/y", y);
      out.write_tensor("/x0", x0);
      out.write_tensor("/score", score);
    }
    out.write_tensor("/alpha", torch::tensor(alpha, torch::kFloat64));
    out.write_tensor("/sigma", torch::tensor(sigma, torch::kFloat64));
    out.set_attr("/", "checkpoint", o.checkpoint);
    out.set_attr("/", "weights", std::string(o.ema ? "ema" : "model"));
  });
  if (!x.defined()) {
    spdlog::info("the schedule of {} at {} times (no /x: no network evaluation) -> {}",
                 o.checkpoint, t.size(0), o.out);
    return 0;
  }
  spdlog::info("network output {} for {} inputs -> {}",
               std::string(enum_name(ModelType::kDdpmUnet)), x.size(0), o.out);
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& root, const GlobalOptions&) {
  auto* app =
      root.add_subcommand("predict",
                          "Run a network once on /x and /t of an HDF5 file: write its output /y, "
                          "E[x_0 | x_t] /x0, the whitened score /score, /alpha and /sigma");
  auto o = std::make_shared<PredictOptions>();
  app->add_option("--checkpoint", o->checkpoint, "checkpoint (.h5)")->required();
  app->add_option("--input", o->input,
                  "HDF5 with /t [N] in [0, 1] and /x [N, C, H, W] (without /x: the schedule only)")
      ->required();
  app->add_option("-o,--out", o->out, "HDF5 to write /y, /x0, /score, /alpha, /sigma to")
      ->required();
  app->add_option("--device", o->device, "auto, cpu or cuda")->capture_default_str();
  app->add_flag("--ema", o->ema, "use the EMA weights (default: the raw model weights)");
  return {app, [=]() { return run_predict(*o); }};
}

}  // namespace wsd::cli
