#pragma once

// The closed-form Gaussian prior: x_0 ~ N(mu, C) with C Fourier-diagonal (stationary
// covariance with power spectrum P), under the structured forward process
// x_t = alpha_t x_0 + sigma_t n, Cov(n) = F^-1 diag(k^2) F. Then x_t is Gaussian with
// Fourier-diagonal covariance alpha^2 P + sigma^2 k^2 and the exact whitened score is
//   s_W(x, t) = -beta_t F^-1[ k^2 / (alpha_t^2 P + sigma_t^2 k^2) ] F (x - alpha_t mu).
// It is the test oracle of samplers and likelihood steps and the "Gaussian prior" baseline.
//
// Units: F is the orthonormal rfft2 over the last two axes; P and k^2 are expected
// |rfft2_ortho(.)|^2 per frequency on the [H, W/2+1] grid (mean over the full grid = pixel
// variance), as StructuredNoise::psd reports k^2. All maths runs in float64 regardless of
// the input dtype's precision for the multipliers; the FFTs run in the input's dtype.
//
// Mean: by default the per-pixel, per-channel mean image (captures the centred, non-stationary
// layout of datasets such as MNIST; the covariance stays stationary). PriorMean::kScalar uses
// one mean per channel instead, the fully stationary model.

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>

#include "core/diffusion/schedule.hpp"

namespace wsd {

enum class PriorMean { kPixel, kScalar };

struct GaussianStatisticsOptions {
  TORCH_ARG(PriorMean, mean) = PriorMean::kPixel;
  // One spectrum per channel instead of the channel average.
  TORCH_ARG(bool, per_channel) = false;
};

struct GaussianStatistics {
  torch::Tensor mean;            // float64 [C, H, W] (constant per channel for kScalar)
  torch::Tensor power_spectrum;  // float64 [H, W/2+1], or [C, H, W/2+1] when per_channel
  int64_t count = 0;             // images seen
};

// One pass over a dataset in batches. P is the periodogram average of the mean-removed images:
// sum|F x|^2 / N - |F mean|^2, times N / (N - 1) for the per-pixel mean (the unbiased
// estimator); for the scalar mean only the DC bin is corrected (its O(1/N) bias is kept).
class GaussianStatisticsAccumulator {
 public:
  explicit GaussianStatisticsAccumulator(GaussianStatisticsOptions options = {});

  void add(const torch::Tensor& images);  // [N, C, H, W], any floating dtype and device
  GaussianStatistics finish() const;      // needs >= 2 images
  int64_t count() const { return count_; }

 private:
  GaussianStatisticsOptions options_;
  torch::Tensor sum_;        // float64 [C, H, W]
  torch::Tensor sum_power_;  // float64 [C, H, W/2+1]
  int64_t count_ = 0;
};

GaussianStatistics estimate_gaussian_statistics(const torch::Tensor& images,
                                                GaussianStatisticsOptions options = {});

class GaussianPrior {
 public:
  // mean [C, H, W]; power_spectrum [H, W/2+1] or [C, H, W/2+1]; noise_power (k^2, e.g.
  // StructuredNoise::psd) broadcastable to [C, H, W/2+1]. For a noise family with random
  // per-sample parameters, psd() is the parameter-averaged k^2: the prior is then exact for
  // the Gaussian noise with that average covariance.
  GaussianPrior(torch::Tensor mean, torch::Tensor power_spectrum, torch::Tensor noise_power,
                std::shared_ptr<const DiffusionSchedule> schedule);
  GaussianPrior(const GaussianStatistics& statistics, torch::Tensor noise_power,
                std::shared_ptr<const DiffusionSchedule> schedule);

  // Exact s_W for x [N, C, H, W] and t [N] (or scalar), in x's dtype.
  torch::Tensor whitened_score(const torch::Tensor& x, const torch::Tensor& t) const;
  // Tweedie applied to whitened_score.
  torch::Tensor tweedie(const torch::Tensor& x, const torch::Tensor& t) const;
  // The same posterior mean as the linear Wiener filter
  // mu + F^-1[alpha P / (alpha^2 P + sigma^2 k^2)] F (x - alpha mu), computed independently.
  torch::Tensor wiener_x0(const torch::Tensor& x, const torch::Tensor& t) const;
  // Posterior variance per pixel, averaged over pixels and channels, float64 [N]: the MSE per
  // pixel of the Tweedie estimate, mean_f P sigma^2 k^2 / (alpha^2 P + sigma^2 k^2).
  torch::Tensor mmse(const torch::Tensor& t) const;
  // x_0 ~ N(mu, C): float64 [n, C, H, W] on the generator's device.
  torch::Tensor sample(int64_t n, torch::Generator& gen) const;

  const torch::Tensor& mean() const { return mean_; }
  const torch::Tensor& power_spectrum() const { return power_; }
  const torch::Tensor& noise_power() const { return noise_power_; }
  const DiffusionSchedule& schedule() const { return *schedule_; }

 private:
  // F^-1[multiplier] F (x - alpha mu), multiplier float64 [N, C or 1, H, W/2+1], alpha [N,1,1,1].
  torch::Tensor filter_centred(const torch::Tensor& x, const torch::Tensor& alpha,
                               const torch::Tensor& multiplier) const;

  torch::Tensor mean_;         // float64 [C, H, W]
  torch::Tensor power_;        // float64 [C or 1, H, W/2+1]
  torch::Tensor noise_power_;  // float64, broadcastable to [C, H, W/2+1]
  std::shared_ptr<const DiffusionSchedule> schedule_;
};

}  // namespace wsd
