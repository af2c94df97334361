#pragma once

// Checks of a periodogram-averaged spectrum against its expectation, region by region, with
// standard errors derived from the periodogram's law rather than from tolerances picked by eye.
//
// A region is a radial band of |f| (band b < 8: b/16 <= |f| < (b+1)/16; band 7 also holds the
// corners) split into two sectors, |fx| > |fy| and |fy| >= |fx|, so an anisotropic error cannot
// hide in a radial average. A region's value is the full-grid-weighted mean of the power over
// its rfft2 bins (the DC bin left out: mean removal makes it unknowable).
//
// For Gaussian noise with spectrum P the periodogram of a complex bin is exponential (std = P),
// of a real bin (DC, Nyquist) P chi^2_1 (std = sqrt(2) P), independent across bins except that
// bins (r, 0) and (H - r, 0) (and the same in the Nyquist column of an even W) are one pair of
// conjugates, equal. The standard error of the mean of N frames' region values follows exactly.

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace wsd::test {

inline constexpr int kRegionBands = 8;

struct SpectrumRegion {
  torch::Tensor weight;  // [H, W/2+1] float64: full-grid multiplicity inside the region, else 0
};

inline std::vector<SpectrumRegion> spectrum_regions(int64_t h, int64_t w) {
  const auto fy = torch::fft::fftfreq(h, torch::kFloat64).view({h, 1}).expand({h, w / 2 + 1});
  const auto fx = torch::fft::rfftfreq(w, torch::kFloat64).view({1, -1}).expand({h, w / 2 + 1});
  auto multiplicity = torch::full({1, w / 2 + 1}, 2.0, torch::kFloat64);
  multiplicity[0][0] = 1.0;
  if (w % 2 == 0) multiplicity[0][w / 2] = 1.0;
  auto base = multiplicity.expand({h, w / 2 + 1}).clone();
  base[0][0] = 0.0;  // DC
  const auto radius = torch::sqrt(fy.square() + fx.square());
  const auto band = (radius * 16.0).floor().clamp_max(kRegionBands - 1);
  const auto horizontal = fx.abs() > fy.abs();
  std::vector<SpectrumRegion> regions;
  for (int b = 0; b < kRegionBands; ++b) {
    for (const bool sector : {true, false}) {
      const auto in = (band == b).logical_and(horizontal == sector);
      regions.push_back({base * in.to(torch::kFloat64)});
    }
  }
  return regions;
}

inline double region_mean(const torch::Tensor& power, const SpectrumRegion& region) {
  return ((power * region.weight).sum() / region.weight.sum()).item<double>();
}

// Standard error of the region mean of an average of `frames` periodograms whose expectation
// is `power` [H, W/2+1].
inline double region_standard_error(const torch::Tensor& power, const SpectrumRegion& region,
                                    int64_t w, int64_t frames) {
  const int64_t h = power.size(0), columns = power.size(1);
  const auto p = power.accessor<double, 2>();
  const auto weight = region.weight.accessor<double, 2>();
  double variance = 0.0;
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < columns; ++c) {
      if (weight[r][c] == 0.0) continue;
      const bool self_conjugate_column = c == 0 || (w % 2 == 0 && c == w / 2);
      if (!self_conjugate_column) {
        variance += weight[r][c] * weight[r][c] * p[r][c] * p[r][c];
        continue;
      }
      const int64_t partner = (h - r) % h;
      if (partner == r) {  // a real bin
        variance += 2.0 * weight[r][c] * weight[r][c] * p[r][c] * p[r][c];
      } else if (r < partner) {  // count each conjugate pair once, with both weights
        const double pair = weight[r][c] + weight[partner][c];
        variance += pair * pair * p[r][c] * p[r][c];
      }
    }
  }
  const double total = region.weight.sum().item<double>();
  return std::sqrt(variance / static_cast<double>(frames)) / total;
}

}  // namespace wsd::test
