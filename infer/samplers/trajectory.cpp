#include "infer/samplers/trajectory.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <optional>

#include "core/noise/structured_noise.hpp"
#include "core/util/seeds.hpp"
#include "infer/likelihood/likelihood_step.hpp"

namespace wsd {
namespace {

ScoreFn prior_score(Prior& prior, const SamplerConfig& sampler) {
  ScoreFn score = [&prior](const torch::Tensor& x, const torch::Tensor& t) {
    return prior.whitened_score(x, t);
  };
  if (sampler.clamp_x0) score = clamped_tweedie_score(prior.schedule(), std::move(score));
  return score;
}

}  // namespace

Trajectory::Trajectory(Prior& prior, const SamplerConfig& sampler)
    : Trajectory(prior.schedule(), prior_score(prior, sampler), sampler, prior.t_eps()) {}

Trajectory::Trajectory(const DiffusionSchedule& schedule, ScoreFn score,
                       const SamplerConfig& sampler, double t_eps)
    : schedule_(&schedule),
      score_(std::move(score)),
      sampler_(sampler),
      sample_(sampler_for(sampler.method)),
      grid_(time_grid_for(schedule, sampler, sampler.steps, t_eps)) {}

torch::Tensor Trajectory::integrate(torch::Tensor x, const SamplerContext& context) const {
  return integrate(std::move(x), context, grid_);
}

torch::Tensor Trajectory::integrate(torch::Tensor x, const SamplerContext& context,
                                    const std::vector<double>& grid) const {
  if (context.likelihood) check_composes(sampler_.method, context.likelihood->kind());
  x = sample_(*schedule_, score_, std::move(x), grid, context);
  return tweedie_from_score(*schedule_, score_, x, grid.back());
}

torch::Tensor Trajectory::operator()(torch::Tensor x, const SamplerContext& context) const {
  std::optional<torch::NoGradGuard> no_grad;
  std::optional<c10::InferenceMode> inference;
  if (context.likelihood && context.likelihood->kind().differentiates_prior()) {
    no_grad.emplace();
  } else {
    inference.emplace();
  }
  return integrate(std::move(x), context);
}

torch::Tensor run_batches(const Prior& prior, const TrajectoryBatches& batches,
                          const BatchSetup& setup, const TrajectoryRun& run,
                          const BatchCallback& on_batch) {
  const int64_t rows = static_cast<int64_t>(batches.seeds.size());
  const auto& shape = batches.image_shape;
  const int64_t batch = std::max<int64_t>(1, batches.batch_size);
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < rows; start += batch) {
    const int64_t end = std::min(rows, start + batch);
    const std::vector<uint64_t> seeds(batches.seeds.begin() + start, batches.seeds.begin() + end);
    auto x = prior.noise().sample_per_image(seeds, shape[0], shape[1], shape[2], batches.device);
    const SamplerContext context = setup(start, seeds, x);
    parts.push_back(run(x, context).to(torch::kCPU, torch::kFloat32));
    if (on_batch) on_batch(end, rows);
  }
  return torch::cat(parts);
}

torch::Tensor sample_prior(Prior& prior, const SamplerConfig& sampler,
                           const std::vector<int64_t>& image_shape, int64_t n, uint64_t first_seed,
                           torch::Device device, const std::string& setting,
                           const SampleProgress& progress) {
  const Trajectory trajectory(prior, sampler);
  const int64_t batch = std::max<int64_t>(1, sampler.batch_size);
  const int64_t batches = (n + batch - 1) / batch;
  const TrajectoryBatches rows{consecutive_seeds(first_seed, 0, n), image_shape, batch, device};
  const BatchSetup setup = [&](int64_t first_row, const std::vector<uint64_t>& seeds,
                               torch::Tensor&) {
    SamplerContext context;
    context.noise = &prior.noise();
    context.seeds = seeds;
    StepCallback report;
    if (progress) {
      report = [&progress, b = first_row / batch + 1, batches](int64_t step, int64_t steps,
                                                               const torch::Tensor&) {
        progress(b, batches, step, steps);
      };
    }
    context.callback = DivergenceGuard(setting, first_row, 1).wrap(report);
    return context;
  };
  return run_batches(prior, rows, setup, std::cref(trajectory));
}

}  // namespace wsd
