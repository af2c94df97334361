#include "infer/likelihood/dps_step.hpp"

#include <torch/torch.h>

#include "core/diffusion/forward_process.hpp"

namespace wsd {

torch::Tensor DpsLikelihoodStep::increment(const LikelihoodInput& in) {
  TORCH_CHECK(in.x_t.requires_grad(), "DPS needs the score evaluated on a differentiable x_t");
  const auto t = torch::full({in.x_t.size(0)}, in.t,
                             torch::TensorOptions().dtype(torch::kFloat64).device(in.x_t.device()));
  const auto x0 = tweedie_x0(in.schedule, in.x_t, in.s_w, t);
  const auto r = residual(x0);
  const auto norm = per_image_norm(r).detach();
  // Images are independent through the prior, so one backward pass of the batch sum gives
  // every image its own gradient.
  const auto objective = (r.square() / norm).sum();
  const auto grad = torch::autograd::grad({objective}, {in.x_t})[0];
  return -weight_.at(in.t) * grad;
}

}  // namespace wsd
