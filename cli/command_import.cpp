#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "cli/command.hpp"
#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "core/config/config_validation.hpp"
#include "core/config/config_writer.hpp"
#include "core/io/h5_file.hpp"
#include "core/model/score_model.hpp"
#include "core/network/h5_weights.hpp"
#include "core/network/state_dict.hpp"
#include "core/util/errors.hpp"

namespace wsd::cli {
namespace {

namespace fs = std::filesystem;

struct ImportOptions {
  std::string from;
  std::string out;
};

bool has_extension(const std::string& path, std::initializer_list<const char*> extensions) {
  const std::string ext = fs::path(path).extension().string();
  for (const char* e : extensions) {
    if (ext == e) return true;
  }
  return false;
}

// PyTorch pickles are read by the project venv's torch (scripts/pth_to_h5.py), never by C++.
std::string python_executable() {
  if (const char* p = std::getenv("WSD_PYTHON"); p != nullptr && *p) return p;
  return std::string(WSD_SOURCE_DIR) + "/.venv/bin/python";
}

StateDict read_pytorch_state_dict(const std::string& path) {
  const fs::path tmp =
      fs::temp_directory_path() / ("wsdiff-import-" + std::to_string(::getpid()) + ".h5");
  const fs::path err = tmp.string() + ".err";
  const std::string command = "'" + python_executable() + "' '" + WSD_SOURCE_DIR +
                              "/scripts/pth_to_h5.py' '" + path + "' '" + tmp.string() + "' 2>'" +
                              err.string() + "'";
  const int status = std::system(command.c_str());
  if (status != 0) {
    std::string why;
    if (std::FILE* f = std::fopen(err.c_str(), "r")) {
      char line[512] = {0};
      while (std::fgets(line, sizeof line, f)) why = line;  // the last line holds the reason
      std::fclose(f);
    }
    fs::remove(err);
    fs::remove(tmp);
    if (!why.empty() && why.back() == '\n') why.pop_back();
    throw InputError("cannot read PyTorch checkpoint '" + path +
                     "': " + (why.empty() ? "converter failed" : why));
  }
  fs::remove(err);
  StateDict state;
  {
    const h5::File file = h5::File::open_read(tmp.string());
    for (const auto& key : file.list("/state_dict")) {
      state.emplace_back(key, file.read_tensor("/state_dict/" + key));
    }
  }
  fs::remove(tmp);
  return state;
}

int run_import(const ImportOptions& o, const ConfigOptions& config_options) {
  if (!fs::exists(o.from)) throw InputError("no such file '" + o.from + "'");
  Config config = load_config(config_options.config_path, config_options.overrides);
  StateDict state;
  if (has_extension(o.from, {".h5", ".hdf5"})) {
    // The HDF5 layout carries the constructor arguments; they win over the config.
    H5Weights weights = read_h5_weights(o.from);
    const auto& opt = weights.options;
    config.model.type = ModelType::kDdpmUnet;
    config.model.image_channels = static_cast<int>(opt.image_channels());
    config.model.n_channels = static_cast<int>(opt.n_channels());
    config.model.ch_mults.assign(opt.ch_mults().begin(), opt.ch_mults().end());
    config.model.is_attn = opt.is_attn();
    config.model.n_blocks = static_cast<int>(opt.n_blocks());
    config.model.dropout = opt.dropout();
    config.data.channels = config.model.image_channels;
    state = std::move(weights.state_dict);
  } else if (has_extension(o.from, {".pth", ".pt", ".ckpt"})) {
    state = strip_wrapper_prefixes(read_pytorch_state_dict(o.from));
  } else {
    throw InputError("'" + o.from +
                     "': expected a .pth/.pt/.ckpt PyTorch file or an .h5 weight file");
  }
  validate_config(config);
  // Loading into the configured network proves every key and shape before anything is written.
  DdpmUNet network = make_network(config.model);
  load_state_dict(*network, state, o.from);

  Checkpoint checkpoint;
  checkpoint.config_yaml = to_yaml(config);
  checkpoint.model_info = model_info_of(config.model);
  checkpoint.model = state_dict_of(*network);
  save_checkpoint(checkpoint, o.out);
  spdlog::info(
      "imported {} tensors ({} parameters) from {} -> {} (parameterisation {}, score sign {:+d})",
      checkpoint.model.size(), parameter_count(*network), o.from, o.out,
      checkpoint.model_info.parameterisation, checkpoint.model_info.score_sign);
  return 0;
}

}  // namespace

Command add_import_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand(
      "import", "Convert the authors' PyTorch (.pth/.ckpt) or HDF5 weights into a checkpoint");
  auto o = std::make_shared<ImportOptions>();
  auto config = std::make_shared<ConfigOptions>();
  add_config_options(app, *config);
  app->add_option("--from", o->from,
                  "weights: .pth/.pt/.ckpt (model_state_dict) or .h5 (fixture layout)")
      ->required();
  app->add_option("-o,--out", o->out, "checkpoint to write (.h5)")->required();
  app->footer(
      "The config supplies what the weights do not record: for .pth files the network shape\n"
      "(model.n_channels, ch_mults, is_attn, n_blocks, image_channels), and always the\n"
      "parameterisation, score_sign, schedule and noise family the network was trained with.");
  return {app, [=]() { return run_import(*o, *config); }};
}

}  // namespace wsd::cli
