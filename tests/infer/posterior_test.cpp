// Posterior sampling on linear-Gaussian problems, where the exact posterior mean (the Wiener
// filter) is the optimum every method is measured against.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <iostream>
#include <tuple>

#include "core/util/errors.hpp"
#include "infer/baselines/wiener_filter.hpp"
#include "infer/likelihood/likelihood_step.hpp"
#include "infer/metrics/psnr.hpp"
#include "infer/solve/lambda_selection.hpp"
#include "infer/solve/posterior_solver.hpp"
#include "tests/infer/gaussian_problem.hpp"

namespace wsd {
namespace {

double mean_psnr(const torch::Tensor& x, const torch::Tensor& truth) {
  return psnr(x, truth).mean().item<double>();
}

// Every likelihood step moves towards data consistency: from a state away from a noiseless
// measurement's truth, the residual ||y - A x|| (DPS: at the Tweedie estimate) shrinks.
TEST(LikelihoodStep, EachStepReducesTheResidualOnANoiselessProblem) {
  auto p = test::make_gaussian_problem(test::blur_task(), 4, 16, 12, 0.0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const double t = 0.3, dt = 0.01;
  const auto& schedule = p.prior->schedule();
  const auto x_t =
      schedule.alpha(t) * p.x_true + schedule.sigma(t) * p.noise.sample(4, 1, p.h, p.w, gen);
  const auto t_vec = torch::full({4}, t, torch::kFloat64);
  for (const auto type :
       {LikelihoodType::kWs, LikelihoodType::kNormalisedGradient, LikelihoodType::kDps}) {
    LikelihoodSetup setup;
    setup.op = p.op;
    setup.y = p.y;
    setup.weight = LambdaWeight{type == LikelihoodType::kWs ? 5.0 : 0.5};
    auto step = likelihood_kind(type).make(setup);
    torch::Tensor before, after;
    if (type == LikelihoodType::kDps) {
      const auto x = x_t.detach().requires_grad_(true);
      const auto s_w = p.prior->whitened_score(x, t_vec);
      const auto inc = step->increment({x, s_w, t, dt, schedule}).detach();
      before = p.y - p.op->forward(p.prior->x0_estimate(x_t, t_vec));
      after = p.y - p.op->forward(p.prior->x0_estimate(x_t + inc, t_vec));
    } else {
      const auto s_w = p.prior->whitened_score(x_t, t_vec);
      const auto inc = step->increment({x_t, s_w, t, dt, schedule});
      before = p.y - p.op->forward(x_t);
      after = p.y - p.op->forward(x_t + inc);
      if (type == LikelihoodType::kWs) {
        // The sign and size of Algorithm 1's term, exactly.
        const auto expected = 5.0 * schedule.beta(t) * dt / 2 * p.op->adjoint(before);
        EXPECT_LT((inc - expected).abs().max().item<double>(), 1e-12);
      }
    }
    const auto r0 = per_image_norm(before).flatten(), r1 = per_image_norm(after).flatten();
    EXPECT_TRUE((r1 < r0).all().item<bool>()) << step->name() << ": " << r0 << " -> " << r1;
  }
}

PosteriorSolver solver_for(test::GaussianProblem& p, SamplerMethod method, LikelihoodType type,
                           int64_t steps, int batch_size) {
  SamplerConfig sampler;
  sampler.method = method;
  sampler.likelihood = type;
  sampler.steps = steps;
  sampler.batch_size = batch_size;
  return PosteriorSolver{*p.prior, sampler, torch::kCPU};
}

TEST(PosteriorSolver, ResultsDoNotDependOnTheBatchSize) {
  auto p = test::make_gaussian_problem(test::blur_task(), 4, 12, 10, 0.1);
  const PosteriorProblem problem{p.op, p.y, {11, 12, 13, 14}, {1, p.h, p.w}};
  for (const auto& [method, type] :
       {std::pair{SamplerMethod::kEuler, LikelihoodType::kWs},
        std::pair{SamplerMethod::kSde, LikelihoodType::kNormalisedGradient},
        std::pair{SamplerMethod::kHeun, LikelihoodType::kDps}}) {
    const auto whole = solver_for(p, method, type, 20, 4).at_weight(1.0).solve(problem);
    const auto single = solver_for(p, method, type, 20, 1).at_weight(1.0).solve(problem);
    EXPECT_LT((whole - single).abs().max().item<double>(), 1e-6) << enum_name(method);
  }
}

// The acceptance measurement of the posterior samplers: with the best lambda of a grid, the
// mean of 8 posterior samples per measurement lands close to the exact posterior mean's PSNR
// (one sample cannot: even an exact posterior sample has twice the posterior mean's MSE, 3 dB).
// The measured gaps, for 1 and 8 samples, are printed.
TEST(PosteriorSolver, BestLambdaLandsNearTheExactPosteriorMean) {
  auto p = test::make_gaussian_problem(test::blur_task(1.5), 8, 16, 16, 0.1);
  const double optimum = mean_psnr(wiener_filter(*p.op, p.y, p.measurement_model()), p.x_true);
  const double measurement = mean_psnr(p.y, p.x_true);
  std::vector<uint64_t> seeds;
  for (uint64_t i = 0; i < 8; ++i) seeds.push_back(100 + i);
  const PosteriorProblem problem{p.op, p.y, seeds, {1, p.h, p.w}};
  std::cout << "exact posterior mean " << optimum << " dB, measurement " << measurement << " dB\n";
  for (const auto& [type, grid, tolerance] :
       {std::tuple{LikelihoodType::kWs, std::vector<double>{3, 10, 30}, 1.0},
        std::tuple{LikelihoodType::kNormalisedGradient, std::vector<double>{0.1, 0.3, 1}, 1.5},
        std::tuple{LikelihoodType::kDps, std::vector<double>{0.1, 0.2, 0.4}, 1.5}}) {
    double best = -INFINITY, best_lambda = 0;
    auto solver = solver_for(p, SamplerMethod::kEuler, type, 200, 64);
    solver.sampler.samples = 8;
    for (double lambda : grid) {
      const double value = mean_psnr(solver.at_weight(lambda).solve(problem), p.x_true);
      if (value > best) best = value, best_lambda = lambda;
    }
    solver.sampler.samples = 1;
    const double single = mean_psnr(solver.at_weight(best_lambda).solve(problem), p.x_true);
    std::cout << enum_name(type) << ": best lambda " << best_lambda << ", 8-sample mean " << best
              << " dB (gap " << optimum - best << " dB), one sample " << single << " dB (gap "
              << optimum - single << " dB)\n";
    EXPECT_GT(best, measurement + 0.5) << enum_name(type);
    EXPECT_GT(best, optimum - tolerance) << enum_name(type);
    EXPECT_GT(best, single) << enum_name(type);
  }
}

TEST(LambdaSelection, DiscrepancyPrincipleLandsNearTheBestLambda) {
  auto p = test::make_gaussian_problem(test::blur_task(1.5), 4, 16, 16, 0.1);
  const auto solver = solver_for(p, SamplerMethod::kEuler, LikelihoodType::kWs, 100, 4);
  const PosteriorProblem problem{p.op, p.y, {1, 2, 3, 4}, {1, p.h, p.w}};
  LambdaSearch search;
  search.reconstruct = [&](double lambda) {
    return solver.at_weight(lambda).solve(problem).to(torch::kFloat64);
  };
  search.residual_energy = [&](const torch::Tensor& x) {
    return (p.y - p.op->forward(x)).square().flatten(1).sum(1);
  };
  // Unit-variance noise: E||b||^2 = s^2 per pixel.
  search.expected_noise_energy = p.level * p.level * p.h * p.w;
  search.truth = p.x_true;
  search.max_lambda = 0.9 * *solver.stability_bound(p.op);
  const auto selection = select_lambda(search);
  ASSERT_TRUE(selection.best_lambda.has_value());
  const double gap = *selection.best()->psnr - *selection.chosen().psnr;
  std::cout << "auto lambda " << selection.lambda << " (residual ratio "
            << selection.chosen().residual_ratio << "), best " << *selection.best_lambda
            << ", PSNR gap " << gap << " dB over " << selection.trials.size() << " trials\n";
  EXPECT_LT(gap, 1.0);
  EXPECT_LT(std::abs(std::log(selection.chosen().residual_ratio)), 0.5);
}

// The ws step's bound in closed form: the VP beta(t) = 0.1 + 19.9 t peaks at the first step
// (t = 1), where a normalised blur (||A||^2 = 1, its DC gain) needs lambda beta dt / 2 < 2.
// Below the bound the solve stays bounded; at or above it the solver refuses before any work,
// and the bound is real: sampled anyway at 3x the bound, the state runs away and the guard stops
// it.
TEST(PosteriorSolver, WsStepIsRefusedAboveItsStabilityBoundWhichIsReal) {
  auto p = test::make_gaussian_problem(test::blur_task(1.5), 2, 16, 16, 0.1);
  const auto solver = solver_for(p, SamplerMethod::kEuler, LikelihoodType::kWs, 50, 2);
  const PosteriorProblem problem{p.op, p.y, {1, 2}, {1, p.h, p.w}};
  const auto bound = solver.stability_bound(p.op);
  ASSERT_TRUE(bound.has_value());
  const double dt = (1.0 - 1e-3) / 50;
  EXPECT_NEAR(*bound, 4.0 / (20.0 * dt), 1e-6 * *bound);
  try {
    solver.at_weight(1.01 * *bound).solve(problem);
    ADD_FAILURE() << "an unstable lambda was accepted";
  } catch (const UnstableSettingError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("50 euler steps"), std::string::npos) << message;
    EXPECT_NE(message.find("stable only for lambda < 10.0"), std::string::npos) << message;
  }
  const auto x = solver.at_weight(0.95 * *bound).solve(problem);
  EXPECT_TRUE(torch::isfinite(x).all().item<bool>());
  EXPECT_LT(x.abs().max().item<double>(), 5.0);

  LikelihoodSetup setup;
  setup.op = p.op;
  setup.y = p.y;
  setup.weight = LambdaWeight{3 * *bound};
  SamplerContext context;
  context.likelihood = likelihood_kind(LikelihoodType::kWs).make(setup);
  context.callback = DivergenceGuard("ws at 3x its bound").wrap({});
  const auto grid = uniform_time_grid(50, 1e-3);
  const auto x1 = p.noise.sample_per_image({1, 2}, 1, p.h, p.w, torch::kCPU);
  const ScoreFn score = [&](const torch::Tensor& x, const torch::Tensor& t) {
    return p.prior->whitened_score(x, t);
  };
  EXPECT_THROW(sample_euler(p.prior->schedule(), score, x1, grid, context), DivergenceError);
  // The linear ramp of lambda_t lowers the weight of the early, large-beta steps: a larger bound.
  auto ramped = solver;
  ramped.sampler.lambda_schedule = LambdaSchedule::kLinear;
  EXPECT_GT(*ramped.stability_bound(p.op), *bound);
  // The other steps have no such bound.
  auto normalised = solver;
  normalised.sampler.likelihood = LikelihoodType::kNormalisedGradient;
  EXPECT_FALSE(normalised.stability_bound(p.op).has_value());
}

TEST(DivergenceGuard, StopsOnNonFiniteOrExplodingImagesNamingThem) {
  auto x = torch::randn({4, 1, 8, 8}, torch::kFloat64);
  const DivergenceGuard guard("the setting", /*first_row=*/4, /*rows_per_image=*/2, /*every=*/10);
  EXPECT_NO_THROW(guard.check(10, 50, x));
  x[1][0][2][3] = NAN;
  // Only every 10th step and the last one are looked at.
  EXPECT_NO_THROW(guard.check(13, 50, x));
  try {
    guard.check(20, 50, x);
    ADD_FAILURE() << "a NaN image passed";
  } catch (const DivergenceError& e) {
    const std::string message = e.what();
    // Row 1 of a batch starting at row 4, two rows per image: image (4 + 1) / 2 = 2.
    EXPECT_NE(message.find("step 20 of 50 for image 2 (state rms not finite): the setting"),
              std::string::npos)
        << message;
  }
  auto y = torch::randn({3, 1, 8, 8}, torch::kFloat64);
  y[2] *= 1e3;
  EXPECT_THROW(DivergenceGuard("s").check(50, 50, y), DivergenceError);
  y[2] /= 1e3;
  EXPECT_NO_THROW(DivergenceGuard("s").check(50, 50, y));
}

// The automatic search never tries a lambda at or above max_lambda, records a diverged trial as
// such and never returns it, and when even its smallest decade is unstable falls back to half
// the bound.
TEST(LambdaSelection, NeverTriesUnstableNorReturnsDivergedLambdas) {
  std::vector<double> tried;
  LambdaSearch search;
  search.reconstruct = [&](double lambda) {
    tried.push_back(lambda);
    if (lambda > 5.0) throw DivergenceError("diverged");
    return torch::full({2, 1, 4, 4}, lambda, torch::kFloat64);
  };
  // Residual ratio 10 / lambda: the discrepancy principle would want lambda = 10.
  search.residual_energy = [](const torch::Tensor& x) { return 10.0 / x.flatten(1).mean(1); };
  search.expected_noise_energy = 1.0;
  search.max_lambda = 50.0;
  const auto selection = select_lambda(search);
  for (double lambda : tried) EXPECT_LT(lambda, 50.0);
  EXPECT_NEAR(selection.lambda, std::sqrt(10.0), 1e-9);
  bool saw_diverged = false;
  for (const auto& trial : selection.trials) saw_diverged |= trial.diverged;
  EXPECT_TRUE(saw_diverged);

  tried.clear();
  search.max_lambda = 0.05;
  EXPECT_NEAR(select_lambda(search).lambda, 0.025, 1e-12);
  EXPECT_EQ(tried, std::vector<double>{0.025});

  search.max_lambda = INFINITY;
  search.reconstruct = [](double) -> torch::Tensor { throw DivergenceError("always"); };
  EXPECT_THROW(select_lambda(search), DivergenceError);
}

// sampler.cuda_graph records whole trajectories: the settings with host-side randomness or
// autograd are refused by name, and so is a solve off CUDA (the graphed solve itself is checked
// against the eager one in tests/gpu/graphed_trajectory_test.cpp).
TEST(PosteriorSolver, CudaGraphRefusesWhatCannotBeRecorded) {
  auto p = test::make_gaussian_problem(test::blur_task(), 2, 8, 8, 0.1);
  const PosteriorProblem problem{p.op, p.y, {1, 2}, {1, p.h, p.w}};
  const auto refusal = [&](SamplerMethod method, LikelihoodType type) {
    auto solver = solver_for(p, method, type, 4, 2);
    solver.sampler.cuda_graph = true;
    try {
      solver.at_weight(0.1).solve(problem);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal(SamplerMethod::kSde, LikelihoodType::kWs).find("the sde sampler"),
            std::string::npos);
  EXPECT_NE(refusal(SamplerMethod::kEuler, LikelihoodType::kDps).find("autograd"),
            std::string::npos);
  EXPECT_NE(refusal(SamplerMethod::kEuler, LikelihoodType::kWs).find("CUDA"), std::string::npos);
}

}  // namespace
}  // namespace wsd
