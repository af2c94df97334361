#pragma once

#include <torch/torch.h>

#include <string>

namespace wsd {

// A linear forward model y = A x on image batches [N, C, H, W], with its exact adjoint A^H.
// Operators are modules so that their buffers (kernels, transfer functions) follow .to(device).
class LinearOperatorImpl : public torch::nn::Module {
 public:
  virtual std::string kind() const = 0;
  virtual torch::Tensor apply(const torch::Tensor& x) = 0;
  virtual torch::Tensor adjoint(const torch::Tensor& y) = 0;
};

// y = x: denoising; with low-frequency structured noise this is the dehazing task.
class IdentityOperatorImpl : public LinearOperatorImpl {
 public:
  std::string kind() const override { return "identity"; }
  torch::Tensor apply(const torch::Tensor& x) override { return x; }
  torch::Tensor adjoint(const torch::Tensor& y) override { return y; }
};
TORCH_MODULE(IdentityOperator);

}  // namespace wsd
