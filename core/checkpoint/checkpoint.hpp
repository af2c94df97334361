#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/config/config_enums.hpp"

namespace wsd {

// Ordered (name, tensor) pairs: parameter and buffer names are the authors' state-dict keys.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

// How the network's output relates to the whitened score (docs/maths.md, 'Network
// parameterisations' and 'Sign of imported networks').
// The file stores names: /model attributes "type" (ddpm_unet | gaussian), "parameterisation"
// (a diffusion network's noise | ws | edm, "velocity" for a flow network, "exact" for the
// closed-form Gaussian prior) and "score_sign"; a name this build does not know fails the load
// with the file's name.
struct ModelInfo {
  ModelType type = ModelType::kDdpmUnet;
  ProcessType process = ProcessType::kDiffusion;
  Parameterisation parameterisation = Parameterisation::kNoise;  // of a diffusion network
  int64_t score_sign = 1;  // +1, or -1 for networks trained on the negated target

  // The stored "parameterisation" name.
  std::string parameterisation_name() const;
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
  // The spectrum of a prior trained with the `measured` noise family (float64 [H, W/2+1], unit
  // pixel variance, and the width W), so that the prior needs no spectrum file; undefined
  // otherwise. Optional (/noise/measured_power, attribute "width"): files without it load as
  // before, and it does not change the format version.
  torch::Tensor measured_noise_power;
  int64_t measured_noise_width = 0;
};

inline constexpr const char* kCheckpointFormat = "wsdiff-checkpoint";
// Version 2 adds a CRC-32 to every tensor (attribute "crc32"), verified on every load; version 1
// files load without that check, and upgrade_checkpoint rewrites them as version 2.
inline constexpr int64_t kCheckpointFormatVersion = 2;

// Writes atomically: a temporary file beside `path` ("<path>.tmp-<pid>") is written, synced and
// renamed, so a crash at any point leaves the previous file at `path` intact. A failed write (a
// full disk) removes the temporary and throws std::runtime_error with the system's reason. The
// file is assembled in memory first (its size again in RAM).
void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);

// The infix of save_checkpoint's temporaries: "<path>.tmp-<pid>".
inline constexpr const char* kTemporaryInfix = ".tmp-";

// Removes the temporaries in `dir` left by writers that died (kill -9 during a save): those
// whose pid is not a running process. Returns their paths.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

// Throws InputError naming the file when it is missing, truncated, corrupt (a tensor that does
// not match its checksum) or not a checkpoint.
Checkpoint load_checkpoint(const std::string& path);

// Rewrites a checkpoint of any readable format version in the current one (atomically, as
// save_checkpoint); `to` may equal `from`. The contents are unchanged.
void upgrade_checkpoint(const std::string& from, const std::string& to);

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
  bool checksums_verified = false;  // every tensor matched its checksum (format version >= 2)
  std::string provenance_json;
};

// Reads the metadata and every tensor (verifying checksums), so a summary also proves the file
// intact.
CheckpointSummary inspect_checkpoint(const std::string& path);

}  // namespace wsd
