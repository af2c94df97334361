// The proximal likelihood step with the closed-form Gaussian prior. In its `sample` form every
// transition it takes is the exact posterior transition: M posterior samples must average to the
// exact posterior mean (the Wiener filter) up to the posterior spread tr(Cov[x | y]) / M, at a
// few dozen network evaluations. Its `mean` form (the default) steps to E[x_0 | x_t, y] itself.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "core/util/errors.hpp"
#include "infer/baselines/wiener_filter.hpp"
#include "infer/likelihood/proximal_step.hpp"
#include "infer/solve/posterior_solver.hpp"
#include "tests/infer/dense_gaussian_posterior.hpp"
#include "tests/infer/gaussian_problem.hpp"
#include "tests/support/noise_configs.hpp"

namespace wsd {
namespace {

using test::edited;
using test::noise_of;

struct OracleCase {
  std::string name;
  TaskConfig task;
  NoiseConfig noise;
  double level;
};

std::vector<OracleCase> oracle_cases() {
  TaskConfig identity;
  identity.operator_name = OperatorType::kIdentity;
  TaskConfig idt;
  idt.operator_name = OperatorType::kIdt;
  idt.led_grid = 3;
  idt.pixel_size = 0.5;
  const auto haze = edited(noise_of(NoiseFamily::kGrf), [&](NoiseConfig& c) {
    c.grf_sigma_min = 3.0;
    c.grf_sigma_max = 3.0;
  });
  return {{"blur", test::blur_task(1.5), test::fixed_grf(2.0), 0.05},
          {"dehaze", identity, haze, 0.3},
          {"idt", idt, test::fixed_grf(2.0), 0.05}};
}

PosteriorSolver proximal_solver(test::GaussianProblem& p, int steps, int samples,
                                ProximalX0 x0 = ProximalX0::kSample) {
  SamplerConfig sampler;
  sampler.method = SamplerMethod::kExponential;
  sampler.likelihood = LikelihoodType::kProximal;
  sampler.proximal_x0 = x0;
  sampler.steps = steps;
  sampler.samples = samples;
  sampler.batch_size = 256;
  return PosteriorSolver{*p.prior, sampler, torch::kCPU};
}

// The proximal step's setup for a problem's measurements in the mean form.
LikelihoodSetup proximal_setup(const test::GaussianProblem& p,
                               const GaussianMeasurementModel& model) {
  LikelihoodSetup setup;
  setup.op = p.op;
  setup.y = p.y;
  setup.sampler.proximal_x0 = ProximalX0::kMean;
  setup.prior_noise = &p.noise;
  setup.seeds = p.seeds;
  setup.model = &model;
  return setup;
}

double mse(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).square().mean().item<double>();
}

// 49 steps and the final Tweedie estimate: 50 evaluations of the prior. 24 images of 16
// x 16 drawn from the prior, M = 4 samples each.
TEST(ProximalStep, GaussianOracleAveragesToTheExactPosteriorAtFiftyEvaluations) {
  constexpr int kSamples = 4;
  for (const auto& c : oracle_cases()) {
    auto p = test::make_gaussian_problem(c.task, 24, 16, 16, c.level, 5, c.noise);
    const auto model = p.measurement_model();
    const auto exact = test::dense_posterior(*p.op, p.y, model);
    const double spread = exact.covariance.diagonal().mean().item<double>();  // per pixel
    const auto wiener = wiener_filter(*p.op, p.y, model);
    ASSERT_LT((wiener - exact.mean).abs().max().item<double>(), 1e-8) << c.name;
    // The scatter is measured in the posterior covariance's eigenbasis, each component divided
    // by its standard deviation: for exact samples every such component of the M-sample mean
    // has variance 1 / M, so the mean square has relative standard error sqrt(2 / dof),
    // dof = images x components kept (those above 1e-3 of the largest eigenvalue).
    const auto [eig, basis] = torch::linalg_eigh(exact.covariance);
    const auto kept = eig > 1e-3 * eig.max().item<double>();
    const double dof = 24.0 * kept.sum().item<double>();
    const double tolerance = 4.0 * std::sqrt(2.0 / dof);
    const auto whitened_scatter = [&](const torch::Tensor& x) {
      const auto d = torch::matmul((x.to(torch::kFloat64) - wiener).flatten(1), basis);
      const auto per_component = d.square() / eig;
      return per_component.index({torch::indexing::Slice(), kept}).mean().template item<double>();
    };

    const PosteriorProblem problem{p.op, p.y, p.seeds, {1, p.h, p.w}, model};
    for (const int steps : {49}) {
      SCOPED_TRACE(c.name + ", " + std::to_string(steps + 1) + " evaluations");
      const auto mean_of_m = proximal_solver(p, steps, kSamples).at_weight(1.0).solve(problem);
      // The M-sample mean scatters around the exact mean with covariance Cov[x | y] / M
      // (tolerance: four standard errors).
      EXPECT_NEAR(whitened_scatter(mean_of_m) * kSamples, 1.0, tolerance)
          << c.name << ", dof " << dof;
      // And on the truth: no more than 0.2 dB below what M exact samples reach on these images,
      // the Wiener filter's error plus spread / M. (Above it is chance, not an error: an
      // under-dispersed sampler would already fail the scatter check.)
      const double expected_mse = mse(wiener, p.x_true) + spread / kSamples;
      // (The truth-based figure also carries the cross term 2 <x_bar - W, W - x>, whose spread
      // on 24 images is a few tenths of a dB where the posterior variance sits in few
      // frequencies, IDT's DC: hence one-sided.)
      const double db_below = 10.0 * std::log10(mse(mean_of_m, p.x_true) / expected_mse);
      EXPECT_LT(db_below, 0.2) << c.name;
    }
  }
}

// A step from t all the way to s = 0 has c1 = 1 and no bridge noise, so in the mean form it lands
// on the data-consistent estimate: for the Gaussian prior E[x_0 | x_t, y], with x_t and y two
// linear observations of x_0, here solved with dense matrices: the stacked operator [alpha I; A]
// with noise covariance blockdiag(sigma^2 K K^T, Sigma_y).
TEST(ProximalStep, MeanFormStepsToTheExactPosteriorMeanGivenTheStateAndTheData) {
  constexpr int64_t kSide = 12;
  for (const auto& c : oracle_cases()) {
    auto p = test::make_gaussian_problem(c.task, 3, kSide, kSide, c.level, 11, c.noise);
    const auto model = p.measurement_model();
    const double t = 0.35;
    const double alpha = p.schedule->alpha(t), sigma = p.schedule->sigma(t);
    const auto prior_noise_power = p.noise.psd(kSide, kSide);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(23);
    const auto noise = test::fourier_filter(
        torch::randn({3, 1, kSide, kSide}, gen, torch::kFloat64), prior_noise_power.sqrt());
    const auto x_t = alpha * p.x_true + sigma * noise;
    const auto s_w = p.prior->whitened_score(x_t, torch::full({3}, t, torch::kFloat64));
    const auto step = likelihood_kind(LikelihoodType::kProximal).make(proximal_setup(p, model));
    // The step to s = 0 lands on x0_dc itself.
    const auto x0_dc = step->transition({x_t, s_w, t, t, *p.schedule});
    const auto x0_hat = p.prior->x0_estimate(x_t, torch::full({3}, t, torch::kFloat64));

    const auto exact =
        test::dense_x0_given_xt_and_y(*p.op, model, prior_noise_power, alpha, sigma, x_t, p.y);
    EXPECT_LT((x0_dc.to(torch::kFloat64) - exact).abs().max().item<double>(), 1e-6) << c.name;
    // Not the prior's estimate alone: the data moved it.
    EXPECT_GT(((x0_dc - x0_hat).abs().max().item<double>()), 1e-3) << c.name;
  }
}

// The step is a solve, not a gradient step: extreme data weights give finite results that
// honour the data as much as the noise model lets them.
TEST(ProximalStep, ExtremeWeightsStayFinite) {
  auto p = test::make_gaussian_problem(test::blur_task(1.5), 4, 16, 16, 0.05);
  const PosteriorProblem problem{p.op, p.y, p.seeds, {1, p.h, p.w}, p.measurement_model()};
  auto solver = proximal_solver(p, 10, 1);
  for (const double lambda : {1e-6, 1.0, 1e6}) {
    const auto x = solver.at_weight(lambda).solve(problem);
    EXPECT_TRUE(torch::isfinite(x).all().item<bool>()) << lambda;
  }
  const auto loose = solver.at_weight(1e-6).solve(problem),
             tight = solver.at_weight(1e6).solve(problem);
  EXPECT_LT(mse(p.op->forward(tight.to(torch::kFloat64)), p.y),
            mse(p.op->forward(loose.to(torch::kFloat64)), p.y));
}

// Operators without a transfer function take the conjugate-gradient path
// (tests/infer/proximal_cg_test.cpp); other samplers are refused.
TEST(ProximalStep, TakesOperatorsWithoutTransferFunctionAndRefusesOtherSamplers) {
  TaskConfig inpaint;
  inpaint.operator_name = OperatorType::kInpaint;
  auto p = test::make_gaussian_problem(inpaint, 2, 8, 8, 0.1);
  const auto model = p.measurement_model();
  EXPECT_NO_THROW(likelihood_kind(LikelihoodType::kProximal).make(proximal_setup(p, model)));
  auto q = test::make_gaussian_problem(test::blur_task(), 2, 8, 8, 0.1);
  auto solver = proximal_solver(q, 5, 1);
  solver.sampler.method = SamplerMethod::kEuler;
  const PosteriorProblem problem{q.op, q.y, q.seeds, {1, 8, 8}, q.measurement_model()};
  EXPECT_THROW(solver.at_weight(1.0).solve(problem), InputError);
}

}  // namespace
}  // namespace wsd
