// `noise fit` and the `measured` family: an anisotropic spectrum is recovered from frames, the
// family samples the fitted spectrum, and bad input is one error naming the file.
#include "core/noise/noise_spectrum_fit.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "core/noise/noise_spectrum_file.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"
#include "tests/support/error_of.hpp"
#include "tests/support/noise_configs.hpp"
#include "tests/support/spectrum_regions.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;
using test::error_of;

constexpr double kPi = 3.14159265358979323846;
// Every region must lie within this many of its standard errors: with 16 regions and fixed
// seeds a correct estimate passes with a wide margin, a biased one (a wrong normalisation, a
// transposed axis, a lost factor 2) fails.
constexpr double kStandardErrors = 4.0;

constexpr int64_t kH = 32, kW = 24;

// An anisotropic spectrum: a Gaussian kernel of std 0.6 px along x and 2.5 px along y (noise
// correlated along columns, i.e. horizontal stripes) over a white floor, pixel std 0.1.
torch::Tensor anisotropic_power(int64_t h, int64_t w) {
  const auto fy = torch::fft::fftfreq(h, torch::kFloat64).view({h, 1});
  const auto fx = torch::fft::rfftfreq(w, torch::kFloat64).view({1, -1});
  auto power = torch::exp(-4.0 * kPi * kPi * (0.36 * fx.square() + 6.25 * fy.square())) + 0.05;
  return 0.01 * power / full_grid_mean(power, w);
}

// `n` frames of noise with spectrum `power`, each on its own random offset with `offsets`
// (which the frame mean removal must discard).
torch::Tensor frames_of(const torch::Tensor& power, int64_t n, int64_t w, uint64_t seed,
                        bool offsets = true) {
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t h = power.size(0);
  const auto e = torch::randn({n, h, w}, gen, torch::kFloat64);
  const auto coloured =
      torch::fft::irfft2(torch::fft::rfft2(e, c10::nullopt, {-2, -1}, "ortho") * power.sqrt(),
                         std::vector<int64_t>{h, w}, {-2, -1}, "ortho");
  return offsets ? coloured + torch::rand({n, 1, 1}, gen, torch::kFloat64) : coloured;
}

std::string temp_path(const std::string& name) {
  return (fs::path(::testing::TempDir()) / name).string();
}

// Every region of `estimate` (a mean of `frames` periodograms) against `expected`.
void expect_regions_match(const torch::Tensor& estimate, const torch::Tensor& expected, int64_t w,
                          int64_t frames, const std::string& what) {
  const auto regions = test::spectrum_regions(expected.size(0), w);
  int checked = 0;
  for (size_t i = 0; i < regions.size(); ++i) {
    if (regions[i].weight.sum().item<double>() == 0) continue;
    const double truth = test::region_mean(expected, regions[i]);
    const double se = test::region_standard_error(expected, regions[i], w, frames);
    const double got = test::region_mean(estimate, regions[i]);
    EXPECT_LT(std::abs(got - truth), kStandardErrors * se)
        << what << " region " << i << " (band " << i / 2
        << (i % 2 == 0 ? ", |fx|>|fy|" : ", |fy|>=|fx|") << "): " << got << " vs " << truth
        << ", se " << se;
    ++checked;
  }
  EXPECT_GE(checked, 14) << what;
}

TEST(NoiseSpectrumFit, RecoversAnAnisotropicSpectrumWithinItsStandardErrors) {
  const int64_t n = 96;
  const auto truth = anisotropic_power(kH, kW);
  const auto fit = fit_noise_spectrum(frames_of(truth, n, kW, 11), MeanRemoval::kFrame, "frames");
  EXPECT_EQ(fit.spectrum.frames, n);
  EXPECT_EQ(fit.spectrum.height, kH);
  EXPECT_EQ(fit.spectrum.width, kW);
  ASSERT_EQ(fit.spectrum.power.sizes(), (std::vector<int64_t>{kH, kW / 2 + 1}));
  expect_regions_match(fit.spectrum.power, truth, kW, n, "fit");
  // The anisotropy itself: power falls much faster along fy than along fx.
  const auto p = fit.spectrum.power;
  EXPECT_GT(p[0][4].item<double>(), 3.0 * p[4][0].item<double>());
  // Pixel std: the spectrum's full-grid mean, 0.01 in truth, within a few of the fit's spread.
  EXPECT_NEAR(fit.pixel_std, 0.1, 0.01);
  // The DC bin, not estimable after frame mean removal, takes its neighbours' power.
  EXPECT_GT(p[0][0].item<double>(), 0.0);
  // The reported relative standard errors (from the spread across frames) against the exact
  // ones of the true spectrum: an estimate from 96 frames is within about 8% of its value, so
  // a factor 1.3 is about four of its own standard errors.
  ASSERT_EQ(fit.bands.size(), 8u);
  const auto regions = test::spectrum_regions(kH, kW);
  for (int b = 1; b < 8; ++b) {
    const auto& band = fit.bands[static_cast<size_t>(b)];
    const test::SpectrumRegion whole{regions[2 * b].weight + regions[2 * b + 1].weight};
    EXPECT_EQ(band.frequencies, std::llround(whole.weight.sum().item<double>())) << "band " << b;
    const double exact =
        test::region_standard_error(truth, whole, kW, n) / test::region_mean(truth, whole);
    EXPECT_GT(band.relative_se, exact / 1.3) << "band " << b;
    EXPECT_LT(band.relative_se, exact * 1.3) << "band " << b;
    EXPECT_NEAR(band.power, test::region_mean(truth, whole), kStandardErrors * exact * band.power)
        << "band " << b;
  }
}

