#include "core/noise/noise_spectrum_fit.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"

namespace wsd {
namespace {

// Replaces the DC bin of periodograms [N, H, W/2+1] by the mean of its nearest bins, (0, 1)
// and (+-1, 0), where they exist.
void fill_dc(torch::Tensor& periodograms) {
  const int64_t h = periodograms.size(1), columns = periodograms.size(2);
  std::vector<torch::Tensor> neighbours;
  if (columns > 1) neighbours.push_back(periodograms.select(2, 1).select(1, 0));
  if (h > 1) {
    neighbours.push_back(periodograms.select(2, 0).select(1, 1));
    neighbours.push_back(periodograms.select(2, 0).select(1, h - 1));
  }
  periodograms.select(2, 0).select(1, 0).copy_(torch::stack(neighbours).mean(0));
}

// Frames per FFT batch.
constexpr int64_t kFitChunk = 64;

// Per-bin mean and sum of squared deviations over batches, merged as Chan et al. do: every
// term is a square, so the variance stays >= 0 under rounding, unlike E[x^2] - E[x]^2.
struct Moments {
  torch::Tensor mean, m2;
  int64_t count = 0;

  void add(const torch::Tensor& batch) {
    const int64_t nb = batch.size(0);
    const auto batch_mean = batch.mean(0);
    const auto batch_m2 = (batch - batch_mean).square().sum(0);
    if (count == 0) {
      mean = batch_mean;
      m2 = batch_m2;
    } else {
      const auto delta = batch_mean - mean;
      const double total = static_cast<double>(count + nb);
      mean = mean + delta * (static_cast<double>(nb) / total);
      m2 = m2 + batch_m2 + delta.square() * (static_cast<double>(count) * nb / total);
    }
    count += nb;
  }
};

}  // namespace

torch::Tensor noise_band_index(int64_t h, int64_t w) {
  const auto [fy, fx] = rfft2_frequencies(h, w);
  const auto radius = torch::sqrt(fy.square() + fx.square());
  return (radius * (2.0 * kNoiseBands)).floor().clamp_max(kNoiseBands - 1).to(torch::kLong);
}

NoiseSpectrumFit fit_noise_spectrum(const torch::Tensor& frames, MeanRemoval mean_removal,
                                    const std::string& source) {
  if (frames.dim() != 3 || !frames.is_floating_point()) {
    throw InputError(source + ": noise frames must be a floating-point [N, H, W] array");
  }
  const int64_t n = frames.size(0), h = frames.size(1), w = frames.size(2);
  if (n < kMinNoiseFrames) {
    throw InputError(source + ": " + std::to_string(n) + " frame(s); a noise fit needs at least " +
                     std::to_string(kMinNoiseFrames) +
                     " (its standard errors come from the spread across frames)");
  }
  if (h < 2 || w < 2) {
    throw InputError(source + ": frames of " + std::to_string(h) + " x " + std::to_string(w) +
                     " px; a noise fit needs at least 2 x 2");
  }
  auto x = frames.to(torch::kCPU, torch::kFloat64);
  const auto finite = torch::isfinite(x).flatten(1).all(1);
  if (!finite.all().item<bool>()) {
    const int64_t bad = torch::nonzero(finite.logical_not())[0][0].item<int64_t>();
    throw InputError(source + ": frame " + std::to_string(bad) + " holds NaN or Inf values");
  }
  // Frames are transformed in chunks, so memory stays that of the frames themselves.
  const auto temporal_mean =
      mean_removal == MeanRemoval::kTemporal ? x.mean(0, true) : torch::Tensor();
  const auto band = noise_band_index(h, w);
  const auto multiplicity = rfft2_multiplicity(h, w).expand({h, w / 2 + 1});
  std::vector<torch::Tensor> band_weights;
  for (int b = 0; b < kNoiseBands; ++b) {
    band_weights.push_back((band == b).to(torch::kFloat64) * multiplicity);
  }
  const auto weights = torch::stack(band_weights);  // [bands, H, W/2+1]
  const auto band_sizes = weights.sum({-2, -1});
  Moments bins;
  std::vector<torch::Tensor> band_values;  // [chunk, bands] per chunk
  for (int64_t start = 0; start < n; start += kFitChunk) {
    auto chunk = x.slice(0, start, std::min(n, start + kFitChunk));
    chunk = temporal_mean.defined() ? chunk - temporal_mean
                                    : chunk - chunk.mean({-2, -1}, /*keepdim=*/true);
    // |.|^2 of each bin stays >= 0 whatever the rounding.
    auto periodograms = torch::fft::rfft2(chunk, c10::nullopt, {-2, -1}, "ortho").abs().square();
    if (temporal_mean.defined()) {
      // A residual from the mean of N i.i.d. frames has (N-1)/N of a frame's variance.
      periodograms *= static_cast<double>(n) / static_cast<double>(n - 1);
    } else {
      fill_dc(periodograms);
    }
    bins.add(periodograms);
    band_values.push_back(torch::tensordot(periodograms, weights, {1, 2}, {1, 2}) /
                          band_sizes.clamp_min(1.0));
  }

  NoiseSpectrumFit fit;
  NoiseSpectrum& s = fit.spectrum;
  s.power = bins.mean;
  s.power_se = torch::sqrt(bins.m2 / static_cast<double>(n - 1) / static_cast<double>(n));
  s.frames = n;
  s.height = h;
  s.width = w;
  s.pixel_variance = full_grid_mean(s.power, w);
  s.mean_removal = mean_removal == MeanRemoval::kFrame ? "frame" : "temporal";
  s.source = source;
  // Constant frames leave only rounding residues (relative 1e-16 of the values) to fit.
  const double scale = x.square().mean().item<double>();
  if (!(s.pixel_variance > 1e-24 * scale) || s.pixel_variance == 0) {
    throw InputError(source + ": the frames have no variation after mean removal; nothing to fit");
  }
  fit.pixel_std = std::sqrt(s.pixel_variance);

  // Band means per frame (rfft2 bins weighted by the frequencies they stand for), then their
  // mean and its standard error across frames.
  const auto per_frame = torch::cat(band_values);  // [N, bands]
  const auto band_power = per_frame.mean(0);
  const auto band_se = per_frame.std(0, /*unbiased=*/true) / std::sqrt(static_cast<double>(n));
  for (int b = 0; b < kNoiseBands; ++b) {
    NoiseBand out;
    out.f_low = static_cast<double>(b) / (2.0 * kNoiseBands);
    out.f_high = static_cast<double>(b + 1) / (2.0 * kNoiseBands);
    out.frequencies = static_cast<int64_t>(std::llround(band_sizes[b].item<double>()));
    if (out.frequencies > 0) {
      out.power = band_power[b].item<double>();
      out.relative_se = out.power > 0 ? band_se[b].item<double>() / out.power : 0.0;
    }
    fit.bands.push_back(out);
  }
  return fit;
}

}  // namespace wsd
