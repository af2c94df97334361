#pragma once

// A x = x (denoising; with low-frequency structured measurement noise, "dehazing").

#include <string>
#include <utility>
#include <vector>

#include "operators/linear_operator.hpp"

namespace wsd {

class IdentityOperatorImpl : public LinearOperatorImpl {
 public:
  explicit IdentityOperatorImpl(std::vector<int64_t> shape) : shape_(std::move(shape)) {}

  std::string kind() const override { return "identity"; }
  torch::Tensor forward(const torch::Tensor& x) override {
    check_shape(x, shape_, "input");
    return x;
  }
  torch::Tensor adjoint(const torch::Tensor& y) override {
    check_shape(y, shape_, "measurement");
    return y;
  }
  std::vector<int64_t> input_shape() const override { return shape_; }
  std::vector<int64_t> output_shape() const override { return shape_; }
  std::optional<torch::Tensor> transfer_function() const override {
    return torch::ones({1, 1, shape_[1], shape_[2]}, torch::kComplexDouble);
  }

 private:
  std::vector<int64_t> shape_;
};
TORCH_MODULE(IdentityOperator);

}  // namespace wsd
