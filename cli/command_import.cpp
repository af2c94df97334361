#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "cli/command.hpp"
#include "cli/output_paths.hpp"
#include "core/checkpoint/checkpoint.hpp"
#include "core/checkpoint/prior_safetensors.hpp"
#include "core/config/config_loader.hpp"
#include "core/config/config_validation.hpp"
#include "core/config/config_writer.hpp"
#include "core/io/h5_file.hpp"
#include "core/io/pytorch_file.hpp"
#include "core/model/score_model.hpp"
#include "core/model/sign_check.hpp"
#include "core/network/h5_weights.hpp"
#include "core/network/state_dict.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "data/batch_loader.hpp"
#include "data/dataset_factory.hpp"

namespace wsd::cli {
namespace {

namespace fs = std::filesystem;

struct ImportOptions {
  std::string from;
  std::string out;
  bool check_sign = false;
  int64_t n = 64;  // test images for the sign check
  std::string device = "auto";
};

bool has_extension(const std::string& path, std::initializer_list<const char*> extensions) {
  const std::string ext = fs::path(path).extension().string();
  for (const char* e : extensions) {
    if (ext == e) return true;
  }
  return false;
}

StateDict as_float32(StateDict state) {
  for (auto& entry : state) entry.second = entry.second.to(torch::kFloat32);
  return state;
}

// What an import writes besides the weights: the config and, from a wsdiff safetensors prior,
// its model card and training step.
struct ImportedWeights {
  Config config;
  StateDict state;
  std::string provenance_json;
  TrainState train_state;
};

// A safetensors file that `wsdiff export` wrote carries its config and model info; one from
// elsewhere holds only tensors, read as a .pth state dict is.
ImportedWeights read_safetensors_weights(const std::string& path, const ConfigOptions& options) {
  SafetensorsPrior file = load_prior_safetensors(path);
  ImportedWeights out;
  if (!file.has_wsdiff_metadata) {
    out.config = load_config(options.config_path, options.overrides);
    out.state = strip_wrapper_prefixes(as_float32(std::move(file.weights)));
    return out;
  }
  Config stored = parse_config(file.prior.config_yaml, path + " (embedded config)");
  // The model info of the file wins over its config, as when a checkpoint is loaded.
  const ModelInfo& info = file.prior.model_info;
  stored.model.process = info.process;
  stored.model.parameterisation = info.parameterisation;
  stored.model.score_sign = static_cast<int>(info.score_sign);
  out.config =
      layer_config(stored, path + " (embedded config)", options.config_path, options.overrides);
  out.state = std::move(file.weights);
  out.provenance_json = file.prior.provenance_json;
  out.train_state = file.prior.state;
  return out;
}

// N test-split images of the config's data (a fixed random subset: the loader's seeded order).
torch::Tensor sign_check_images(const Config& config, int64_t n) {
  const auto dataset = open_dataset(config.data, DataSplit::kTest);
  DataConfig data;  // default transforms at the model's image shape, read on this thread
  data.image_size = config.model.image_size;
  data.channels = config.model.image_channels;
  data.workers = 0;
  LoaderRuntime runtime;
  runtime.batch_size = std::min<int64_t>(n, dataset->size());
  runtime.seed = 0;
  return BatchLoader(dataset, data, runtime).next();
}

// docs/maths.md, 'Sign of imported networks': the sign of an imported network is uncertain;
// keep the one whose Tweedie estimate denoises. Updates the config's model.score_sign to the
// decision.
void check_sign(Config& config, DdpmUNet network, const ImportOptions& o) {
  const torch::Device device = resolve_device(o.device);
  network->to(device);
  network->eval();
  ScoreModel model = score_model_of(network, config);
  const torch::Tensor images = sign_check_images(config, o.n);
  const StructuredNoise noise(config.noise);
  const SignCheck check = check_score_sign(model, images, noise);
  for (size_t k = 0; k < check.times.size(); ++k) {
    spdlog::info(
        "sign check t={:.2f}: MSE of the noised input {:.5f}, Tweedie with sign +1 "
        "{:.5f}, with sign -1 {:.5f}",
        check.times[k], check.mse_input[k], check.mse_plus[k], check.mse_minus[k]);
  }
  spdlog::info(
      "sign check on {} test images: mean MSE sign +1 {:.5f}, sign -1 {:.5f}, noised "
      "input {:.5f}",
      images.size(0), check.mean_plus, check.mean_minus, check.mean_input);
  if (!check.conclusive) {
    spdlog::warn(
        "sign check inconclusive: neither sign's Tweedie estimate beats the noised input "
        "(untrained or mismatched weights, or wrong parameterisation/noise in the "
        "config?); score sign {:+d} kept as configured",
        check.configured_sign);
  } else {
    spdlog::info("sign check: score sign {:+d} {} (configured {:+d})", check.sign, check.decision(),
                 check.configured_sign);
  }
  config.model.score_sign = check.sign;
}

int run_import(const ImportOptions& o, const ConfigOptions& config_options) {
  if (!fs::exists(o.from)) throw InputError("no such file '" + o.from + "'");
  refuse_output_over_inputs(o.out, "--out",
                            {{"--from", o.from}, {"--config", config_options.config_path}});
  ImportedWeights imported;
  if (has_extension(o.from, {".h5", ".hdf5"})) {
    // The HDF5 layout carries the constructor arguments; they win over the config.
    imported.config = load_config(config_options.config_path, config_options.overrides);
    H5Weights weights = read_h5_weights(o.from);
    set_network_options(imported.config.model, weights.options);
    imported.config.data.channels = imported.config.model.image_channels;
    imported.state = std::move(weights.state_dict);
  } else if (has_extension(o.from, {".pth", ".pt", ".ckpt"})) {
    imported.config = load_config(config_options.config_path, config_options.overrides);
    imported.state = strip_wrapper_prefixes(read_pytorch_state_dict(o.from));
  } else if (has_extension(o.from, {".safetensors"})) {
    imported = read_safetensors_weights(o.from, config_options);
  } else {
    throw InputError("'" + o.from +
                     "': expected a .pth/.pt/.ckpt PyTorch file, a .safetensors file or an .h5 "
                     "weight file");
  }
  Config& config = imported.config;
  const StateDict& state = imported.state;
  validate_config(config);
  // Loading into the configured network proves every key and shape before anything is written.
  DdpmUNet network = make_network(config.model);
  load_state_dict(*network, state, o.from);

  if (o.check_sign) check_sign(config, network, o);

  Checkpoint checkpoint;
  checkpoint.config_yaml = to_yaml(config);
  checkpoint.model_info = model_info_of(config.model);
  checkpoint.model = state_dict_of(*network);
  checkpoint.provenance_json = imported.provenance_json;
  checkpoint.state.step = imported.train_state.step;
  checkpoint.state.epoch = imported.train_state.epoch;
  checkpoint.state.images_seen = imported.train_state.images_seen;
  save_checkpoint(checkpoint, o.out);
  spdlog::info(
      "imported {} tensors ({} parameters) from {} -> {} (parameterisation {}, score sign {:+d})",
      checkpoint.model.size(), parameter_count(*network), o.from, o.out,
      checkpoint.model_info.parameterisation_name(), checkpoint.model_info.score_sign);
  return 0;
}

}  // namespace

Command add_import_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand(
      "import",
      "Convert the authors' PyTorch (.pth/.ckpt), safetensors or HDF5 weights into a checkpoint");
  auto o = std::make_shared<ImportOptions>();
  auto config = std::make_shared<ConfigOptions>();
  add_config_options(app, *config);
  app->add_option("--from", o->from,
                  "weights: .pth/.pt/.ckpt (torch.save of a state dict), .safetensors or .h5 "
                  "(fixture layout)")
      ->required();
  app->add_option("-o,--out", o->out, "checkpoint to write (.h5)")->required();
  app->add_flag("--check-sign", o->check_sign,
                "test both signs of the output on noised test images of the config's data and "
                "record the one that denoises");
  app->add_option("--n", o->n, "test images for --check-sign")
      ->check(at_least(1))
      ->capture_default_str();
  app->add_option("--device", o->device, "device for --check-sign: auto, cpu or cuda")
      ->capture_default_str();
  app->footer(
      "The config supplies what the weights do not record: for .pth files the network shape\n"
      "(model.n_channels, ch_mults, is_attn, n_blocks, image_channels), and always the\n"
      "parameterisation, score_sign, schedule and noise family the network was trained with.\n"
      "A .safetensors file written by `wsdiff export --format safetensors` carries its config\n"
      "and model info in its metadata and needs no config (--set still edits it); any other\n"
      ".safetensors file is read like a .pth state dict.\n"
      ".pth/.pt/.ckpt: the zip archive torch.save writes, read without Python. The pickle may\n"
      "hold only dicts, lists, numbers, strings and tensors: a file naming any other class or\n"
      "function is refused, since unpickling it could run code (save a plain state dict,\n"
      "torch.save(model.state_dict(), path)). The weights are its \"model_state_dict\" or\n"
      "\"state_dict\" entry, or the file itself when it is a flat dict of tensors; \"_orig_mod.\"\n"
      "and \"module.\" key prefixes are removed and tensors become float32. The legacy non-zip\n"
      "format (_use_new_zipfile_serialization=False) is refused.\n"
      "--check-sign noises --n images of data (test split) at t = 0.1, 0.3, 0.5 with the\n"
      "config's noise and keeps the sign whose Tweedie estimate is closer to the clean images;\n"
      "when neither beats the noised input (untrained weights) it warns and keeps score_sign.");
  return {app, [=]() { return run_import(*o, *config); }};
}

}  // namespace wsd::cli
