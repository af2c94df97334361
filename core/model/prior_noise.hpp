#pragma once

// A prior trained with the `measured` noise family must stay usable where its spectrum file is
// gone (a shipped prior is one file): the trainer and the exporter embed the spectrum in the
// checkpoint (Checkpoint::measured_noise_power), and a loaded prior takes its noise from there.

#include <string>

#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_types.hpp"
#include "core/noise/structured_noise.hpp"

namespace wsd {

// The noise family of a checkpoint's prior: `noise` (its embedded config's section) with the
// embedded measured spectrum when the checkpoint holds one (preferred to the file, which may
// have been refitted since), else as the config says. `source` names the checkpoint in errors.
StructuredNoise prior_noise_of(const Checkpoint& checkpoint, const NoiseConfig& noise,
                               const std::string& source);

// Stores `noise`'s measured spectrum in `checkpoint`; nothing for the other families.
void embed_measured_noise(Checkpoint& checkpoint, const StructuredNoise& noise);

}  // namespace wsd
