#include "core/diffusion/gaussian_prior.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "core/diffusion/forward_process.hpp"
#include "core/noise/structured_noise.hpp"
#include "tests/support/noise_configs.hpp"

namespace wsd {
namespace {

using test::edited;
using test::noise_of;

torch::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

double max_abs(const torch::Tensor& x) { return x.abs().max().item<double>(); }

double full_grid_mean(const torch::Tensor& p, int64_t w) {
  auto m = torch::full({w / 2 + 1}, 2.0, torch::kFloat64);
  m[0] = 1.0;
  if (w % 2 == 0) m[w / 2] = 1.0;
  return ((p * m).sum() / static_cast<double>(p.size(-2) * w)).item<double>();
}

// A natural-image-like spectrum (|f| + 0.05)^-2 on the rfft2 grid, scaled so that the pixel
// variance (the full-grid mean) is `variance`.
torch::Tensor image_spectrum(int64_t h, int64_t w, double variance) {
  const auto fy = torch::fft::fftfreq(h, torch::kFloat64).view({h, 1});
  const auto fx = torch::fft::rfftfreq(w, torch::kFloat64).view({1, -1});
  const auto p = torch::pow(torch::sqrt(fy.square() + fx.square()) + 0.05, -2.0);
  return p * (variance / full_grid_mean(p, w));
}

// The half spectrum extended to the full H x W grid by Hermitian symmetry.
torch::Tensor full_grid(const torch::Tensor& half, int64_t w) {
  const int64_t h = half.size(-2);
  auto full = torch::empty({h, w}, torch::kFloat64);
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < w; ++c) {
      full[r][c] = c <= w / 2 ? half[r][c] : half[(h - r) % h][w - c];
    }
  }
  return full;
}

// mu + F^-1[alpha P / (alpha^2 P + sigma^2 k^2)] F (x - alpha mu) with the complex full-grid
// FFT, independently of the library's rfft2 code.
torch::Tensor reference_wiener(const torch::Tensor& x, const torch::Tensor& mean,
                               const torch::Tensor& power, const torch::Tensor& noise_power,
                               const DiffusionSchedule& schedule, const torch::Tensor& t) {
  const int64_t w = x.size(-1);
  const auto p = full_grid(power, w);
  const auto k2 = full_grid(noise_power, w);
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < x.size(0); ++i) {
    const double ti = t[i].item<double>();
    const double alpha = schedule.alpha(ti), sigma = schedule.sigma(ti);
    const auto gain = alpha * p / (alpha * alpha * p + sigma * sigma * k2);
    const auto centred = torch::fft::fft2(x[i] - alpha * mean);
    out.push_back(mean + torch::real(torch::fft::ifft2(gain * centred)));
  }
  return torch::stack(out);
}

TEST(GaussianPrior, TweedieOfExactScoreIsTheWienerFilter) {
  const auto schedule = make_schedule("vp");
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{8, 8}, {12, 9}, {7, 10}}) {
    auto gen = make_generator(1);
    const int64_t n = 5, c = 2;
    const auto mean = 0.3 * torch::randn({c, h, w}, gen, torch::kFloat64);
    const auto power = image_spectrum(h, w, 0.25);
    const StructuredNoise noise(edited(noise_of(NoiseFamily::kGrf), [&](NoiseConfig& c) {
      c.grf_sigma_min = 1.0;
      c.grf_sigma_max = 2.0;
      c.anisotropic = true;
      c.rotate = true;
    }));
    const auto k2 = noise.psd(h, w);
    const GaussianPrior prior(mean, power, k2, schedule);
    const auto t = torch::tensor({1e-3, 0.1, 0.4, 0.7, 1.0}, torch::kFloat64);
    const auto x = torch::randn({n, c, h, w}, gen, torch::kFloat64);
    const auto reference = reference_wiener(x, mean, power, k2, *schedule, t);
    EXPECT_LT(max_abs(prior.tweedie(x, t) - reference), 1e-10) << h << "x" << w;
    EXPECT_LT(max_abs(prior.wiener_x0(x, t) - reference), 1e-10) << h << "x" << w;
    // The score itself: s_W = (sigma^2/beta)^-1 (alpha x0_hat - x).
    const auto alpha = schedule->alpha(t).view({-1, 1, 1, 1});
    const auto scale = (schedule->beta(t) / schedule->sigma(t).square()).view({-1, 1, 1, 1});
    EXPECT_LT(max_abs(prior.whitened_score(x, t) - scale * (alpha * reference - x)),
              1e-9 * max_abs(scale));
  }
}

