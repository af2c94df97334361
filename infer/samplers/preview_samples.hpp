#pragma once

#include <torch/types.h>

#include "core/model/prior.hpp"

namespace wsd {

// The training run's sample grids (TrainRequest::draw_samples): `steps` uniform Euler steps of
// the probability-flow ODE from the initial noise x1 down to the prior's t_eps, then the Tweedie
// step. Cheap and unchanged across configs, so grids from different runs and steps compare like
// for like.
torch::Tensor preview_samples(Prior& prior, const torch::Tensor& x1, int64_t steps = 100);

}  // namespace wsd
