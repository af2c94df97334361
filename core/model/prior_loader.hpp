#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

#include "core/checkpoint/checkpoint.hpp"
#include "core/model/prior.hpp"

namespace wsd {

// The prior a checkpoint holds, on `device` and ready for inference, chosen by
// checkpoint.model_info.type: ddpm_unet -> ScoreModel (EMA weights when `use_ema` and
// present), gaussian -> GaussianPriorModel (`use_ema` does not apply). `source` names the
// checkpoint in errors (an unknown stored type already failed load_checkpoint).
std::unique_ptr<Prior> load_prior(const Checkpoint& checkpoint, const std::string& source,
                                  bool use_ema, torch::Device device);

}  // namespace wsd