// E[-(beta/sigma) n | x_t] estimated by least squares over many (x0, n) draws in a
// 4 x 5 (20-dimensional) setup equals the exact affine map x -> s_W(x).
TEST(GaussianPrior, ExactScoreMatchesTheRegressedConditionalTarget) {
  const int64_t h = 4, w = 5, d = h * w, m = 40000;
  const auto schedule = make_schedule("vp");
  auto gen = make_generator(2);
  const auto mean = 0.5 * torch::rand({1, h, w}, gen, torch::kFloat64);
  const StructuredNoise noise(
      edited(noise_of(NoiseFamily::kPowerLaw), [&](NoiseConfig& c) { c.power_exponent = 1.0; }),
      torch::kFloat64);
  const GaussianPrior prior(mean, image_spectrum(h, w, 0.25), noise.psd(h, w), schedule);
  const double t = 0.4;
  const double alpha = schedule->alpha(t), sigma = schedule->sigma(t), beta = schedule->beta(t);
  const auto x0 = prior.sample(m, gen);
  const auto n = noise.sample(m, 1, h, w, gen);
  const auto x_t = alpha * x0 + sigma * n;
  const auto target = (-beta / sigma * n).reshape({m, d});
  const auto design = torch::cat({x_t.reshape({m, d}), torch::ones({m, 1}, torch::kFloat64)}, 1);
  const auto coefficients = torch::linalg_solve(torch::matmul(design.t(), design),
                                                torch::matmul(design.t(), target));  // [d+1, d]

  // The exact map: s_W(x) = A x + b, read off by applying it to 0 and the basis images.
  const auto times = torch::full({d + 1}, t, torch::kFloat64);
  auto probes = torch::zeros({d + 1, d}, torch::kFloat64);
  probes.slice(0, 1).copy_(torch::eye(d, torch::kFloat64));
  const auto scores =
      prior.whitened_score(probes.view({d + 1, 1, h, w}), times).reshape({d + 1, d});
  const auto offset = scores[0];
  const auto matrix = (scores.slice(0, 1) - offset).t();  // A[i][j] = d s_i / d x_j
  const auto estimated_matrix = coefficients.slice(0, 0, d).t();
  const auto estimated_offset = coefficients[d];
  const double matrix_error =
      (torch::linalg_norm(estimated_matrix - matrix) / torch::linalg_norm(matrix)).item<double>();
  const double offset_error =
      (torch::linalg_norm(estimated_offset - offset) / torch::linalg_norm(offset)).item<double>();
  std::printf("[ regress  ] relative error: matrix %.4f, offset %.4f\n", matrix_error,
              offset_error);
  EXPECT_LT(matrix_error, 0.03);
  EXPECT_LT(offset_error, 0.05);
  // The regression does resolve a mis-specified prior: white k^2 gives a different map.
  const GaussianPrior white(mean, image_spectrum(h, w, 0.25), torch::ones({h, w / 2 + 1}),
                            schedule);
  const auto white_scores =
      white.whitened_score(probes.view({d + 1, 1, h, w}), times).reshape({d + 1, d});
  const auto white_matrix = (white_scores.slice(0, 1) - white_scores[0]).t();
  EXPECT_GT((torch::linalg_norm(estimated_matrix - white_matrix) / torch::linalg_norm(matrix))
                .item<double>(),
            5.0 * matrix_error);
}

TEST(GaussianPrior, ExactPriorDenoisesBetterThanMisspecifiedOnes) {
  const int64_t n = 512, h = 32, w = 32;
  const auto schedule = make_schedule("vp");
  auto gen = make_generator(3);
  const auto mean = 0.5 * torch::randn({1, h, w}, gen, torch::kFloat64);
  const auto power = image_spectrum(h, w, 0.25);
  const StructuredNoise noise(edited(noise_of(NoiseFamily::kGrf),
                                     [&](NoiseConfig& c) {
                                       c.grf_sigma_min = 2.0;
                                       c.grf_sigma_max = 2.0;
                                     }),
                              torch::kFloat64);
  const auto k2 = noise.psd(h, w);
  const GaussianPrior exact(mean, power, k2, schedule);
  const double t = 0.5;
  const auto times = torch::full({n}, t, torch::kFloat64);
  const auto x0 = exact.sample(n, gen);
  const auto x_t = schedule->alpha(t) * x0 + schedule->sigma(t) * noise.sample(n, 1, h, w, gen);
  const auto mse = [&](const GaussianPrior& prior) {
    return (prior.tweedie(x_t, times) - x0).square().mean().item<double>();
  };
  const double exact_mse = mse(exact);
  const double theory = exact.mmse(torch::tensor(t, torch::kFloat64)).item<double>();
  const double white_noise_mse =
      mse(GaussianPrior(mean, power, torch::ones_like(k2), schedule));  // conventional model
  const double wrong_spectrum_mse = mse(GaussianPrior(mean, 0.1 * power, k2, schedule));
  const double no_mean_mse = mse(GaussianPrior(torch::zeros_like(mean), power, k2, schedule));
  std::printf(
      "[ tweedie  ] MSE exact %.5f (theory %.5f), white-noise k %.5f, P/10 %.5f, mu=0 %.5f\n",
      exact_mse, theory, white_noise_mse, wrong_spectrum_mse, no_mean_mse);
  EXPECT_NEAR(exact_mse / theory, 1.0, 0.05);
  EXPECT_GT(white_noise_mse, 1.05 * exact_mse);
  EXPECT_GT(wrong_spectrum_mse, 1.05 * exact_mse);
  EXPECT_GT(no_mean_mse, 1.05 * exact_mse);
  // The noised image itself is a much worse estimate than the posterior mean.
  EXPECT_GT((x_t / schedule->alpha(t) - x0).square().mean().item<double>(), 2.0 * exact_mse);
}

