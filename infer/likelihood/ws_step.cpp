#include "infer/likelihood/ws_step.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace wsd {

std::optional<double> WsLikelihoodStep::stability_bound(const StabilityQuery& query) {
  const double op_norm_squared = operator_norm_squared(*query.op.ptr());
  if (op_norm_squared <= 0.0) return std::nullopt;
  const LambdaWeight factor{1.0, query.lambda_schedule, query.t_eps};
  double bound = INFINITY;
  for (size_t i = 0; i + 1 < query.grid.size(); ++i) {
    const double t = query.grid[i], dt = t - query.grid[i + 1];
    const double rate = factor.at(t) * query.schedule.beta(t) * dt * op_norm_squared;
    if (rate > 0.0) bound = std::min(bound, 4.0 / rate);
  }
  if (!std::isfinite(bound)) return std::nullopt;
  return bound;
}

torch::Tensor WsLikelihoodStep::increment(const LikelihoodInput& in) {
  const double scale = weight_.at(in.t) * in.schedule.beta(in.t) * in.dt / 2.0;
  return scale * op_->adjoint(residual(in.x_t));
}

}  // namespace wsd
