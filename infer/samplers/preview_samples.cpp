#include "infer/samplers/preview_samples.hpp"

#include <torch/torch.h>

#include "infer/samplers/sampler.hpp"
#include "infer/samplers/time_grid.hpp"

namespace wsd {

torch::Tensor preview_samples(Prior& prior, const torch::Tensor& x1, double t_eps, int64_t steps) {
  const ScoreFn score = [&](const torch::Tensor& xt, const torch::Tensor& t) {
    return prior.whitened_score(xt, t);
  };
  const auto grid = uniform_time_grid(steps, t_eps);
  const auto x = sample_euler(prior.schedule(), score, x1, grid);
  return tweedie_from_score(prior.schedule(), score, x, grid.back());
}

}  // namespace wsd
