#include "core/diffusion/forward_process.hpp"
#include "core/diffusion/whitened_score_loss.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "core/noise/noise_power_filter.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"
#include "tests/support/noise_configs.hpp"

namespace wsd {
namespace {

using test::edited;
using test::noise_of;

torch::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

ForwardProcess diffusion(Parameterisation parameterisation, int sign = 1) {
  return ForwardProcess(
      make_schedule("vp"),
      ForwardProcessOptions().parameterisation(parameterisation).score_sign(sign));
}

double max_abs(const torch::Tensor& x) { return x.abs().max().item<double>(); }

// Radial band means (|f| in [b/16, (b+1)/16), corners last) of a half-grid spectrum, every
// rfft2 bin weighted by the number of full-grid frequencies it stands for.
std::vector<double> band_means(const torch::Tensor& power, int64_t h, int64_t w) {
  const auto fy = torch::fft::fftfreq(h, torch::kFloat64).view({h, 1});
  const auto fx = torch::fft::rfftfreq(w, torch::kFloat64).view({1, -1});
  const auto band = (torch::sqrt(fy.square() + fx.square()) * 16.0).floor().clamp_max(8);
  auto weight = torch::full({1, w / 2 + 1}, 2.0, torch::kFloat64);
  weight[0][0] = 1.0;
  if (w % 2 == 0) weight[0][w / 2] = 1.0;
  std::vector<double> means;
  for (int b = 0; b <= 8; ++b) {
    const auto mask = (band == b).to(torch::kFloat64) * weight;
    means.push_back(((power * mask).sum() / mask.sum()).item<double>());
  }
  return means;
}

// x_t = alpha x0 + sigma K e: mean alpha x0 and covariance sigma^2 K K^T, the latter checked
// through the spectrum of x_t - alpha x0 against sigma^2 psd.
TEST(ForwardProcess, PerturbedSamplesHaveMeanAlphaX0AndCovarianceSigmaSquaredKKt) {
  const int64_t n = 4096, h = 32, w = 32;
  const auto process = diffusion(Parameterisation::kWs);
  const StructuredNoise noise(edited(noise_of(NoiseFamily::kGrf),
                                     [&](NoiseConfig& c) {
                                       c.grf_sigma_min = 2.0;
                                       c.grf_sigma_max = 2.0;
                                     }),
                              torch::kFloat64);
  auto gen = make_generator(1);
  const auto x0 = torch::rand({1, 1, h, w}, gen, torch::kFloat64) * 2.0 - 1.0;
  const double t = 0.3;
  const auto times = torch::full({n}, t, torch::kFloat64);
  const auto x_t = process.perturb(x0.expand({n, 1, h, w}), noise.sample(n, 1, h, w, gen), times);
  const double alpha = process.schedule().alpha(t);
  const double sigma = process.schedule().sigma(t);

  // Each pixel's mean: standard error sigma / sqrt(n) = 0.009; 5 standard errors.
  const auto mean_error = max_abs(x_t.mean(0) - alpha * x0[0]);
  EXPECT_LT(mean_error, 5.0 * sigma / std::sqrt(static_cast<double>(n)));
  // A wrong alpha (e.g. sqrt(alpha), or x0 unscaled) is far outside that bound.
  EXPECT_GT(max_abs(x_t.mean(0) - x0[0]), 10.0 * sigma / std::sqrt(static_cast<double>(n)));

  const auto residual = x_t - alpha * x0;
  const auto empirical =
      torch::fft::rfft2(residual, c10::nullopt, {-2, -1}, "ortho").abs().square().mean(0)[0];
  const auto expected = band_means(sigma * sigma * noise.psd(h, w), h, w);
  const auto measured = band_means(empirical, h, w);
  double worst = 0.0;
  for (size_t b = 0; b < expected.size(); ++b) {
    worst = std::max(worst, std::abs(measured[b] / expected[b] - 1.0));
  }
  std::printf("[ spectrum ] x_t - alpha x0 vs sigma^2 psd: worst band error %.4f\n", worst);
  EXPECT_LT(worst, 0.05);
}

TEST(ForwardProcess, TweedieRecoversX0FromTheExactConditionalTarget) {
  const auto schedule = make_schedule("vp");
  auto gen = make_generator(2);
  const int64_t n = 16;
  const auto t = torch::linspace(1e-3, 1.0, n, torch::kFloat64);
  const auto x0 = torch::rand({n, 3, 8, 8}, gen, torch::kFloat64) * 2.0 - 1.0;
  const auto noise = torch::randn({n, 3, 8, 8}, gen, torch::kFloat64);
  const auto process = diffusion(Parameterisation::kWs);
  const auto x_t = process.perturb(x0, noise, t);
  const auto s_w = whitened_score_target(*schedule, noise, t);
  EXPECT_LT(max_abs(tweedie_x0(*schedule, x_t, s_w, t) - x0), 1e-10);
  // The target is -(beta/sigma) n per sample, not a batch-wide factor.
  const double beta = schedule->beta(0.5), sigma = schedule->sigma(0.5);
  const auto half = torch::full({n}, 0.5, torch::kFloat64);
  EXPECT_LT(max_abs(whitened_score_target(*schedule, noise, half) + beta / sigma * noise), 1e-12);
  // float32 to 1e-5 (for t <= 0.5, where 1/alpha_t < 13 keeps rounding below that).
  const auto t32 = torch::linspace(1e-3, 0.5, n, torch::kFloat64);
  const auto x0f = x0.to(torch::kFloat32);
  const auto nf = noise.to(torch::kFloat32);
  const auto x_t32 = process.perturb(x0f, nf, t32);
  EXPECT_EQ(x_t32.scalar_type(), torch::kFloat32);
  EXPECT_LT(
      max_abs(tweedie_x0(*schedule, x_t32, whitened_score_target(*schedule, nf, t32), t32) - x0f),
      1e-5);
}

TEST(ForwardProcess, WsAndNoiseParameterisationsGiveTheSameScore) {
  auto gen = make_generator(3);
  const int64_t n = 6;
  const auto t = torch::tensor({0.01, 0.1, 0.3, 0.5, 0.8, 1.0}, torch::kFloat64);
  const auto x0 = torch::rand({n, 1, 8, 8}, gen, torch::kFloat64);
  const auto noise = torch::randn({n, 1, 8, 8}, gen, torch::kFloat64);
  const auto exact = whitened_score_target(*make_schedule("vp"), noise, t);
  for (const int sign : {1, -1}) {
    const auto ws = diffusion(Parameterisation::kWs, sign);
    const auto eps = diffusion(Parameterisation::kNoise, sign);
    // Outputs that correspond to each other: each process's own regression target.
    const auto ws_output = ws.target(x0, noise, t);
    const auto noise_output = eps.target(x0, noise, t);
    EXPECT_LT(max_abs(noise_output - sign * noise), 1e-15);
    const auto x_t = ws.perturb(x0, noise, t);
    EXPECT_LT(max_abs(ws.whitened_score(ws_output, x_t, t) - exact), 1e-10) << sign;
    EXPECT_LT(max_abs(eps.whitened_score(noise_output, x_t, t) - exact), 1e-10) << sign;
    // And so the same x0 estimate.
    EXPECT_LT(max_abs(ws.x0_estimate(ws_output, x_t, t) - x0), 1e-10);
    EXPECT_LT(max_abs(eps.x0_estimate(noise_output, x_t, t) - x0), 1e-10);
  }
  // A sign mismatch is visible: an output read with the wrong sign flips the score.
  const auto ws = diffusion(Parameterisation::kWs, 1);
  const auto flipped = diffusion(Parameterisation::kWs, -1);
  const auto output = ws.target(x0, noise, t);
  EXPECT_LT(max_abs(flipped.whitened_score(output, ws.perturb(x0, noise, t), t) + exact), 1e-10);
}

// The edm parameterisation against its closed forms: its target read back gives x0 and the exact
// whitened score at every t (including t = 1, where sigma/alpha ~ 150, and t = 1e-3, where
// sigma ~ 0.01), the target has unit variance for data of std sigma_d at every t, and the
// network input c_in x_t has unit variance.
TEST(ForwardProcess, EdmParameterisationIsExactAndUnitVariance) {
  auto gen = make_generator(6);
  const auto t = torch::tensor({1e-3, 0.01, 0.1, 0.3, 0.5, 0.8, 1.0}, torch::kFloat64);
  const int64_t n = t.size(0);
  const auto schedule = make_schedule("vp");
  const auto x0 = torch::rand({n, 1, 8, 8}, gen, torch::kFloat64) * 2.0 - 1.0;
  const auto noise = torch::randn({n, 1, 8, 8}, gen, torch::kFloat64);
  const auto exact = whitened_score_target(*schedule, noise, t);
  for (const int sign : {1, -1}) {
    const ForwardProcess edm(schedule, ForwardProcessOptions()
                                           .parameterisation(Parameterisation::kEdm)
                                           .score_sign(sign)
                                           .sigma_data(0.6));
    EXPECT_EQ(edm.output_kind(), OutputKind::kPreconditionedX0);
    const auto x_t = edm.perturb(x0, noise, t);
    const auto output = edm.target(x0, noise, t);
    EXPECT_LT(max_abs(edm.x0_estimate(output, x_t, t) - x0), 1e-12) << sign;
    const auto relative =
        (edm.whitened_score(output, x_t, t) - exact).abs().max() / exact.abs().max();
    EXPECT_LT(relative.item<double>(), 1e-12) << sign;
    // A wrong sign is visible.
    EXPECT_GT(max_abs(edm.x0_estimate(-output, x_t, t) - x0), 0.1);
  }
  EXPECT_TRUE(torch::equal(
      ForwardProcess(schedule, ForwardProcessOptions().parameterisation(Parameterisation::kEdm))
          .loss_weight(t),
      torch::ones({n}, torch::kFloat64)));

  // Data with per-pixel std sigma_d: target and network input have unit variance at every t.
  // 20000 samples per time: the std of a sample variance is sqrt(2/20000) = 0.01; 5 of them.
  const double sigma_d = 0.6;
  const ForwardProcess edm(
      schedule,
      ForwardProcessOptions().parameterisation(Parameterisation::kEdm).sigma_data(sigma_d));
  for (const double time : {1e-3, 0.2, 0.6, 1.0}) {
    const int64_t m = 20000;
    const auto tm = torch::full({m}, time, torch::kFloat64);
    const auto data = torch::randn({m, 1, 1, 1}, gen, torch::kFloat64) * sigma_d;
    const auto e = torch::randn({m, 1, 1, 1}, gen, torch::kFloat64);
    EXPECT_NEAR(edm.target(data, e, tm).var().item<double>(), 1.0, 0.05) << time;
    EXPECT_NEAR(edm.network_input(edm.perturb(data, e, tm), tm).var().item<double>(), 1.0, 0.05)
        << time;
  }
  // The other parameterisations see x_t unscaled.
  const auto ws = diffusion(Parameterisation::kWs);
  EXPECT_TRUE(torch::equal(ws.network_input(x0, t), x0));
  EXPECT_THROW(ForwardProcess(schedule, ForwardProcessOptions().sigma_data(0.0)), InputError);
}

TEST(ForwardProcess, VelocityParameterisationIsExact) {
  const ForwardProcess flow(make_schedule("vp"),
                            ForwardProcessOptions().process(ProcessType::kFlow));
  EXPECT_EQ(flow.output_kind(), OutputKind::kVelocity);
  auto gen = make_generator(4);
  const int64_t n = 5;
  const auto t = torch::tensor({0.001, 0.25, 0.5, 0.75, 1.0}, torch::kFloat64);
  const auto x0 = torch::rand({n, 2, 6, 7}, gen, torch::kFloat64);
  const auto noise = torch::randn({n, 2, 6, 7}, gen, torch::kFloat64);
  const auto x_t = flow.perturb(x0, noise, t);
  const auto tt = t.view({-1, 1, 1, 1});
  EXPECT_LT(max_abs(x_t - ((1.0 - tt) * x0 + tt * noise)), 1e-15);
  const auto v = flow.target(x0, noise, t);
  EXPECT_LT(max_abs(v - (noise - x0)), 1e-15);
  EXPECT_LT(max_abs(flow.x0_estimate(v, x_t, t) - x0), 1e-12);
  EXPECT_TRUE(torch::equal(flow.loss_weight(t), torch::ones({n}, torch::kFloat64)));
  EXPECT_THROW(flow.whitened_score(v, x_t, t), std::logic_error);
}

// Per-sample weights: with W = N = 2 the published broadcasting (a [N] weight against the last
// axis) would be shape-valid and give (beta_0^2 + beta_1^2)/2 to both samples.
TEST(ForwardProcess, LossWeightsArePerSample) {
  const auto process = diffusion(Parameterisation::kWs);
  const auto t = torch::tensor({0.1, 0.9}, torch::kFloat64);
  const auto target = torch::zeros({2, 1, 3, 2}, torch::kFloat32);
  auto output = torch::zeros_like(target);
  output[0].fill_(0.5f);
  output[1].fill_(-2.0f);
  const auto terms = process.loss(output, target, t);
  const double b0 = process.schedule().beta(0.1), b1 = process.schedule().beta(0.9);
  ASSERT_EQ(terms.per_sample.sizes(), (std::vector<int64_t>{2}));
  EXPECT_NEAR(terms.per_sample[0].item<double>(), b0 * b0 * 0.25, 1e-6 * b0 * b0);
  EXPECT_NEAR(terms.per_sample[1].item<double>(), b1 * b1 * 4.0, 1e-6 * b1 * b1);
  EXPECT_NEAR(terms.loss.item<double>(), 0.5 * (b0 * b0 * 0.25 + b1 * b1 * 4.0), 1e-4);
  // What the broadcasting bug would produce differs by far more than the tolerance.
  const double mixed = 0.5 * (b0 * b0 + b1 * b1) * 0.25;
  EXPECT_GT(std::abs(terms.per_sample[0].item<double>() - mixed), 1.0);

  const auto noise_terms = diffusion(Parameterisation::kNoise).loss(output, target, t);
  EXPECT_NEAR(noise_terms.per_sample[0].item<double>(), 0.25, 1e-7);
  EXPECT_NEAR(noise_terms.per_sample[1].item<double>(), 4.0, 1e-6);
  // bf16 outputs are reduced in float32.
  const auto bf16 = process.loss(output.to(torch::kBFloat16), target.to(torch::kBFloat16), t);
  EXPECT_EQ(bf16.per_sample.scalar_type(), torch::kFloat32);
}

// The paper's objective, by its name: the model sees x_t = alpha x_0 + sigma n, and a model that
// returns the whitened-score target -(beta/sigma) n scores zero, while the zero model scores
// the closed form mean_i beta_i^2 mean((beta_i / sigma_i)^2 n_i^2).
TEST(WhitenedScoreLoss, ZeroForTheTargetAndClosedFormForTheZeroModel) {
  const WhitenedScoreLoss loss(diffusion(Parameterisation::kWs));
  const auto& schedule = loss.process().schedule();
  auto gen = make_generator(3);
  const auto x0 = torch::rand({3, 1, 8, 8}, gen, torch::kFloat64) * 2 - 1;
  const auto n = torch::randn({3, 1, 8, 8}, gen, torch::kFloat64);
  const auto t = torch::tensor({0.05, 0.4, 0.95}, torch::kFloat64);
  const auto per_image = [](const torch::Tensor& v) { return v.view({-1, 1, 1, 1}); };
  const auto alpha = per_image(schedule.alpha(t)), sigma = per_image(schedule.sigma(t));
  const auto beta = per_image(schedule.beta(t));
  const WhitenedScoreLoss::Model oracle = [&](const torch::Tensor& x_t, const torch::Tensor&) {
    return -(beta / sigma) * (x_t - alpha * x0) / sigma;
  };
  EXPECT_LT(loss(oracle, x0, n, t).loss.item<double>(), 1e-18);
  const WhitenedScoreLoss::Model zero = [](const torch::Tensor& x_t, const torch::Tensor&) {
    return torch::zeros_like(x_t);
  };
  const auto expected =
      (beta.square() * (beta / sigma).square() * n.square()).flatten(1).mean(1).mean();
  const double got = loss(zero, x0, n, t).loss.item<double>();
  EXPECT_NEAR(got, expected.item<double>(), 1e-12 * expected.item<double>());
}

// train.loss_weighting: a filter of ones is the uniform loss (Parseval), and an error that is a
// single real Fourier mode is weighted by the filter's square at that mode's frequency.
TEST(ForwardProcess, FrequencyFilteredLossWeighsEachFrequencyByTheFilterSquared) {
  const auto process = diffusion(Parameterisation::kEdm);
  auto gen = make_generator(11);
  const int64_t h = 8, w = 12;
  const auto output = torch::randn({3, 2, h, w}, gen, torch::kFloat64);
  const auto target = torch::randn({3, 2, h, w}, gen, torch::kFloat64);
  const auto t = torch::tensor({0.1, 0.5, 0.9}, torch::kFloat64);
  const auto uniform = process.loss(output, target, t).per_sample;
  const auto ones = process.loss(output, target, t, torch::ones({h, w / 2 + 1})).per_sample;
  EXPECT_LT(max_abs(ones - uniform), 1e-12 * max_abs(uniform));

  // error = cos(2 pi (ky y / h + kx x / w)): power only at +-(ky, kx), mean square 1/2.
  const int64_t ky = 3, kx = 2;
  const auto y = torch::arange(h, torch::kFloat64).view({h, 1});
  const auto x = torch::arange(w, torch::kFloat64).view({1, w});
  const auto mode = torch::cos(2 * M_PI * (ky * y / h + kx * x / w)).expand({1, 1, h, w});
  auto filter = torch::rand({h, w / 2 + 1}, gen, torch::kFloat64) + 0.5;
  // rfft2 stores the mode's mirror -(ky, kx) only as the conjugate of (ky, kx), so the one
  // filter value at (ky, kx) governs the whole mode.
  const double q = filter[ky][kx].item<double>();
  const double got =
      process.loss(mode, torch::zeros_like(mode), t.narrow(0, 0, 1), filter).loss.item<double>();
  EXPECT_NEAR(got, q * q * 0.5, 1e-12);
}

// noise_power_filter: ones for white noise; for GRF noise its square is the psd raised to the
// exponent and scaled to mean 1 over the full grid, and it rises towards the low frequencies,
// where GRF noise is strongest.
TEST(NoisePowerFilter, SquareIsThePowerOfTheNoisePsdWithMeanOne) {
  const int64_t h = 16, w = 16;
  const StructuredNoise white(noise_of(NoiseFamily::kWhite));
  EXPECT_LT(max_abs(noise_power_filter(white, h, w, 1.0) - 1.0), 1e-12);
  const StructuredNoise mixture(edited(noise_of(NoiseFamily::kMixture), [](NoiseConfig& c) {
    c.grf_sigma_min = 1.0;
    c.grf_sigma_max = 3.0;
    c.white_fraction = 0.5;
  }));
  const auto power = mixture.psd(h, w);
  const auto multiplicity = rfft2_multiplicity(h, w);
  for (const double exponent : {1.0, 0.5}) {
    const auto filter = noise_power_filter(mixture, h, w, exponent);
    const auto ratio = filter.square() / power.pow(exponent);
    EXPECT_LT(max_abs(ratio / ratio[0][0] - 1.0), 1e-12) << exponent;
    EXPECT_NEAR((filter.square() * multiplicity).sum().item<double>() / (h * w), 1.0, 1e-12);
    EXPECT_GT(filter[0][0].item<double>(), 1.5 * filter[h / 2][w / 2].item<double>());
  }
  // Unit-variance noise has mean power 1, so the white share is the power weight's floor.
  EXPECT_NEAR(noise_power_filter(mixture, h, w, 1.0)[h / 2][w / 2].item<double>(), std::sqrt(0.5),
              0.02);
}

TEST(ForwardProcess, TrainingTimesAreUniformInRange) {
  const ForwardProcess process(make_schedule("vp"), ForwardProcessOptions().t_eps(0.01));
  auto a = make_generator(5);
  auto b = make_generator(5);
  const auto t = process.sample_t(20000, a, torch::kCPU);
  EXPECT_EQ(t.scalar_type(), torch::kFloat64);
  EXPECT_GE(t.min().item<double>(), 0.01);
  EXPECT_LE(t.max().item<double>(), 1.0);
  EXPECT_NEAR(t.mean().item<double>(), 0.505, 0.01);
  EXPECT_TRUE(torch::equal(t, process.sample_t(20000, b, torch::kCPU)));
}

TEST(ForwardProcess, RejectsInvalidOptions) {
  EXPECT_THROW(ForwardProcess(nullptr), InputError);
  EXPECT_THROW(ForwardProcess(make_schedule("vp"), ForwardProcessOptions().score_sign(2)),
               InputError);
  EXPECT_THROW(ForwardProcess(make_schedule("vp"), ForwardProcessOptions().t_eps(0.0)), InputError);
}

}  // namespace
}  // namespace wsd
