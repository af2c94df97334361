#pragma once

// The frequency filters of train.loss_weighting noise_power and noise_amplitude (docs/maths.md,
// "Loss weighting across frequencies"). The filter's square, the weight of each frequency's
// squared error, is the training noise's mean power P(f) per frequency raised to `exponent` (1:
// power, 1/2: amplitude) and scaled to mean 1 over the full H x W grid, so that the weighted
// loss of white noise is the uniform loss.

#include <torch/types.h>

#include <cstdint>

#include "core/noise/structured_noise.hpp"

namespace wsd {

// sqrt(P^exponent / mean_f P^exponent), float64 [H, W/2+1] on CPU, with P = noise.psd(h, w).
torch::Tensor noise_power_filter(const StructuredNoise& noise, int64_t h, int64_t w,
                                 double exponent);

}  // namespace wsd
