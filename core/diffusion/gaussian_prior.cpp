#include "core/diffusion/gaussian_prior.hpp"

#include <torch/torch.h>

#include <utility>
#include <vector>

#include "core/diffusion/forward_process.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"

namespace wsd {
namespace {

namespace F = torch::fft;

// A per-sample schedule value as a float64 [N, 1, 1, 1] column (or a scalar) on `device`.
torch::Tensor column(const torch::Tensor& values, torch::Device device) {
  auto v = values.to(device, torch::kFloat64);
  return v.dim() == 0 ? v : v.view({-1, 1, 1, 1});
}

// k^2 / (alpha^2 P + sigma^2 k^2) and friends: bins where the denominator vanishes (no signal
// and no noise power) carry nothing and get a zero multiplier instead of 0/0.
torch::Tensor safe_ratio(const torch::Tensor& numerator, const torch::Tensor& denominator) {
  const auto positive = denominator > 0;
  return torch::where(positive, numerator / torch::where(positive, denominator, 1.0), 0.0);
}

}  // namespace

GaussianStatisticsAccumulator::GaussianStatisticsAccumulator(GaussianStatisticsOptions options)
    : options_(options) {}

void GaussianStatisticsAccumulator::add(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4, "gaussian statistics: expected [N, C, H, W], got ",
              images.sizes());
  const auto x = images.to(torch::kCPU, torch::kFloat64);
  const auto power = F::rfft2(x, c10::nullopt, {-2, -1}, "ortho").abs().square().sum(0);
  if (count_ == 0) {
    sum_ = x.sum(0);
    sum_power_ = power;
  } else {
    TORCH_CHECK(x.sizes().slice(1) == sum_.sizes(), "gaussian statistics: image shape ",
                x.sizes().slice(1), " differs from ", sum_.sizes());
    sum_ += x.sum(0);
    sum_power_ += power;
  }
  count_ += x.size(0);
}

GaussianStatistics GaussianStatisticsAccumulator::finish() const {
  TORCH_CHECK(count_ >= 2, "gaussian statistics need at least two images, got ", count_);
  const double n = static_cast<double>(count_);
  const int64_t h = sum_.size(-2);
  const int64_t w = sum_.size(-1);
  GaussianStatistics stats;
  stats.count = count_;
  torch::Tensor power = sum_power_ / n;
  if (options_.mean() == PriorMean::kPixel) {
    stats.mean = sum_ / n;
    const auto mean_power = F::rfft2(stats.mean, c10::nullopt, {-2, -1}, "ortho").abs().square();
    power = (power - mean_power) * (n / (n - 1.0));
  } else {
    const auto channel_mean = sum_.sum({-2, -1}, true) / (n * static_cast<double>(h * w));
    stats.mean = channel_mean.expand({sum_.size(0), h, w}).contiguous();
    // The orthonormal DFT of a constant m has m sqrt(HW) at DC and nothing elsewhere.
    power.select(-1, 0).select(-1, 0).sub_(channel_mean.view({-1}).square() *
                                           static_cast<double>(h * w));
  }
  power = power.clamp_min(0.0);
  stats.power_spectrum = options_.per_channel() ? power : power.mean(0);
  return stats;
}

GaussianStatistics estimate_gaussian_statistics(const torch::Tensor& images,
                                                GaussianStatisticsOptions options) {
  GaussianStatisticsAccumulator accumulator(options);
  accumulator.add(images);
  return accumulator.finish();
}

GaussianPrior::GaussianPrior(torch::Tensor mean, torch::Tensor power_spectrum,
                             torch::Tensor noise_power,
                             std::shared_ptr<const DiffusionSchedule> schedule)
    : mean_(mean.to(torch::kFloat64)),
      power_(power_spectrum.to(torch::kFloat64)),
      noise_power_(noise_power.to(torch::kFloat64)),
      schedule_(std::move(schedule)) {
  if (!schedule_) throw InputError("gaussian prior needs a schedule");
  TORCH_CHECK(mean_.dim() == 3, "gaussian prior: mean must be [C, H, W], got ", mean_.sizes());
  const int64_t c = mean_.size(0);
  const int64_t h = mean_.size(1);
  const int64_t wr = mean_.size(2) / 2 + 1;
  if (power_.dim() == 2) power_ = power_.unsqueeze(0);
  TORCH_CHECK(power_.dim() == 3 && (power_.size(0) == 1 || power_.size(0) == c) &&
                  power_.size(1) == h && power_.size(2) == wr,
              "gaussian prior: power spectrum ", power_.sizes(), " does not fit images ",
              mean_.sizes());
  TORCH_CHECK(noise_power_.dim() <= 3, "gaussian prior: noise power must be at most 3-D");
  // Throws if k^2 does not broadcast against the [C, H, W/2+1] grid.
  (void)at::infer_size(std::vector<int64_t>{c, h, wr}, noise_power_.sizes());
  TORCH_CHECK((power_ >= 0).all().item<bool>() && (noise_power_ >= 0).all().item<bool>(),
              "gaussian prior: power spectra must be non-negative");
}

