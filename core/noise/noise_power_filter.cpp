#include "core/noise/noise_power_filter.hpp"

#include <torch/torch.h>

namespace wsd {

torch::Tensor noise_power_filter(const StructuredNoise& noise, int64_t h, int64_t w,
                                 double exponent) {
  // psd is a mean of squares, >= 0: its powers and their square root are real.
  const auto power = noise.psd(h, w).pow(exponent);
  const auto mean = (power * rfft2_multiplicity(h, w)).sum() / static_cast<double>(h * w);
  return (power / mean).sqrt();
}

}  // namespace wsd
