#include "infer/likelihood/normalised_gradient_step.hpp"

#include <torch/torch.h>

namespace wsd {

torch::Tensor NormalisedGradientStep::increment(const LikelihoodInput& in) {
  const auto direction = op_->adjoint(residual(in.x_t));
  const double scale = weight_.at(in.t) * in.dt / 2.0;
  return scale * per_image_norm(in.s_w) * direction / per_image_norm(direction);
}

}  // namespace wsd
