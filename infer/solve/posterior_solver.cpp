#include "infer/solve/posterior_solver.hpp"

#include <torch/torch.h>

#include "infer/likelihood/likelihood_step.hpp"

namespace wsd {

torch::Tensor PosteriorSolver::solve(const PosteriorProblem& problem, double lambda,
                                     const BatchCallback& on_batch,
                                     const StepCallback& on_step) const {
  const int64_t n = problem.y.size(0);
  TORCH_CHECK(static_cast<int64_t>(problem.seeds.size()) == n, "one seed per measurement needed");
  const auto& shape = problem.image_shape;
  const auto grid = uniform_time_grid(sampler.steps, t_eps);
  const SamplerFn sample = sampler_for(sampler.method);
  const ScoreFn score = [&](const torch::Tensor& x, const torch::Tensor& t) {
    return prior.whitened_score(x, t);
  };
  std::vector<torch::Tensor> parts;
  const int64_t batch = std::max<int64_t>(1, sampler.batch_size);
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t end = std::min(n, start + batch);
    const std::vector<uint64_t> seeds(problem.seeds.begin() + start, problem.seeds.begin() + end);
    auto x = prior_noise.sample_per_image(seeds, shape[0], shape[1], shape[2], device);
    SamplerContext context;
    context.noise = &prior_noise;
    context.seeds = seeds;
    context.callback = on_step;
    context.likelihood = make_likelihood_step(
        sampler.likelihood, problem.op, problem.y.slice(0, start, end).to(device, x.scalar_type()),
        LambdaWeight{lambda, sampler.lambda_schedule, t_eps});
    {
      // DPS turns gradients on for its own evaluations only.
      torch::NoGradGuard no_grad;
      x = sample(prior.schedule(), score, x, grid, context);
      x = tweedie_from_score(prior.schedule(), score, x, grid.back());
    }
    parts.push_back(x.to(torch::kCPU, torch::kFloat32));
    if (on_batch) on_batch(end, n);
  }
  return torch::cat(parts);
}

}  // namespace wsd
