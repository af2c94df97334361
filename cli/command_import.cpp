#include <fcntl.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>
#include <wsd_source_dir.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "cli/command.hpp"
#include "cli/output_paths.hpp"
#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "core/config/config_validation.hpp"
#include "core/config/config_writer.hpp"
#include "core/io/h5_file.hpp"
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

// PyTorch pickles are read by the project venv's torch (scripts/pth_to_h5.py), never by C++.
std::string python_executable() {
  if (const char* p = std::getenv("WSD_PYTHON"); p != nullptr && *p) return p;
  return std::string(WSD_SOURCE_DIR) + "/.venv/bin/python";
}

// A private folder (mode 0700, an unpredictable name) for the converter's output: nothing another
// user plants under $TMPDIR can be followed or read back. Removed with everything in it on exit.
class PrivateTempDir {
 public:
  PrivateTempDir() {
    std::string pattern = (fs::temp_directory_path() / "wsdiff-import-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a temporary folder in '" +
                               fs::temp_directory_path().string() + "': " + std::strerror(errno));
    }
    path_ = pattern;
  }
  ~PrivateTempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  PrivateTempDir(const PrivateTempDir&) = delete;
  PrivateTempDir& operator=(const PrivateTempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs `argv` with stderr sent to `err_path` and returns its exit status (-1 when it did not end
// normally). An argument vector, never a shell: file names reach the program as they are.
int run_program(const std::vector<std::string>& argv, const fs::path& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    throw std::runtime_error("cannot run '" + argv[0] + "': " + std::strerror(spawned));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

StateDict read_pytorch_state_dict(const std::string& path) {
  const PrivateTempDir tmp;
  const fs::path out = tmp.path() / "state_dict.h5";
  const fs::path err = tmp.path() / "converter.err";
  const int status = run_program(
      {python_executable(), std::string(WSD_SOURCE_DIR) + "/scripts/pth_to_h5.py", path, out}, err);
  if (status != 0) {
    std::string why;
    if (std::FILE* f = std::fopen(err.c_str(), "r")) {
      char line[512] = {0};
      while (std::fgets(line, sizeof line, f)) why = line;  // the last line holds the reason
      std::fclose(f);
    }
    if (!why.empty() && why.back() == '\n') why.pop_back();
    throw InputError("cannot read PyTorch checkpoint '" + path +
                     "': " + (why.empty() ? "converter failed" : why));
  }
  StateDict state;
  const h5::File file = h5::File::open_read(out.string());
  for (const auto& key : file.list("/state_dict")) {
    state.emplace_back(key, file.read_tensor("/state_dict/" + key));
  }
  return state;
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
  Config config = load_config(config_options.config_path, config_options.overrides);
  StateDict state;
  if (has_extension(o.from, {".h5", ".hdf5"})) {
    // The HDF5 layout carries the constructor arguments; they win over the config.
    H5Weights weights = read_h5_weights(o.from);
    set_network_options(config.model, weights.options);
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

  if (o.check_sign) check_sign(config, network, o);

  Checkpoint checkpoint;
  checkpoint.config_yaml = to_yaml(config);
  checkpoint.model_info = model_info_of(config.model);
  checkpoint.model = state_dict_of(*network);
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
      "import", "Convert the authors' PyTorch (.pth/.ckpt) or HDF5 weights into a checkpoint");
  auto o = std::make_shared<ImportOptions>();
  auto config = std::make_shared<ConfigOptions>();
  add_config_options(app, *config);
  app->add_option("--from", o->from,
                  "weights: .pth/.pt/.ckpt (model_state_dict) or .h5 (fixture layout)")
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
      "--check-sign noises --n images of data (test split) at t = 0.1, 0.3, 0.5 with the\n"
      "config's noise and keeps the sign whose Tweedie estimate is closer to the clean images;\n"
      "when neither beats the noised input (untrained weights) it warns and keeps score_sign.");
  return {app, [=]() { return run_import(*o, *config); }};
}

}  // namespace wsd::cli
