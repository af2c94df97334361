// Measurement noise b ~ N(0, s^2 K K^T): per-image seeding, the level in image units and the
// spectrum of GRF noise. Fixed seeds, stated tolerances.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/config/config_types.hpp"
#include "operators/measurement_noise.hpp"
#include "operators/operator_factory.hpp"

namespace wsd {
namespace {

TaskConfig grf_task(double level, double sigma) {
  TaskConfig task;
  task.noise_level = level;
  task.noise.family = NoiseFamily::kGrf;
  task.noise.grf_sigma_min = sigma;
  task.noise.grf_sigma_max = sigma;
  return task;
}

// Fraction of the expected energy at |f| < cutoff cycles/px, from a [H, W/2+1] power map.
double low_frequency_fraction(const torch::Tensor& power, int64_t h, int64_t w, double cutoff) {
  const auto fy = torch::fft::fftfreq(h, torch::kFloat64).view({h, 1});
  const auto fx = torch::fft::rfftfreq(w, torch::kFloat64).view({1, w / 2 + 1});
  const auto weight = rfft2_multiplicity(h, w) * power;
  const auto low = (fy.square() + fx.square()).sqrt() < cutoff;
  return (weight * low).sum().item<double>() / weight.sum().item<double>();
}

TEST(MeasurementNoise, PerImageSeedsMakeResultsIndependentOfBatching) {
  TaskConfig task = grf_task(0.1, 2.0);
  task.operator_name = OperatorType::kGaussianBlur;
  auto op = make_operator(task, {3, 37, 31});
  const auto noise = MeasurementNoise::from_config(task);
  const auto seeds = measurement_seeds(task.seed, 0, 4);
  const auto x = torch::rand({4, 3, 37, 31}, torch::kFloat64) * 2 - 1;
  const auto all = measure(*op, x, noise, seeds);
  for (int64_t i = 0; i < 4; ++i) {
    const auto one = measure(*op, x.narrow(0, i, 1), noise, {seeds[i]});
    EXPECT_TRUE(torch::equal(one, all.narrow(0, i, 1))) << "image " << i;
  }
  const auto later = measure(*op, x.narrow(0, 2, 2), noise, measurement_seeds(task.seed, 2, 2));
  EXPECT_TRUE(torch::equal(later, all.narrow(0, 2, 2)));
  // The noise is really there, and differs between images.
  const auto b = all - op->forward(x);
  EXPECT_GT(b.std().item<double>(), 0.05);
  EXPECT_FALSE(torch::allclose(b[0], b[1]));
  // Float32 images get float32 measurements with the same draws.
  const auto single = measure(*op, x.to(torch::kFloat32), noise, seeds);
  EXPECT_EQ(single.scalar_type(), torch::kFloat32);
  EXPECT_LT((single.to(torch::kFloat64) - all).abs().max().item<double>(), 1e-5);
}

TEST(MeasurementNoise, SeedsDependOnlyOnBaseAndIndex) {
  const auto five = measurement_seeds(3, 0, 5);
  const auto tail = measurement_seeds(3, 2, 3);
  EXPECT_EQ(std::vector<uint64_t>(five.begin() + 2, five.end()), tail);
  EXPECT_NE(measurement_seeds(4, 0, 5), five);
  for (size_t i = 1; i < five.size(); ++i) EXPECT_NE(five[i], five[i - 1]);
}

TEST(MeasurementNoise, ShapedLikeTheOperatorOutput) {
  TaskConfig task;
  task.operator_name = OperatorType::kDownsample;
  task.downsample_factor = 3;
  auto op = make_operator(task, {3, 39, 33});
  const auto y = measure(*op, torch::zeros({2, 3, 39, 33}, torch::kFloat64),
                         MeasurementNoise::from_config(task), measurement_seeds(0, 0, 2));
  EXPECT_EQ(y.sizes().vec(), (std::vector<int64_t>{2, 3, 13, 11}));
  EXPECT_GT(y.abs().max().item<double>(), 0.0);
}

// channel_mode gray shares one field between the colour channels of one exposure; separate
// exposures (IDT's LED images) get a field each, with the same per-pixel variance.
TEST(MeasurementNoise, SeparateExposuresGetFieldsOfTheirOwn) {
  TaskConfig colour;  // white noise, channel_mode gray
  colour.operator_name = OperatorType::kIdentity;
  auto rgb = make_operator(colour, {3, 32, 32});
  const auto b_rgb = measure(*rgb, torch::zeros({4, 3, 32, 32}, torch::kFloat64),
                             MeasurementNoise::from_config(colour), measurement_seeds(0, 0, 4));
  EXPECT_TRUE(torch::equal(b_rgb.select(1, 0), b_rgb.select(1, 2)));
  TaskConfig idt = colour;
  idt.operator_name = OperatorType::kIdt;
  idt.led_grid = 3;
  auto led = make_operator(idt, {1, 32, 32});
  ASSERT_TRUE(led->measurement_traits().separate_exposures);
  const auto b = measure(*led, torch::zeros({4, 1, 32, 32}, torch::kFloat64),
                         MeasurementNoise::from_config(idt), measurement_seeds(0, 0, 4));
  ASSERT_EQ(b.size(1), 9);
  for (int64_t c = 1; c < 9; ++c) {
    // Independent unit-variance fields: their difference has variance 2 s^2.
    const double var = (b.select(1, c) - b.select(1, 0)).square().mean().item<double>();
    EXPECT_NEAR(var, 2 * idt.noise_level * idt.noise_level,
                0.2 * 2 * idt.noise_level * idt.noise_level)
        << c;
  }
}

TEST(MeasurementNoise, WhiteVarianceIsLevelSquared) {
  TaskConfig task;  // white, unit_variance
  task.noise_level = 0.05;
  const auto noise = MeasurementNoise::from_config(task);
  // 64 x 32 x 32 = 65536 independent pixels: the sample variance has relative std
  // sqrt(2 / 65536) = 0.55%; 3% is more than 5 standard deviations.
  const auto b =
      noise.sample(measurement_seeds(5, 0, 64), {1, 32, 32}, torch::kFloat64, torch::kCPU);
  EXPECT_NEAR(b.var().item<double>() / (0.05 * 0.05), 1.0, 0.03);
  EXPECT_NEAR(b.mean().item<double>(), 0.0, 5 * 0.05 / 256);
}

TEST(MeasurementNoise, GrfVarianceIsLevelSquaredAndSpectrumIsLowPass) {
  const double level = 0.1;
  const int64_t h = 32, w = 32;
  const auto noise = MeasurementNoise::from_config(grf_task(level, 2.0));
  const auto b =
      noise.sample(measurement_seeds(9, 0, 256), {1, h, w}, torch::kFloat64, torch::kCPU);
  // Correlated pixels (correlation area ~ 4 pi sigma^2 = 50 px) leave ~5000 effective samples:
  // relative std of the variance ~2%; tolerance 8%.
  EXPECT_NEAR(b.var().item<double>() / (level * level), 1.0, 0.08);
  // Empirical periodogram against the model's spectrum: the share of energy below 0.08
  // cycles/px (21 of 1024 frequencies). For white noise it would be ~2%.
  const auto periodogram = torch::fft::rfft2(b / level, c10::nullopt, {-2, -1}, "ortho")
                               .abs()
                               .square()
                               .mean(std::vector<int64_t>{0, 1});
  const auto psd = noise.noise().psd(h, w);
  const double expected = low_frequency_fraction(psd, h, w, 0.08);
  const double measured = low_frequency_fraction(periodogram, h, w, 0.08);
  const double white = low_frequency_fraction(torch::ones_like(psd), h, w, 0.08);
  EXPECT_GT(expected, 0.5);
  EXPECT_LT(white, 0.03);
  EXPECT_NEAR(measured, expected, 0.03);
  // And the full shape: the periodogram tracks the psd bin by bin where the power is
  // non-negligible (256 images: each bin's relative std ~ 1/16, their mean's much less).
  const auto significant = psd > 1e-2 * psd.max();
  const auto ratio = (periodogram / psd).masked_select(significant);
  EXPECT_NEAR(ratio.mean().item<double>(), 1.0, 0.05);
}

}  // namespace
}  // namespace wsd
