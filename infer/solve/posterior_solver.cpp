#include "infer/solve/posterior_solver.hpp"

#include <torch/torch.h>

#include <iomanip>
#include <optional>
#include <sstream>

#include "core/util/errors.hpp"
#include "core/util/seeds.hpp"
#include "infer/likelihood/likelihood_step.hpp"
#include "infer/likelihood/proximal_step.hpp"
#include "infer/solve/graphed_trajectory.hpp"

namespace wsd {

namespace {

// What ran, for the errors of an unstable or diverged solve.
std::string describe_setting(const SamplerConfig& sampler, double lambda,
                             std::optional<double> bound) {
  std::ostringstream text;
  text << "sampler.likelihood " << enum_name(sampler.likelihood) << ", sampler.lambda "
       << std::setprecision(4) << lambda << ", " << sampler.steps << " "
       << enum_name(sampler.method) << " steps";
  if (bound) {
    text << "; the explicit " << enum_name(sampler.likelihood)
         << " step is stable only for lambda < " << *bound
         << " at these steps (lambda * beta_t * dt / 2 * ||A||^2 < 2)";
  }
  text << "; lower sampler.lambda, raise sampler.steps or use sampler.likelihood proximal";
  return text.str();
}

// The configured step's largest stable lambda on `grid` (see PosteriorSolver::stability_bound).
std::optional<double> bound_on_grid(const SamplerConfig& sampler, const DiffusionSchedule& schedule,
                                    const std::vector<double>& grid, double t_eps,
                                    const LinearOperator& op) {
  // Only the ws step has a bound: skip the operator norm for the others.
  if (sampler.likelihood != LikelihoodType::kWs) return std::nullopt;
  return max_stable_lambda(sampler.likelihood, schedule, grid, sampler.lambda_schedule, t_eps,
                           operator_norm_squared(*op.ptr()));
}

}  // namespace

torch::Tensor PosteriorSolver::solve(const PosteriorProblem& problem, double lambda,
                                     const BatchCallback& on_batch,
                                     const StepCallback& on_step) const {
  const int64_t images = problem.y.size(0);
  TORCH_CHECK(static_cast<int64_t>(problem.seeds.size()) == images,
              "one seed per measurement needed");
  // Every posterior sample is one more row of the batch: image i, sample k at row i * M + k.
  const int64_t m = std::max(1, sampler.samples);
  const auto y_all = problem.y.repeat_interleave(m, 0);
  std::vector<uint64_t> seeds_all;
  for (const uint64_t seed : problem.seeds) {
    for (int64_t k = 0; k < m; ++k) seeds_all.push_back(posterior_sample_seed(seed, k));
  }
  const int64_t n = images * m;
  const auto& shape = problem.image_shape;
  const bool proximal = sampler.likelihood == LikelihoodType::kProximal;
  if (proximal && (!problem.model || sampler.method != SamplerMethod::kExponential)) {
    throw InputError(
        "sampler.likelihood proximal needs sampler.method exponential and the task's "
        "measurement model");
  }
  const auto prior_noise_power = proximal ? prior_noise.psd(shape[1], shape[2]) : torch::Tensor();
  const auto grid = time_grid_for(prior.schedule(), sampler, sampler.steps, t_eps);
  const auto bound = bound_on_grid(sampler, prior.schedule(), grid, t_eps, problem.op);
  const std::string setting = describe_setting(sampler, lambda, bound);
  if (bound && lambda >= *bound) throw UnstableSettingError("unstable setting: " + setting);
  const SamplerFn sample = sampler_for(sampler.method);
  ScoreFn score = [&](const torch::Tensor& x, const torch::Tensor& t) {
    return prior.whitened_score(x, t);
  };
  if (sampler.clamp_x0) score = clamped_tweedie_score(prior.schedule(), score);
  const LambdaWeight weight{lambda, sampler.lambda_schedule, t_eps};
  std::unique_ptr<GraphedTrajectory> graphed;
  if (sampler.cuda_graph) {
    check_graphable(sampler);
    // The whole trajectory from x_T to the Tweedie estimate, with no per-step callback: progress
    // and the divergence check come once per batch. Its first three steps (every kind of step a
    // second-order multistep sampler takes) are the warm-up.
    const auto trajectory_on = [&](std::vector<double> times) {
      return [&, times](const torch::Tensor& x_start, const torch::Tensor& y_batch) {
        SamplerContext context;
        context.likelihood = make_likelihood_step(sampler.likelihood, problem.op, y_batch, weight);
        auto x = sample(prior.schedule(), score, x_start.clone(), times, context);
        return tweedie_from_score(prior.schedule(), score, x, times.back());
      };
    };
    const std::vector<double> first_steps(grid.begin(),
                                          grid.begin() + std::min<size_t>(grid.size(), 4));
    graphed = std::make_unique<GraphedTrajectory>(trajectory_on(grid), trajectory_on(first_steps));
  }
  std::vector<torch::Tensor> parts;
  const int64_t batch = std::max<int64_t>(1, sampler.batch_size);
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t end = std::min(n, start + batch);
    const std::vector<uint64_t> seeds(seeds_all.begin() + start, seeds_all.begin() + end);
    auto x = prior_noise.sample_per_image(seeds, shape[0], shape[1], shape[2], device);
    const auto y = y_all.slice(0, start, end).to(device, x.scalar_type());
    if (graphed) {
      torch::NoGradGuard no_grad;
      x = (*graphed)(x, y);
      DivergenceGuard(setting, start, m).check(sampler.steps, sampler.steps, x);
    } else {
      SamplerContext context;
      context.noise = &prior_noise;
      context.seeds = seeds;
      context.callback = DivergenceGuard(setting, start, m).wrap(on_step);
      if (proximal) {
        auto step = std::make_shared<ProximalLikelihoodStep>(
            problem.op, y, weight, *problem.model, prior_noise_power, seeds, sampler.proximal_x0);
        x = step->initial_state(x, prior.schedule().alpha(grid.front()),
                                prior.schedule().sigma(grid.front()));
        context.likelihood = step;
      } else {
        context.likelihood = make_likelihood_step(sampler.likelihood, problem.op, y, weight);
      }
      // DPS turns gradients on for its own evaluations only. Every other step runs in
      // InferenceMode, without autograd's version and view bookkeeping: faster than NoGradGuard
      // on CPU at batch sizes above one (`wsdiff bench --what sample`, figures in README.md).
      std::optional<torch::NoGradGuard> no_grad;
      std::optional<c10::InferenceMode> inference;
      if (context.likelihood && context.likelihood->differentiates_prior()) {
        no_grad.emplace();
      } else {
        inference.emplace();
      }
      x = sample(prior.schedule(), score, x, grid, context);
      x = tweedie_from_score(prior.schedule(), score, x, grid.back());
    }
    parts.push_back(x.to(torch::kCPU, torch::kFloat32));
    if (on_batch) on_batch(end / m, images);
  }
  const auto x = torch::cat(parts);
  return m == 1 ? x : x.view({images, m, shape[0], shape[1], shape[2]}).mean(1);
}

std::optional<double> PosteriorSolver::stability_bound(const LinearOperator& op) const {
  return bound_on_grid(sampler, prior.schedule(),
                       time_grid_for(prior.schedule(), sampler, sampler.steps, t_eps), t_eps, op);
}

}  // namespace wsd
