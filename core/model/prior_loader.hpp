#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/checkpoint/checkpoint.hpp"
#include "core/model/prior.hpp"

namespace wsd {

// The prior a checkpoint holds, on `device` and ready for inference, chosen by
// checkpoint.model_info.type: ddpm_unet -> ScoreModel (EMA weights when `use_ema` and
// present), gaussian -> GaussianPriorModel (`use_ema` does not apply). The embedded config is
// parsed here, once: it gives the prior its schedule, noise family and t_eps. `source` names the
// checkpoint in errors (an unknown stored type already failed load_checkpoint). With
// `image_shape` [C, H, W] given, a network that models another shape is refused (InputError).
std::unique_ptr<Prior> load_prior(const Checkpoint& checkpoint, const std::string& source,
                                  bool use_ema, torch::Device device,
                                  const std::vector<int64_t>& image_shape = {});

}  // namespace wsd
