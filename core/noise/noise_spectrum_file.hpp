#pragma once

// The file `wsdiff noise fit` writes and the `measured` noise family reads: a stationary noise
// power spectrum on the rfft2 grid, in the units of structured_noise.hpp (E|rfft2_ortho(n)|^2
// per frequency, image units; the mean over the full H x W grid is the pixel variance).
//
// Layout (HDF5, readable with h5py):
//   /power      float64 [H, W/2+1]  the estimate, the mean of the frames' periodograms
//   /power_se   float64 [H, W/2+1]  its standard error per bin (spread across frames / sqrt(N))
//   / attributes: format = "wsdiff-noise-spectrum", format_version (1), frames, height, width,
//                 pixel_variance, mean_removal, source (what the frames were read from)

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace wsd {

inline constexpr const char* kNoiseSpectrumFormat = "wsdiff-noise-spectrum";
inline constexpr int64_t kNoiseSpectrumFormatVersion = 1;

struct NoiseSpectrum {
  torch::Tensor power;     // float64 [H, W/2+1], >= 0
  torch::Tensor power_se;  // float64 [H, W/2+1]; may be undefined when only the power is known
  int64_t frames = 0;
  int64_t height = 0;
  int64_t width = 0;
  double pixel_variance = 0.0;  // mean of `power` over the full grid
  std::string mean_removal;     // "frame" or "temporal"
  std::string source;
};

// Writes atomically (core/io/atomic_file.hpp); the parent folder is created when missing.
void write_noise_spectrum(const std::string& path, const NoiseSpectrum& spectrum);

// Reads and checks a spectrum file: the format, the version, /power's shape against the height
// and width attributes, finite non-negative values and a positive pixel variance. Every problem
// is an InputError naming the file.
NoiseSpectrum read_noise_spectrum(const std::string& path);

// The mean of a half-grid power [H, W/2+1] over the full H x W grid (the pixel variance),
// with each rfft2 bin weighted by the frequencies it stands for.
double full_grid_mean(const torch::Tensor& power, int64_t width);

}  // namespace wsd