TEST(NoiseSpectrumFit, TemporalMeanRemovalKeepsTheDcAndIsUnbiased) {
  const int64_t n = 96;
  const auto truth = anisotropic_power(kH, kW);
  // A fixed pattern, the same in every frame, is removed with the per-pixel mean.
  auto gen = at::detail::createCPUGenerator(12);
  const auto pattern = torch::rand({1, kH, kW}, gen, torch::kFloat64);
  const auto frames = frames_of(truth, n, kW, 12, /*offsets=*/false) + pattern;
  const auto fit = fit_noise_spectrum(frames, MeanRemoval::kTemporal, "frames");
  EXPECT_EQ(fit.spectrum.mean_removal, "temporal");
  expect_regions_match(fit.spectrum.power, truth, kW, n - 1, "temporal fit");
  // The DC bin is estimated here (one real bin: relative standard error sqrt(2 / (N - 1))).
  const double dc = truth[0][0].item<double>();
  EXPECT_NEAR(fit.spectrum.power[0][0].item<double>(), dc,
              kStandardErrors * std::sqrt(2.0 / static_cast<double>(n - 1)) * dc);
}

TEST(NoiseSpectrumFit, SamplesOfTheMeasuredFamilyHaveTheFittedSpectrum) {
  const auto truth = anisotropic_power(kH, kW);
  const auto fit = fit_noise_spectrum(frames_of(truth, 64, kW, 13), MeanRemoval::kFrame, "frames");
  const std::string path = temp_path("measured_family.h5");
  write_noise_spectrum(path, fit.spectrum);

  NoiseConfig config = test::noise_of(NoiseFamily::kMeasured);
  config.spectrum_file = path;
  const StructuredNoise noise(config, torch::kFloat64);
  const auto psd = noise.psd(kH, kW);
  // Unit pixel variance, proportional to the fitted power.
  EXPECT_NEAR(full_grid_mean(psd, kW), 1.0, 1e-12);
  EXPECT_TRUE(torch::allclose(psd * fit.spectrum.pixel_variance, fit.spectrum.power, 1e-12, 0));
  NoiseParams one;
  one.batch = 1;
  EXPECT_TRUE(torch::allclose(noise.transfer_function(one, kH, kW)[0][0].square(), psd));

  const int64_t m = 128;
  auto gen = at::detail::createCPUGenerator(5);
  const auto samples = noise.sample(m, 1, kH, kW, gen);
  const auto periodogram =
      torch::fft::rfft2(samples.to(torch::kFloat64), c10::nullopt, {-2, -1}, "ortho")
          .abs()
          .square()
          .mean(std::vector<int64_t>{0, 1});
  expect_regions_match(periodogram, psd, kW, m, "samples");

  // spectrum_white_fraction mixes as the mixture family does.
  config.spectrum_white_fraction = 0.25;
  const auto mixed = StructuredNoise(config).psd(kH, kW);
  EXPECT_TRUE(torch::allclose(mixed, 0.75 * psd + 0.25, 1e-12, 1e-12));
}

TEST(NoiseSpectrumFit, TheFileRoundTrips) {
  const auto fit = fit_noise_spectrum(frames_of(anisotropic_power(kH, kW), 4, kW, 14),
                                      MeanRemoval::kFrame, "my frames");
  const std::string path = temp_path("round_trip.h5");
  write_noise_spectrum(path, fit.spectrum);
  const NoiseSpectrum read = read_noise_spectrum(path);
  EXPECT_TRUE(torch::equal(read.power, fit.spectrum.power));
  EXPECT_TRUE(torch::equal(read.power_se, fit.spectrum.power_se));
  EXPECT_EQ(read.frames, 4);
  EXPECT_EQ(read.height, kH);
  EXPECT_EQ(read.width, kW);
  EXPECT_EQ(read.source, "my frames");
  EXPECT_NEAR(read.pixel_variance, fit.spectrum.pixel_variance, 1e-15);
}

