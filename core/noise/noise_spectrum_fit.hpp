#pragma once

// `wsdiff noise fit`: a stationary (not necessarily isotropic) noise power spectrum estimated
// from blank, dark or background frames, as the average of their periodograms
// |rfft2_ortho(frame - mean)|^2 on the rfft2 grid [H, W/2+1] (structured_noise.hpp's units).

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/noise/noise_spectrum_file.hpp"

namespace wsd {

enum class MeanRemoval {
  // Each frame's own spatial mean: offset drift between frames (bias, flicker) is no part of a
  // single measurement's noise pattern, while fixed-pattern noise, the same in every frame, is
  // and stays in. The DC bin is then not estimable (see fit_noise_spectrum).
  kFrame,
  // The per-pixel mean over all frames: removes fixed-pattern noise and keeps the DC bin.
  kTemporal,
};

// Two frames are the fewest with a spread across frames, the source of every standard error
// reported; more give a better estimate (the relative error of a bin is about 1/sqrt(N)).
inline constexpr int64_t kMinNoiseFrames = 2;
// Radial bands of |f| reported: band b holds b/16 <= |f| < (b+1)/16 cycles/px, the last one
// also the corners beyond 1/2.
inline constexpr int kNoiseBands = 8;

struct NoiseBand {
  double f_low = 0.0, f_high = 0.0;  // cycles/px
  int64_t frequencies = 0;           // full-grid frequencies in the band
  double power = 0.0;                // mean power per frequency (image units squared)
  double relative_se = 0.0;          // standard error of `power` over `power`
};

struct NoiseSpectrumFit {
  NoiseSpectrum spectrum;
  std::vector<NoiseBand> bands;
  double pixel_std = 0.0;  // sqrt(spectrum.pixel_variance): the task.noise_level to use
};

// Fits frames [N, H, W] (floating point, image units) read from `source` (named in errors).
// InputError naming `source` for fewer than kMinNoiseFrames frames, frames smaller than 2 x 2,
// a frame holding NaN or Inf (with its index) or frames without any variation. With kFrame the
// DC bin, zero in every mean-removed frame, takes the mean power of its nearest bins: a zero
// there would tell every Gaussian solve that the image mean is measured without noise.
NoiseSpectrumFit fit_noise_spectrum(const torch::Tensor& frames, MeanRemoval mean_removal,
                                    const std::string& source);

// Band index [H, W/2+1] (0 .. kNoiseBands - 1) of each rfft2 bin.
torch::Tensor noise_band_index(int64_t h, int64_t w);

}  // namespace wsd
