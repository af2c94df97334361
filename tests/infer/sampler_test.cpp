// Samplers against closed forms: for Gaussian data the probability-flow ODE is linear, so each
// sample's end point is known exactly, not only the distribution.
#include "infer/samplers/sampler.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/diffusion/gaussian_prior.hpp"
#include "core/diffusion/schedule.hpp"
#include "core/noise/structured_noise.hpp"

namespace wsd {
namespace {

torch::Tensor ortho_rfft2(const torch::Tensor& x) {
  return torch::fft::rfft2(x, c10::nullopt, {-2, -1}, "ortho");
}
torch::Tensor ortho_irfft2(const torch::Tensor& z, int64_t h, int64_t w) {
  return torch::fft::irfft2(z, std::vector<int64_t>{h, w}, {-2, -1}, "ortho");
}

// VP, structured noise: each Fourier mode of x_t - alpha_t mu has std_t(f) =
// sqrt(alpha_t^2 P + sigma_t^2 k^2), and the ODE flow scales it by std_t / std_1. The Euler
// trajectory plus the final Tweedie step must land on that map's image of x_1.
TEST(SampleEuler, GaussianPriorFollowsTheExactLinearFlowMap) {
  const int64_t h = 12, w = 10;
  auto schedule = make_schedule("vp", 0.1, 20.0);
  const StructuredNoise noise(
      StructuredNoiseOptions().family(NoiseFamily::kPowerLaw).dtype(torch::kFloat64));
  const auto k2 = noise.psd(h, w);
  const auto [fy, fx] = rfft2_frequencies(h, w);
  const auto power = 0.3 / (1.0 + 40.0 * (fy.square() + fx.square()));  // smooth "images"
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto mean = 0.2 * torch::randn({1, h, w}, gen, torch::kFloat64);
  const GaussianPrior prior(mean, power.expand({h, w / 2 + 1}).clone(), k2, schedule);

  const auto x1 = noise.sample(6, 1, h, w, gen);
  const ScoreFn score = [&](const torch::Tensor& x, const torch::Tensor& t) {
    return prior.whitened_score(x, t);
  };
  const double t_eps = 1e-3;
  const auto grid = uniform_time_grid(2000, t_eps);
  const auto end = sample_euler(*schedule, score, x1, grid);
  const auto x0 = tweedie_from_score(*schedule, score, end, t_eps);

  auto std_at = [&](double t) {
    const double a = schedule->alpha(t), s = schedule->sigma(t);
    return torch::sqrt(a * a * power + s * s * k2);
  };
  const double a1 = schedule->alpha(1.0), ae = schedule->alpha(t_eps);
  const auto mapped =
      ae * mean + ortho_irfft2(std_at(t_eps) / std_at(1.0) * ortho_rfft2(x1 - a1 * mean), h, w);
  const auto expected = tweedie_from_score(*schedule, score, mapped, t_eps);
  const double err = (x0 - expected).abs().max().item<double>();
  const double scale = expected.abs().max().item<double>();
  EXPECT_LT(err, 0.02 * scale) << "max error " << err << " of " << scale;
  // The map really moved the noise: the result is far from the start.
  EXPECT_GT((x0 - x1).abs().max().item<double>(), 0.5);
}

// Flow matching with x_0 ~ N(mu, s^2) per pixel and white noise: the ODE maps n to mu + s n.
TEST(SampleFlowEuler, GaussianDataFollowsTheExactMap) {
  const double mu = 0.4, s = 0.3;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const auto n = torch::randn({4, 1, 8, 8}, gen, torch::kFloat64);
  const DenoiserFn denoise = [&](const torch::Tensor& x, const torch::Tensor& t) {
    const auto tt = t.view({-1, 1, 1, 1});
    const auto var = (1 - tt).square() * s * s + tt.square();
    return mu + (1 - tt) * s * s / var * (x - (1 - tt) * mu);
  };
  const double t_eps = 1e-3;
  const auto grid = uniform_time_grid(1000, t_eps);
  auto x = sample_flow_euler(denoise, n, grid);
  x = denoise(x, time_like(x, t_eps));
  EXPECT_LT((x - (mu + s * n)).abs().max().item<double>(), 5e-3);
}

TEST(TimeGrid, UniformFromOneToEps) {
  const auto grid = uniform_time_grid(4, 0.2);
  ASSERT_EQ(grid.size(), 5u);
  EXPECT_DOUBLE_EQ(grid.front(), 1.0);
  EXPECT_DOUBLE_EQ(grid[2], 0.6);
  EXPECT_DOUBLE_EQ(grid.back(), 0.2);
}

}  // namespace
}  // namespace wsd