TEST(GaussianPrior, StatisticsRecoverMeanAndSpectrum) {
  const int64_t n = 4096, c = 2, h = 16, w = 12;
  const auto schedule = make_schedule("vp");
  auto gen = make_generator(4);
  const auto mean = 0.3 * torch::randn({c, h, w}, gen, torch::kFloat64);
  const auto power = image_spectrum(h, w, 0.25);
  const GaussianPrior truth(mean, power, torch::ones_like(power), schedule);
  const auto images = truth.sample(n, gen);

  const auto stats = estimate_gaussian_statistics(images);
  ASSERT_EQ(stats.count, n);
  ASSERT_EQ(stats.mean.sizes(), (std::vector<int64_t>{c, h, w}));
  ASSERT_EQ(stats.power_spectrum.sizes(), (std::vector<int64_t>{h, w / 2 + 1}));
  EXPECT_LT(max_abs(stats.mean - mean), 5.0 * std::sqrt(0.25 / n));
  // Per bin: a chi-square average over n images and c channels, relative error ~1.6%.
  const double spectrum_error = max_abs(stats.power_spectrum / power - 1.0);
  std::printf("[ estimate ] max relative error of P per bin %.4f\n", spectrum_error);
  EXPECT_LT(spectrum_error, 0.08);
  EXPECT_NEAR(full_grid_mean(stats.power_spectrum, w), 0.25, 0.25 * 0.02);

  // Streaming in batches gives the same statistics as one batch.
  GaussianStatisticsAccumulator accumulator;
  accumulator.add(images.slice(0, 0, 1000));
  accumulator.add(images.slice(0, 1000));
  const auto streamed = accumulator.finish();
  EXPECT_LT(max_abs(streamed.power_spectrum - stats.power_spectrum), 1e-10);
  EXPECT_LT(max_abs(streamed.mean - stats.mean), 1e-12);

  // Per-channel spectra and the scalar mean on stationary data (constant mean per channel).
  const auto stationary =
      GaussianPrior(torch::full({c, h, w}, 0.1, torch::kFloat64), power, power, schedule)
          .sample(n, gen);
  const auto scalar = estimate_gaussian_statistics(
      stationary, GaussianStatisticsOptions().mean(PriorMean::kScalar).per_channel(true));
  ASSERT_EQ(scalar.power_spectrum.sizes(), (std::vector<int64_t>{c, h, w / 2 + 1}));
  EXPECT_LT(max_abs(scalar.mean - 0.1), 0.01);
  EXPECT_EQ(max_abs(scalar.mean[0] - scalar.mean[0][0][0]), 0.0);
  // The DC bin must have the mean removed: without it it would be ~ HW * 0.01 = 1.9 vs P(0).
  EXPECT_LT(
      std::abs(scalar.power_spectrum[0][0][0].item<double>() / power[0][0].item<double>() - 1.0),
      0.15);
  EXPECT_LT(max_abs(scalar.power_spectrum / power - 1.0), 0.15);
}

TEST(GaussianPrior, WorksInFloat32AndRejectsMismatchedShapes) {
  const auto schedule = make_schedule("vp");
  auto gen = make_generator(5);
  const int64_t h = 16, w = 16;
  const auto mean = torch::zeros({3, h, w}, torch::kFloat64);
  const auto power = image_spectrum(h, w, 0.25);
  const GaussianPrior prior(mean, power, torch::ones_like(power), schedule);
  const auto x = torch::randn({2, 3, h, w}, gen, torch::kFloat64);
  const auto t = torch::tensor({0.2, 0.6}, torch::kFloat64);
  const auto s64 = prior.whitened_score(x, t);
  const auto s32 = prior.whitened_score(x.to(torch::kFloat32), t.to(torch::kFloat32));
  EXPECT_EQ(s32.scalar_type(), torch::kFloat32);
  EXPECT_LT(max_abs(s32.to(torch::kFloat64) - s64), 1e-5 * max_abs(s64));
  EXPECT_ANY_THROW(
      GaussianPrior(mean, image_spectrum(h, w + 2, 0.25), torch::ones_like(power), schedule));
  EXPECT_ANY_THROW(GaussianPrior(mean, power, torch::ones({h + 1, w / 2 + 1}), schedule));
  EXPECT_ANY_THROW(prior.whitened_score(torch::zeros({2, 1, h, w}), t));
}

}  // namespace
}  // namespace wsd
