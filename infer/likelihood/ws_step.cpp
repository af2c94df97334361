#include "infer/likelihood/ws_step.hpp"

#include <torch/torch.h>

namespace wsd {

torch::Tensor WsLikelihoodStep::increment(const LikelihoodInput& in) {
  const double scale = weight_.at(in.t) * in.schedule.beta(in.t) * in.dt / 2.0;
  return scale * op_->adjoint(residual(in.x_t));
}

}  // namespace wsd
