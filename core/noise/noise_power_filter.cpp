#include "core/noise/noise_power_filter.hpp"

#include <torch/torch.h>

namespace wsd {

torch::Tensor noise_power_filter(const StructuredNoise& noise, int64_t h, int64_t w,
                                 double exponent) {
  // psd is a mean of squares, >= 0: its powers and their square root are real.
  const auto power = noise.psd(h, w).pow(exponent);
  // A half-plane column other than 0 (and W/2 for even W) stands for itself and its mirror.
  auto multiplicity = torch::full({w / 2 + 1}, 2.0, torch::kFloat64);
  multiplicity[0] = 1.0;
  if (w % 2 == 0) multiplicity[w / 2] = 1.0;
  const auto mean = (power * multiplicity).sum() / static_cast<double>(h * w);
  return (power / mean).sqrt();
}

}  // namespace wsd