GaussianPrior::GaussianPrior(const GaussianStatistics& statistics, torch::Tensor noise_power,
                             std::shared_ptr<const DiffusionSchedule> schedule)
    : GaussianPrior(statistics.mean, statistics.power_spectrum, std::move(noise_power),
                    std::move(schedule)) {}

torch::Tensor GaussianPrior::filter_centred(const torch::Tensor& x, const torch::Tensor& alpha,
                                            const torch::Tensor& multiplier) const {
  TORCH_CHECK(x.dim() == 4 && x.sizes().slice(1) == mean_.sizes(), "gaussian prior: x ", x.sizes(),
              " does not match the prior's images ", mean_.sizes());
  const auto mean = mean_.to(x.device(), x.scalar_type());
  const auto centred = x - alpha.to(x.scalar_type()) * mean;
  const auto spectrum = F::rfft2(centred, c10::nullopt, {-2, -1}, "ortho");
  const auto real_type = x.scalar_type();
  return F::irfft2(spectrum * multiplier.to(real_type),
                   std::vector<int64_t>{x.size(-2), x.size(-1)}, {-2, -1}, "ortho");
}

torch::Tensor GaussianPrior::whitened_score(const torch::Tensor& x, const torch::Tensor& t) const {
  const auto device = x.device();
  const auto alpha = column(schedule_->alpha(t), device);
  const auto sigma = column(schedule_->sigma(t), device);
  const auto beta = column(schedule_->beta(t), device);
  const auto power = power_.to(device);
  const auto noise = noise_power_.to(device);
  const auto denominator = alpha.square() * power + sigma.square() * noise;
  return filter_centred(x, alpha, -beta * safe_ratio(noise.expand_as(denominator), denominator));
}

torch::Tensor GaussianPrior::tweedie(const torch::Tensor& x, const torch::Tensor& t) const {
  return tweedie_x0(*schedule_, x, whitened_score(x, t), t);
}

torch::Tensor GaussianPrior::wiener_x0(const torch::Tensor& x, const torch::Tensor& t) const {
  const auto device = x.device();
  const auto alpha = column(schedule_->alpha(t), device);
  const auto sigma = column(schedule_->sigma(t), device);
  const auto power = power_.to(device);
  const auto denominator = alpha.square() * power + sigma.square() * noise_power_.to(device);
  const auto gain = safe_ratio((alpha * power).expand_as(denominator), denominator);
  return mean_.to(device, x.scalar_type()) + filter_centred(x, alpha, gain);
}

torch::Tensor GaussianPrior::mmse(const torch::Tensor& t) const {
  const auto alpha = column(schedule_->alpha(t), torch::kCPU);
  const auto sigma = column(schedule_->sigma(t), torch::kCPU);
  const auto signal = alpha.square() * power_;
  const auto noise = sigma.square() * noise_power_;
  const auto denominator = signal + noise;
  const auto posterior = safe_ratio((power_ * noise).expand_as(denominator), denominator);
  const int64_t h = mean_.size(1);
  const int64_t w = mean_.size(2);
  // Mean over the full grid of each channel, then over channels.
  const auto per_channel =
      (posterior * rfft2_multiplicity(h, w)).sum({-2, -1}) / static_cast<double>(h * w);
  auto result = per_channel.mean(-1);
  return t.dim() == 0 ? result.reshape({}) : result.view({-1});
}

torch::Tensor GaussianPrior::sample(int64_t n, torch::Generator& gen) const {
  const auto device = gen.device();
  const auto e = torch::randn({n, mean_.size(0), mean_.size(1), mean_.size(2)}, gen,
                              torch::TensorOptions(torch::kFloat64).device(device));
  const auto spectrum = F::rfft2(e, c10::nullopt, {-2, -1}, "ortho") * power_.to(device).sqrt();
  return mean_.to(device) +
         F::irfft2(spectrum, std::vector<int64_t>{mean_.size(1), mean_.size(2)}, {-2, -1}, "ortho");
}

}  // namespace wsd
