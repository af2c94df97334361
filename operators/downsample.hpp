#pragma once

// Super-resolution forward model: y = D x, the mean of each non-overlapping f x f block,
// [C, H, W] -> [C, H/f, W/f] (f must divide H and W). The adjoint copies each measured value
// back onto its block divided by f^2 (D D^H = I / f^2), not the nearest-neighbour upsampling
// (which would be f^2 D^H).

#include <vector>

#include "operators/linear_operator.hpp"

namespace wsd {

class DownsampleOperatorImpl : public LinearOperatorImpl {
 public:
  DownsampleOperatorImpl(int64_t factor, std::vector<int64_t> input_shape);

  std::string kind() const override { return "downsample"; }
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::Tensor adjoint(const torch::Tensor& y) override;
  std::vector<int64_t> input_shape() const override { return input_shape_; }
  std::vector<int64_t> output_shape() const override { return output_shape_; }
  int64_t factor() const { return factor_; }

 private:
  int64_t factor_;
  std::vector<int64_t> input_shape_;
  std::vector<int64_t> output_shape_;
};
TORCH_MODULE(DownsampleOperator);

}  // namespace wsd
