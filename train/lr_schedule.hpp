#pragma once

#include <cstdint>

#include "core/config/config_types.hpp"

namespace wsd {

// Learning rate at `step` (0-based): linear warm-up over warmup_steps, then constant or a cosine
// decay to zero at train.steps.
double learning_rate(const TrainConfig& config, int64_t step);
// The same with the run length given explicitly (train.images resolved to steps).
double learning_rate(const TrainConfig& config, int64_t step, int64_t total_steps);

}  // namespace wsd
