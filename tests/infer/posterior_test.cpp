// Posterior sampling on linear-Gaussian problems, where the exact posterior mean (the Wiener
// filter) is the optimum every method is measured against.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <iostream>
#include <tuple>

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
  for (const auto type : {LikelihoodType::kWs, LikelihoodType::kJalal, LikelihoodType::kDps}) {
    auto step = make_likelihood_step(type, p.op, p.y,
                                     LambdaWeight{type == LikelihoodType::kWs ? 5.0 : 0.5});
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
  return PosteriorSolver{*p.prior, p.noise, sampler, 1e-3, torch::kCPU};
}

TEST(PosteriorSolver, ResultsDoNotDependOnTheBatchSize) {
  auto p = test::make_gaussian_problem(test::blur_task(), 4, 12, 10, 0.1);
  const PosteriorProblem problem{p.op, p.y, {11, 12, 13, 14}, {1, p.h, p.w}};
  for (const auto& [method, type] : {std::pair{SamplerMethod::kEuler, LikelihoodType::kWs},
                                     std::pair{SamplerMethod::kSde, LikelihoodType::kJalal},
                                     std::pair{SamplerMethod::kHeun, LikelihoodType::kDps}}) {
    const auto whole = solver_for(p, method, type, 20, 4).solve(problem, 1.0);
    const auto single = solver_for(p, method, type, 20, 1).solve(problem, 1.0);
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
        std::tuple{LikelihoodType::kJalal, std::vector<double>{0.1, 0.3, 1}, 1.5},
        std::tuple{LikelihoodType::kDps, std::vector<double>{0.1, 0.2, 0.4}, 1.5}}) {
    double best = -INFINITY, best_lambda = 0;
    auto solver = solver_for(p, SamplerMethod::kEuler, type, 200, 64);
    solver.sampler.samples = 8;
    for (double lambda : grid) {
      const double value = mean_psnr(solver.solve(problem, lambda), p.x_true);
      if (value > best) best = value, best_lambda = lambda;
    }
    solver.sampler.samples = 1;
    const double single = mean_psnr(solver.solve(problem, best_lambda), p.x_true);
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
    return solver.solve(problem, lambda).to(torch::kFloat64);
  };
  search.residual_energy = [&](const torch::Tensor& x) {
    return (p.y - p.op->forward(x)).square().flatten(1).sum(1);
  };
  // Unit-variance noise: E||b||^2 = s^2 per pixel.
  search.expected_noise_energy = p.level * p.level * p.h * p.w;
  search.truth = p.x_true;
  const auto selection = select_lambda(search);
  ASSERT_TRUE(selection.best_lambda.has_value());
  const double gap = *selection.best()->psnr - *selection.chosen().psnr;
  std::cout << "auto lambda " << selection.lambda << " (residual ratio "
            << selection.chosen().residual_ratio << "), best " << *selection.best_lambda
            << ", PSNR gap " << gap << " dB over " << selection.trials.size() << " trials\n";
  EXPECT_LT(gap, 1.0);
  EXPECT_LT(std::abs(std::log(selection.chosen().residual_ratio)), 0.5);
}

}  // namespace
}  // namespace wsd
