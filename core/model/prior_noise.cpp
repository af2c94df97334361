#include "core/model/prior_noise.hpp"

#include <torch/torch.h>

namespace wsd {

StructuredNoise prior_noise_of(const Checkpoint& checkpoint, const NoiseConfig& noise,
                               const std::string& source) {
  if (noise.family != NoiseFamily::kMeasured || !checkpoint.measured_noise_power.defined()) {
    return StructuredNoise(noise);
  }
  return StructuredNoise(
      noise, MeasuredPower{checkpoint.measured_noise_power, checkpoint.measured_noise_width,
                           source + " (embedded noise spectrum)"});
}

void embed_measured_noise(Checkpoint& checkpoint, const StructuredNoise& noise) {
  const MeasuredPower& measured = noise.measured();
  if (!measured.power.defined()) return;
  checkpoint.measured_noise_power = measured.power.to(torch::kCPU, torch::kFloat64).contiguous();
  checkpoint.measured_noise_width = measured.width;
}

}  // namespace wsd
