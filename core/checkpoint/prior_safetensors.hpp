#pragma once

// A shipped prior as a safetensors file (core/io/safetensors_file.hpp): the tensors are the
// network's weights under the authors' state-dict keys, so that torch code loads them with
// `load_state_dict(safetensors.torch.load_file(path))`, and the header's __metadata__ carries
// what wsdiff needs to load the prior back without a config:
//
//   format                       "pt" (what the Python package writes for torch tensors)
//   wsdiff.format                "wsdiff-prior"
//   wsdiff.format_version        "1"
//   wsdiff.version               the wsdiff that wrote it
//   wsdiff.weights               "ema" or "model": which weights of the training run these are
//   wsdiff.model.type            ddpm_unet
//   wsdiff.model.parameterisation  noise | ws | edm | velocity (as the checkpoint's /model)
//   wsdiff.model.score_sign      "1" or "-1"
//   wsdiff.config                the prior's resolved config (YAML)
//   wsdiff.model_card            the model card facts of `wsdiff export` (a JSON object)
//   wsdiff.train_state           {"step", "epoch", "images_seen"} (a JSON object)

#include <string>

#include "core/checkpoint/checkpoint.hpp"

namespace wsd {

inline constexpr const char* kPriorSafetensorsFormat = "wsdiff-prior";
inline constexpr int64_t kPriorSafetensorsFormatVersion = 1;

// Writes `prior.model` and its metadata atomically. A prior that needs more than its network
// (a gaussian prior, a spectrum of the measured noise family) throws InputError: the .h5 format
// holds those.
void save_prior_safetensors(const Checkpoint& prior, const std::string& path);

struct SafetensorsPrior {
  StateDict weights;
  // Set when the file carries wsdiff's metadata; a third-party file has only tensors.
  bool has_wsdiff_metadata = false;
  // With wsdiff metadata: the config, the model info and the facts of the model card.
  Checkpoint prior;
};

// Reads a safetensors file. InputError names the file for a malformed file or wsdiff metadata
// that is incomplete, of a newer format version or names an unknown model type.
SafetensorsPrior load_prior_safetensors(const std::string& path);

}  // namespace wsd
