// The `measured` noise family as a task's measurement noise: simulated measurements and the
// Gaussian measurement model (Wiener filter, and through the same model the proximal step) use
// its spectrum, and a spectrum fitted from white frames acts as white noise.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "core/noise/noise_spectrum_file.hpp"
#include "core/noise/noise_spectrum_fit.hpp"
#include "infer/baselines/wiener_filter.hpp"
#include "tests/infer/dense_gaussian_posterior.hpp"
#include "tests/infer/gaussian_problem.hpp"
#include "tests/support/error_of.hpp"
#include "tests/support/noise_configs.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kH = 16, kW = 12;

double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).norm() / b.norm()).item<double>();
}

NoiseConfig measured(const std::string& name, const NoiseSpectrum& spectrum) {
  NoiseConfig config = test::noise_of(NoiseFamily::kMeasured);
  config.spectrum_file = (fs::path(::testing::TempDir()) / name).string();
  write_noise_spectrum(config.spectrum_file, spectrum);
  return config;
}

NoiseSpectrum spectrum_of(const torch::Tensor& power, int64_t w) {
  NoiseSpectrum s;
  s.power = power;
  s.height = power.size(0);
  s.width = w;
  s.frames = 2;
  s.pixel_variance = full_grid_mean(power, w);
  return s;
}

// Stripes: power concentrated on the fx = 0 column (row offsets) over a white floor.
torch::Tensor striped_power(int64_t h, int64_t w) {
  auto power = torch::full({h, w / 2 + 1}, 0.2, torch::kFloat64);
  power.select(1, 0) += 20.0;
  return power;
}

TEST(MeasuredNoise, WienerIsTheExactPosteriorMeanUnderAnAnisotropicMeasuredNoise) {
  const auto noise = measured("striped.h5", spectrum_of(striped_power(kH, kW), kW));
  auto p = test::make_gaussian_problem(test::blur_task(), 3, kH, kW, 0.1, 7, noise);
  const auto model = p.measurement_model();
  // The model's noise is the file's power at unit pixel variance, times the level squared.
  const auto expected = 0.01 * striped_power(kH, kW) / full_grid_mean(striped_power(kH, kW), kW);
  EXPECT_TRUE(torch::allclose(model.noise_power.view({kH, kW / 2 + 1}), expected, 1e-12, 0));
  const auto wiener = wiener_filter(*p.op, p.y, model);
  const auto exact = test::dense_posterior(*p.op, p.y, model).mean;
  EXPECT_LT(relative_error(wiener, exact), 1e-9);
  // The simulated noise is striped: its row means carry most of its energy.
  const auto b = p.y - p.op->forward(p.x_true);
  const double row_share = (b.mean(-1).square().sum() * kW / b.square().sum()).item<double>();
  EXPECT_GT(row_share, 0.6);  // 0.9 expected; white noise would give 1/W
}

TEST(MeasuredNoise, AFlatSpectrumIsWhiteNoise) {
  const auto flat =
      measured("flat.h5", spectrum_of(torch::full({kH, kW / 2 + 1}, 0.3, torch::kFloat64), kW));
  auto with_flat = test::make_gaussian_problem(test::blur_task(), 2, kH, kW, 0.1, 7, flat);
  auto with_white =
      test::make_gaussian_problem(test::blur_task(), 2, kH, kW, 0.1, 7, test::white_noise());
  // Same seeds and the same unit multiplier: the same measurements and the same Wiener filter.
  EXPECT_TRUE(torch::allclose(with_flat.y, with_white.y, 1e-12, 1e-12));
  EXPECT_LT(
      relative_error(wiener_filter(*with_flat.op, with_flat.y, with_flat.measurement_model()),
                     wiener_filter(*with_white.op, with_white.y, with_white.measurement_model())),
      1e-12);
}

// Fitted from N white frames, each bin's power is off by a relative error of std 1/sqrt(N).
// The Wiener estimate's deviation from the mean, per frequency G (y - A mu) with gain
// G = |T|^2 P / (|T|^2 P + N), changes by the factor (1 - G) dN/N to first order, so its rms
// relative change is at most the bins' rms relative error: below 1.3/sqrt(N) with fixed seeds.
TEST(MeasuredNoise, ASpectrumFittedFromWhiteFramesActsAsWhiteNoise) {
  const int64_t n = 256;
  auto gen = at::detail::createCPUGenerator(21);
  const auto frames = 0.05 * torch::randn({n, kH, kW}, gen, torch::kFloat64);
  const auto fit = fit_noise_spectrum(frames, MeanRemoval::kFrame, "white frames");
  const auto fitted = measured("fitted_white.h5", fit.spectrum);
  auto white =
      test::make_gaussian_problem(test::blur_task(), 3, kH, kW, 0.1, 7, test::white_noise());
  const auto model = white.measurement_model();
  const auto fitted_model =
      GaussianMeasurementModel::make(white.statistics, 0.01 * StructuredNoise(fitted).psd(kH, kW));
  const auto mean = white.statistics.mean;
  const auto reference = wiener_filter(*white.op, white.y, model) - mean;
  const auto estimate = wiener_filter(*white.op, white.y, fitted_model) - mean;
  const double change = relative_error(estimate, reference);
  EXPECT_LT(change, 1.3 / std::sqrt(static_cast<double>(n)));
  EXPECT_GT(change, 0.0);  // it is an estimate, not the white family itself
}

TEST(MeasuredNoise, AMeasurementOfAnotherSizeIsOneErrorNamingTheFile) {
  const auto noise = measured("small.h5", spectrum_of(striped_power(8, 8), 8));
  const std::string message = test::error_of(
      [&] { test::make_gaussian_problem(test::blur_task(), 1, kH, kW, 0.1, 7, noise); });
  EXPECT_NE(message.find(noise.spectrum_file), std::string::npos) << message;
  EXPECT_NE(message.find("8 x 8"), std::string::npos) << message;
  EXPECT_NE(message.find("16 x 12"), std::string::npos) << message;
}

}  // namespace
}  // namespace wsd
