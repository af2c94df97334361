#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace wsd {

// Ordered (name, tensor) pairs: parameter and buffer names are the authors' state-dict keys.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

// How the network's output relates to the whitened score (DESIGN.md section 1).
struct ModelInfo {
  std::string type;              // ddpm_unet | unet | gaussian
  std::string parameterisation;  // ws | noise | velocity
  int64_t score_sign = 1;        // +1, or -1 for networks trained on the negated target
};

struct TrainState {
  int64_t step = 0;
  int64_t epoch = 0;
  int64_t data_position = 0;  // samples of the current epoch already consumed (global)
  int64_t images_seen = 0;
  std::vector<std::vector<uint8_t>> rng_states;  // one serialized generator state per rank
};

// Everything a run needs to continue or to sample. Sections may be empty (an imported model has
// no optimizer state).
struct Checkpoint {
  std::string config_yaml;  // the fully resolved config of the run
  ModelInfo model_info;
  StateDict model;
  StateDict ema;
  StateDict optimizer;  // keys "<parameter>/<slot>", e.g. "conv.weight/exp_avg"
  TrainState state;
  // How a shipped prior was made (a JSON object written by `wsdiff export`: validation loss,
  // wall time, hardware...); empty for training checkpoints. Optional: files without it load.
  std::string provenance_json;
};

inline constexpr const char* kCheckpointFormat = "wsdiff-checkpoint";
inline constexpr int64_t kCheckpointFormatVersion = 1;

// Writes atomically: a temporary file beside `path` is written, flushed, synced and renamed, so
// a crash at any point leaves the previous file at `path` intact.
void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);

// Throws InputError naming the file when it is missing, truncated, corrupt or not a checkpoint.
Checkpoint load_checkpoint(const std::string& path);

struct CheckpointSummary {
  int64_t format_version = 0;
  std::string wsdiff_version;
  std::string created;
  std::string config_yaml;
  ModelInfo model_info;
  TrainState state;
  int64_t parameter_count = 0;
  std::vector<std::string> dtypes;  // distinct dtypes of the model tensors
  size_t model_tensors = 0;
  bool has_ema = false;
  bool has_optimizer = false;
  std::string provenance_json;
};

// Reads metadata and shapes without loading tensors into memory.
CheckpointSummary inspect_checkpoint(const std::string& path);

}  // namespace wsd
