#include "train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace wsd {

double learning_rate(const TrainConfig& config, int64_t step) {
  return learning_rate(config, step, config.steps);
}

double learning_rate(const TrainConfig& config, int64_t step, int64_t total_steps) {
  if (step < config.warmup_steps) {
    return config.lr * static_cast<double>(step + 1) / static_cast<double>(config.warmup_steps);
  }
  if (config.lr_schedule == LrSchedule::kConstant) return config.lr;
  const double span = std::max<double>(1.0, static_cast<double>(total_steps - config.warmup_steps));
  const double progress = std::clamp((step - config.warmup_steps) / span, 0.0, 1.0);
  return 0.5 * config.lr * (1.0 + std::cos(M_PI * progress));
}

}  // namespace wsd