TEST(NoiseSpectrumFit, BadFramesAreOneErrorNamingTheSource) {
  const auto truth = anisotropic_power(kH, kW);
  const auto one = frames_of(truth, 1, kW, 1);
  EXPECT_NE(error_of([&] {
              fit_noise_spectrum(one, MeanRemoval::kFrame, "dark.h5");
            }).find("dark.h5: 1 frame(s); a noise fit needs at least 2"),
            std::string::npos);
  auto poisoned = frames_of(truth, 5, kW, 2);
  poisoned[3][7][2] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(error_of([&] {
              fit_noise_spectrum(poisoned, MeanRemoval::kFrame, "dark.h5");
            }).find("dark.h5: frame 3 holds NaN or Inf"),
            std::string::npos);
  poisoned[3][7][2] = 0.0;
  poisoned[4][0][0] = std::numeric_limits<double>::infinity();
  EXPECT_NE(error_of([&] {
              fit_noise_spectrum(poisoned, MeanRemoval::kFrame, "dark.h5");
            }).find("frame 4"),
            std::string::npos);
  const auto flat = torch::full({3, kH, kW}, 0.2, torch::kFloat64);
  EXPECT_NE(error_of([&] {
              fit_noise_spectrum(flat, MeanRemoval::kFrame, "flat.h5");
            }).find("flat.h5: the frames have no variation"),
            std::string::npos);
}

TEST(MeasuredNoise, BadSpectrumFilesAreOneErrorNamingTheFile) {
  NoiseConfig config = test::noise_of(NoiseFamily::kMeasured);
  config.spectrum_file = temp_path("no_such_spectrum.h5");
  EXPECT_NE(error_of([&] { StructuredNoise{config}; }).find(config.spectrum_file + ": no such"),
            std::string::npos);

  // An HDF5 file of another kind.
  config.spectrum_file = temp_path("not_a_spectrum.h5");
  write_h5_atomically(config.spectrum_file, [](h5::File& f) {
    f.write_tensor("/power", torch::ones({4, 3}));
  });
  EXPECT_NE(error_of([&] {
              StructuredNoise{config};
            }).find(config.spectrum_file + ": not a wsdiff noise spectrum file"),
            std::string::npos);

  // /power of the wrong shape for its attributes.
  NoiseSpectrum bad;
  bad.power = torch::ones({8, 4}, torch::kFloat64);
  bad.height = 8;
  bad.width = 8;  // [8, 5] expected
  bad.frames = 2;
  config.spectrum_file = temp_path("bad_shape_spectrum.h5");
  write_noise_spectrum(config.spectrum_file, bad);
  const std::string message = error_of([&] { StructuredNoise{config}; });
  EXPECT_NE(message.find(config.spectrum_file + ": /power is [8, 4], expected [8, 5]"),
            std::string::npos)
      << message;

  // A negative value.
  bad.power = torch::ones({8, 5}, torch::kFloat64);
  bad.power[1][1] = -1.0;
  write_noise_spectrum(config.spectrum_file, bad);
  EXPECT_NE(error_of([&] { StructuredNoise{config}; }).find("negative, NaN or infinite"),
            std::string::npos);

  // The family without a file is a config error, reported as an input error.
  config.spectrum_file.clear();
  EXPECT_NE(error_of([&] { StructuredNoise{config}; }).find("spectrum_file"), std::string::npos);
}

TEST(MeasuredNoise, AnotherImageSizeIsOneErrorNamingTheFileAndBothShapes) {
  const auto fit = fit_noise_spectrum(frames_of(anisotropic_power(kH, kW), 4, kW, 15),
                                      MeanRemoval::kFrame, "frames");
  NoiseConfig config = test::noise_of(NoiseFamily::kMeasured);
  config.spectrum_file = temp_path("size_mismatch.h5");
  write_noise_spectrum(config.spectrum_file, fit.spectrum);
  const StructuredNoise noise(config);
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{16, 16}, {32, 25}}) {
    const std::string message = error_of([&] { noise.psd(h, w); });
    EXPECT_NE(message.find(config.spectrum_file), std::string::npos) << message;
    EXPECT_NE(message.find("32 x 24"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(h) + " x " + std::to_string(w)), std::string::npos)
        << message;
    auto gen = at::detail::createCPUGenerator(1);
    EXPECT_NE(error_of([&] { noise.sample(1, 1, h, w, gen); }).find(config.spectrum_file),
              std::string::npos);
  }
  // The given embedded copy is used without the file.
  fs::remove(config.spectrum_file);
  const StructuredNoise embedded(config, noise.measured());
  EXPECT_TRUE(torch::equal(embedded.psd(kH, kW), noise.psd(kH, kW)));
}

}  // namespace
}  // namespace wsd
