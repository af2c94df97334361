#include "infer/solve/posterior_solver.hpp"

#include <torch/torch.h>

#include <iomanip>
#include <memory>
#include <sstream>

#include "core/util/errors.hpp"
#include "core/util/seeds.hpp"
#include "infer/likelihood/likelihood_step.hpp"
#include "infer/solve/graphed_trajectory.hpp"

namespace wsd {
namespace {

// What ran, for the errors of an unstable or diverged solve.
std::string describe_setting(const SamplerConfig& sampler, const LikelihoodKind& kind,
                             double lambda, std::optional<double> bound) {
  std::ostringstream text;
  text << "sampler.likelihood " << kind.name() << ", sampler.lambda " << std::setprecision(4)
       << lambda << ", " << sampler.steps << " " << enum_name(sampler.method) << " steps";
  if (bound) {
    text << "; the explicit " << kind.name() << " step is stable only for lambda < " << *bound
         << " at these steps (lambda * beta_t * dt / 2 * ||A||^2 < 2)";
  }
  text << "; lower sampler.lambda, raise sampler.steps or use sampler.likelihood proximal";
  return text.str();
}

// sampler.lambda as a number: as given, or the step's natural weight for `auto`.
double data_weight(const SamplerConfig& sampler, const LikelihoodKind& kind) {
  if (sampler.lambda) return *sampler.lambda;
  if (const auto natural = kind.natural_weight()) return *natural;
  throw InputError("sampler.lambda auto: the " + kind.name() +
                   " step has no natural weight; a search must choose it first (wsdiff solve "
                   "and eval do)");
}

}  // namespace

PosteriorSolver PosteriorSolver::at_weight(double lambda) const {
  PosteriorSolver out = *this;
  out.sampler.lambda = lambda;
  return out;
}

std::optional<double> PosteriorSolver::stability_bound(const LinearOperator& op) const {
  const Trajectory trajectory(prior, sampler);
  return likelihood_kind(sampler.likelihood)
      .stability_bound(
          {prior.schedule(), trajectory.grid(), sampler.lambda_schedule, prior.t_eps(), op});
}

torch::Tensor PosteriorSolver::solve(const PosteriorProblem& problem, const BatchCallback& on_batch,
                                     const StepCallback& on_step) const {
  const LikelihoodKind& kind = likelihood_kind(sampler.likelihood);
  if (!kind.uses_measurements()) {
    throw InputError(
        "sampler.likelihood is none: nothing ties the samples to the measurements (use ws, "
        "normalised_gradient, dps or proximal)");
  }
  check_composes(sampler.method, kind);
  if (kind.needs_measurement_model() && !problem.model) {
    throw InputError("sampler.likelihood " + kind.name() + " needs the task's measurement model");
  }
  const int64_t images = problem.y.size(0);
  TORCH_CHECK(static_cast<int64_t>(problem.seeds.size()) == images,
              "one seed per measurement needed");
  const double lambda = data_weight(sampler, kind);
  const Trajectory trajectory(prior, sampler);
  const auto& grid = trajectory.grid();
  const auto bound = kind.stability_bound(
      {prior.schedule(), grid, sampler.lambda_schedule, prior.t_eps(), problem.op});
  const std::string setting = describe_setting(sampler, kind, lambda, bound);
  if (bound && lambda >= *bound) throw UnstableSettingError("unstable setting: " + setting);

  // Every posterior sample is one more row of the batch: image i, sample k at row i * M + k.
  const int64_t m = std::max(1, sampler.samples);
  const auto y_all = problem.y.repeat_interleave(m, 0);
  TrajectoryBatches rows{{}, problem.image_shape, sampler.batch_size, device};
  for (const uint64_t seed : problem.seeds) {
    for (int64_t k = 0; k < m; ++k) rows.seeds.push_back(posterior_sample_seed(seed, k));
  }
  LikelihoodSetup setup;
  setup.op = problem.op;
  setup.weight = {lambda, sampler.lambda_schedule, prior.t_eps()};
  setup.sampler = sampler;
  setup.prior_noise = &prior.noise();
  setup.model = problem.model ? &*problem.model : nullptr;
  const auto batch_y = [&](int64_t first_row, int64_t count, torch::ScalarType dtype) {
    return y_all.slice(0, first_row, first_row + count).to(device, dtype);
  };

  std::unique_ptr<GraphedTrajectory> graphed;
  if (sampler.cuda_graph) {
    check_graphable(sampler);
    // The whole trajectory from x_T to the Tweedie estimate, with no per-step callback: progress
    // and the divergence check come once per batch. Its first three steps (every kind of step a
    // second-order multistep sampler takes) are the warm-up.
    const auto run_on = [&](std::vector<double> times) {
      return [&, times](const torch::Tensor& x_start, const torch::Tensor& y_batch) {
        LikelihoodSetup own = setup;
        own.y = y_batch;
        SamplerContext context;
        context.likelihood = kind.make(own);
        return trajectory.integrate(x_start.clone(), context, times);
      };
    };
    const std::vector<double> first_steps(grid.begin(),
                                          grid.begin() + std::min<size_t>(grid.size(), 4));
    graphed = std::make_unique<GraphedTrajectory>(run_on(grid), run_on(first_steps));
  }

  TrajectoryRun run = std::cref(trajectory);
  if (graphed) {
    run = [&](const torch::Tensor& x_start, const SamplerContext& context) {
      torch::NoGradGuard no_grad;
      const auto x0 = (*graphed)(x_start, context.likelihood->measurement());
      context.callback(sampler.steps, sampler.steps, x0);  // the divergence check, once
      return x0;
    };
  }
  const auto x = run_batches(
      prior, rows,
      [&](int64_t first_row, const std::vector<uint64_t>& seeds, torch::Tensor& x) {
        LikelihoodSetup own = setup;
        own.y = batch_y(first_row, static_cast<int64_t>(seeds.size()), x.scalar_type());
        own.seeds = seeds;
        SamplerContext context;
        context.noise = &prior.noise();
        context.seeds = seeds;
        context.likelihood = kind.make(own);
        context.callback = DivergenceGuard(setting, first_row, m).wrap(on_step);
        x = context.likelihood->initial_state(x, prior.schedule().alpha(grid.front()),
                                              prior.schedule().sigma(grid.front()));
        return context;
      },
      run,
      [&](int64_t done, int64_t) {
        if (on_batch) on_batch(done / m, images);
      });
  return m == 1 ? x : x.view({images, m, -1, x.size(2), x.size(3)}).mean(1);
}

}  // namespace wsd
