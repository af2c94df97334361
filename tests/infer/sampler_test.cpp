// Samplers against closed forms: for Gaussian data the probability-flow ODE is linear, so each
// sample's end point is known exactly, not only the distribution.
#include "infer/samplers/sampler.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <iostream>
#include <tuple>

#include "core/diffusion/forward_process.hpp"
#include "core/diffusion/gaussian_prior.hpp"
#include "core/diffusion/schedule.hpp"
#include "core/noise/structured_noise.hpp"
#include "tests/support/noise_configs.hpp"

namespace wsd {
namespace {

using test::edited;
using test::noise_of;

torch::Tensor ortho_rfft2(const torch::Tensor& x) {
  return torch::fft::rfft2(x, c10::nullopt, {-2, -1}, "ortho");
}
torch::Tensor ortho_irfft2(const torch::Tensor& z, int64_t h, int64_t w) {
  return torch::fft::irfft2(z, std::vector<int64_t>{h, w}, {-2, -1}, "ortho");
}

// How a sampler's end point (after the final Tweedie step) compares with the exact linear flow
// map of a Gaussian prior. VP, structured noise: each Fourier mode of x_t - alpha_t mu has
// std_t(f) = sqrt(alpha_t^2 P + sigma_t^2 k^2), and the ODE flow scales it by std_t / std_1.
struct FlowMapCheck {
  double error;  // max |x0 - exact map's x0|
  double scale;  // max |exact map's x0|
  double moved;  // max |x0 - x1|: how far the trajectory went
};

FlowMapCheck check_flow_map(const SamplerFn& sampler, int64_t steps,
                            TimeGrid spacing = TimeGrid::kUniform) {
  const int64_t h = 12, w = 10;
  auto schedule = make_schedule("vp", 0.1, 20.0);
  const StructuredNoise noise(noise_of(NoiseFamily::kPowerLaw), torch::kFloat64);
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
  const auto end = sampler(*schedule, score, x1, time_grid(*schedule, spacing, steps, t_eps), {});
  const auto x0 = tweedie_from_score(*schedule, score, end, t_eps);

  auto std_at = [&](double t) {
    const double a = schedule->alpha(t), s = schedule->sigma(t);
    return torch::sqrt(a * a * power + s * s * k2);
  };
  const double a1 = schedule->alpha(1.0), ae = schedule->alpha(t_eps);
  const auto mapped =
      ae * mean + ortho_irfft2(std_at(t_eps) / std_at(1.0) * ortho_rfft2(x1 - a1 * mean), h, w);
  const auto expected = tweedie_from_score(*schedule, score, mapped, t_eps);
  return {(x0 - expected).abs().max().item<double>(), expected.abs().max().item<double>(),
          (x0 - x1).abs().max().item<double>()};
}

// The Euler trajectory plus the final Tweedie step must land on the exact map's image of x_1.
TEST(SampleEuler, GaussianPriorFollowsTheExactLinearFlowMap) {
  const auto check = check_flow_map(sample_euler, 2000);
  EXPECT_LT(check.error, 0.02 * check.scale)
      << "max error " << check.error << " of " << check.scale;
  // The map really moved the noise: the result is far from the start.
  EXPECT_GT(check.moved, 0.5);
}

// Higher-order and exponential integrators are what few-step sampling needs: at 20 steps both
// beat the paper's Euler step on the exact flow map, and every method converges with more steps.
TEST(Samplers, HeunAndExponentialBeatEulerAtFewSteps) {
  const double euler = check_flow_map(sample_euler, 20).error;
  const double heun = check_flow_map(sample_heun, 20).error;
  const double exponential = check_flow_map(sample_exponential, 20).error;
  std::cout << "20-step max error: euler " << euler << ", heun " << heun << ", exponential "
            << exponential << "\n";
  EXPECT_LT(heun, 0.5 * euler);
  EXPECT_LT(exponential, 0.5 * euler);
  EXPECT_LT(check_flow_map(sample_heun, 200).error, 0.1 * heun);
  EXPECT_LT(check_flow_map(sample_exponential, 200).error, 0.2 * exponential);
}

// The second-order multistep solver on the grid it is built for (uniform in log-SNR, where its
// step ratios stay near 1) beats the first-order exponential step it extends at every step
// count, and converges at second order (the error falls ~4x per doubling; > 2.5x required). On
// the uniform t grid its step ratios swing widely and the extrapolation gains nothing: the
// printed errors show it, which is why time_grid matters for few-step sampling.
TEST(Samplers, DpmSolver2mIsSecondOrderAndBeatsTheExponentialStep) {
  for (const int64_t steps : {10, 20, 40}) {
    const double exponential = check_flow_map(sample_exponential, steps, TimeGrid::kLogSnr).error;
    const double dpm = check_flow_map(sample_dpm_solver_2m, steps, TimeGrid::kLogSnr).error;
    std::cout << steps << " steps, log-SNR grid: exponential " << exponential << ", dpm_solver_2m "
              << dpm << "; uniform grid: exponential "
              << check_flow_map(sample_exponential, steps).error << ", dpm_solver_2m "
              << check_flow_map(sample_dpm_solver_2m, steps).error << "; edm grid: dpm_solver_2m "
              << check_flow_map(sample_dpm_solver_2m, steps, TimeGrid::kEdm).error << "\n";
    EXPECT_LT(dpm, 0.5 * exponential) << steps;
  }
  const double e20 = check_flow_map(sample_dpm_solver_2m, 20, TimeGrid::kLogSnr).error;
  const double e40 = check_flow_map(sample_dpm_solver_2m, 40, TimeGrid::kLogSnr).error;
  EXPECT_GT(e20 / e40, 2.5);
}

// Radially averaged power spectrum of mean-removed images [N, 1, H, W] in 4 frequency bands,
// with the prior's spectrum averaged over the same bins.
std::pair<torch::Tensor, torch::Tensor> banded_spectra(const torch::Tensor& centred,
                                                       const torch::Tensor& power) {
  const auto [fy, fx] = rfft2_frequencies(centred.size(2), centred.size(3));
  const auto radius = torch::sqrt(fy.square() + fx.square()).expand_as(power);
  const auto periodogram = ortho_rfft2(centred).abs().square().mean(0).squeeze(0);
  std::vector<torch::Tensor> got, want;
  const std::vector<double> edges = {0.0, 0.1, 0.2, 0.35, 1.0};
  for (size_t b = 0; b + 1 < edges.size(); ++b) {
    const auto in = (radius >= edges[b]) & (radius < edges[b + 1]);
    got.push_back(periodogram.masked_select(in).mean());
    want.push_back(power.masked_select(in).mean());
  }
  return {torch::stack(got), torch::stack(want)};
}

// The unconditional samplers map N(0, K K^T) onto the prior N(mu, C): the banded power spectrum
// of 2000 samples matches P within 5% (sampling error ~1.5% per band at this sample size). The
// noise has a white part: at frequencies where K has no power the data is never noised, the
// marginal at t = 1 keeps alpha_1^2 P there, and no sampler started from N(0, K K^T) can restore
// the prior's power (a property of WS diffusion with low-pass noise, not of a sampler).
// The first-order exponential integrator is left out: on a uniform time grid the low
// frequencies rotate from noise to signal within the last few steps, where each of its steps
// shrinks the state, so its samples lose power at any practical step count.
TEST(Samplers, UnconditionalSamplesHaveThePriorsPowerSpectrum) {
  const int64_t h = 8, w = 8, n = 2000;
  auto schedule = make_schedule("vp", 0.1, 20.0);
  const StructuredNoise noise(edited(noise_of(NoiseFamily::kMixture),
                                     [&](NoiseConfig& c) {
                                       c.grf_sigma_min = 1.5;
                                       c.grf_sigma_max = 1.5;
                                       c.white_fraction = 0.2;
                                     }),
                              torch::kFloat64);
  const auto [fy, fx] = rfft2_frequencies(h, w);
  const auto power =
      (0.3 / (1.0 + 40.0 * (fy.square() + fx.square()))).expand({h, w / 2 + 1}).clone();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(21);
  const auto mean = 0.2 * torch::randn({1, h, w}, gen, torch::kFloat64);
  const GaussianPrior prior(mean, power, noise.psd(h, w), schedule);
  const ScoreFn score = [&](const torch::Tensor& x, const torch::Tensor& t) {
    return prior.whitened_score(x, t);
  };
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < n; ++i) seeds.push_back(static_cast<uint64_t>(1000 + i));
  const auto x1 = noise.sample_per_image(seeds, 1, h, w);
  SamplerContext context;
  context.noise = &noise;
  context.seeds = seeds;
  for (const auto& [name, sampler, steps] : {std::tuple{"euler", SamplerFn(sample_euler), 1000},
                                             std::tuple{"heun", SamplerFn(sample_heun), 100},
                                             std::tuple{"sde", SamplerFn(sample_sde), 500}}) {
    const auto grid = uniform_time_grid(steps, 1e-3);
    const auto x0 =
        tweedie_from_score(*schedule, score, sampler(*schedule, score, x1, grid, context), 1e-3);
    const auto [got, want] = banded_spectra(x0 - mean, power);
    const double worst = ((got - want) / want).abs().max().item<double>();
    std::cout << name << ": banded spectrum " << got << " vs " << want << "\n";
    EXPECT_LT(worst, 0.05) << name;
  }
}

// Flow matching with x_0 ~ N(mu, s^2) per pixel and white noise. Its exact denoiser, evaluated
// at the flow state of equal SNR (flow_state_at), is the VP prior's exact denoiser; the
// exponential sampler on that view is the flow ODE's Euler step, and maps n to mu + s n.
TEST(FlowPrior, GaussianDataThroughTheVpViewFollowsTheExactMap) {
  const double mu = 0.4, s = 0.3;
  const VpSchedule schedule(0.1, 20.0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const auto n = torch::randn({4, 1, 8, 8}, gen, torch::kFloat64);
  const auto flow_denoiser = [&](const torch::Tensor& x, const torch::Tensor& t) {
    const auto tt = t.view({-1, 1, 1, 1});
    const auto var = (1 - tt).square() * s * s + tt.square();
    return mu + (1 - tt) * s * s / var * (x - (1 - tt) * mu);
  };
  const auto x0_of = [&](const torch::Tensor& y, const torch::Tensor& tau) {
    const auto flow = flow_state_at(schedule, y, tau);
    return flow_denoiser(flow.x_t, flow.t);
  };
  // The flow state is exactly (1 - t) x_0 + t n for y = alpha x_0 + sigma n.
  const auto x0 = mu + s * torch::randn({4, 1, 8, 8}, gen, torch::kFloat64);
  for (const double tau : {1e-3, 0.3, 0.9}) {
    const auto t_vec = torch::full({4}, tau, torch::kFloat64);
    const auto y = schedule.alpha(tau) * x0 + schedule.sigma(tau) * n;
    const auto flow = flow_state_at(schedule, y, t_vec);
    const auto t = flow.t.view({-1, 1, 1, 1});
    EXPECT_LT((flow.x_t - ((1 - t) * x0 + t * n)).abs().max().item<double>(), 1e-12) << tau;
    // The VP prior's exact denoiser: mu + alpha s^2 (y - alpha mu) / (alpha^2 s^2 + sigma^2).
    const double a = schedule.alpha(tau), sg = schedule.sigma(tau);
    const auto vp_x0 = mu + a * s * s / (a * a * s * s + sg * sg) * (y - a * mu);
    EXPECT_LT((x0_of(y, t_vec) - vp_x0).abs().max().item<double>(), 1e-12) << tau;
  }
  const ScoreFn score = [&](const torch::Tensor& y, const torch::Tensor& tau) {
    return whitened_score_from_x0(schedule, y, x0_of(y, tau), tau);
  };
  // The start state n drawn from the exact marginal at t = 1, whose ODE image is mu + s n. The
  // first-order step converges to it: doubling the steps halves the error.
  const double t_eps = 1e-3;
  const double a1 = schedule.alpha(1.0), s1 = schedule.sigma(1.0);
  const auto start = a1 * mu + std::sqrt(a1 * a1 * s * s + s1 * s1) * n;
  std::vector<double> errors;
  for (const int64_t steps : {250, 500, 1000}) {
    const auto grid = uniform_time_grid(steps, t_eps);
    const auto x = tweedie_from_score(schedule, score,
                                      sample_exponential(schedule, score, start, grid), t_eps);
    errors.push_back((x - (mu + s * n)).abs().max().item<double>());
    std::cout << steps << " exponential steps on the flow prior: max error " << errors.back()
              << "\n";
  }
  for (size_t i = 1; i < errors.size(); ++i) {
    EXPECT_NEAR(errors[i - 1] / errors[i], 2.0, 0.3) << i;
  }
  EXPECT_LT(errors.back(), 1e-2);
}

TEST(TimeGrid, UniformFromOneToEps) {
  const auto grid = uniform_time_grid(4, 0.2);
  ASSERT_EQ(grid.size(), 5u);
  EXPECT_DOUBLE_EQ(grid.front(), 1.0);
  EXPECT_DOUBLE_EQ(grid[2], 0.6);
  EXPECT_DOUBLE_EQ(grid.back(), 0.2);
}

// The non-uniform grids against their definitions: exact end points, strictly decreasing times,
// equal steps in log(alpha/sigma) (log_snr) and in (sigma/alpha)^(1/rho) (edm), on the VP and
// the cosine schedule.
TEST(TimeGrid, LogSnrAndEdmGridsAreEquallySpacedInTheirVariables) {
  for (const auto& kind : {"vp", "cosine"}) {
    const auto schedule = make_schedule(kind, 0.1, 20.0);
    const double t_eps = 1e-3;
    const auto ratio = [&](double t) { return schedule->sigma(t) / schedule->alpha(t); };
    for (const auto spacing : {TimeGrid::kLogSnr, TimeGrid::kEdm}) {
      const auto grid = time_grid(*schedule, spacing, 12, t_eps, 5.0);
      ASSERT_EQ(grid.size(), 13u);
      EXPECT_EQ(grid.front(), 1.0);
      EXPECT_EQ(grid.back(), t_eps);
      const auto coordinate = [&](double t) {
        return spacing == TimeGrid::kLogSnr ? -std::log(ratio(t)) : std::pow(ratio(t), 1.0 / 5.0);
      };
      const double step = (coordinate(t_eps) - coordinate(1.0)) / 12.0;
      for (size_t i = 0; i + 1 < grid.size(); ++i) {
        EXPECT_GT(grid[i], grid[i + 1]) << kind << " " << i;
        EXPECT_NEAR(coordinate(grid[i + 1]) - coordinate(grid[i]), step,
                    1e-9 * std::abs(step) + 1e-12)
            << kind << " " << enum_name(spacing) << " step " << i;
      }
    }
  }
}

// The clamp safeguard: a score whose Tweedie estimate is out of [-1, 1] is replaced by the score
// of the clamped estimate; an in-range estimate passes unchanged.
TEST(Sampler, ClampedTweedieScoreClampsOnlyOutOfRangeEstimates) {
  const auto schedule = make_schedule("vp", 0.1, 20.0);
  auto gen = at::detail::createCPUGenerator(11);
  const auto x = torch::randn({3, 1, 4, 4}, gen, torch::kFloat64);
  for (const double t : {1e-3, 0.3, 0.9}) {
    const auto tt = torch::full({3}, t, torch::kFloat64);
    const double alpha = schedule->alpha(t), sigma = schedule->sigma(t), beta = schedule->beta(t);
    // A prior whose posterior mean is the constant m everywhere.
    const auto constant_prior = [&](double m) -> ScoreFn {
      return [=](const torch::Tensor& xt, const torch::Tensor&) {
        return beta / (sigma * sigma) * (alpha * m - xt);
      };
    };
    const auto wild = clamped_tweedie_score(*schedule, constant_prior(5.0));
    const auto x0 = tweedie_x0(*schedule, x, wild(x, tt), tt);
    EXPECT_LT((x0 - 1.0).abs().max().item<double>(), 1e-9) << t;
    const auto tame_raw = constant_prior(0.3)(x, tt);
    const auto tame = clamped_tweedie_score(*schedule, constant_prior(0.3))(x, tt);
    EXPECT_LT(((tame - tame_raw).abs().max() / tame_raw.abs().max()).item<double>(), 1e-12) << t;
  }
}

}  // namespace
}  // namespace wsd
