#pragma once

// Inpainting forward model: y = M x with a binary mask M [H, W] (1 = pixel kept) shared by all
// images and channels; missing pixels read 0. Self-adjoint. The mask is a registered float64
// buffer (0/1 are exact in every dtype).

#include <cstdint>
#include <vector>

#include "operators/linear_operator.hpp"

namespace wsd {

class InpaintOperatorImpl : public LinearOperatorImpl {
 public:
  InpaintOperatorImpl(const torch::Tensor& mask, std::vector<int64_t> input_shape);

  std::string kind() const override { return "inpaint"; }
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::Tensor adjoint(const torch::Tensor& y) override { return forward(y); }
  std::vector<int64_t> input_shape() const override { return shape_; }
  std::vector<int64_t> output_shape() const override { return shape_; }
  torch::Tensor mask() const { return mask_.view({shape_[1], shape_[2]}); }

 private:
  std::vector<int64_t> shape_;
  torch::Tensor mask_;  // [1, 1, H, W]
};
TORCH_MODULE(InpaintOperator);

// Exactly round(keep_fraction * H * W) kept pixels, chosen uniformly (a random permutation from
// a CPU generator seeded with `seed`). float64 [H, W].
torch::Tensor random_mask(int64_t h, int64_t w, double keep_fraction, uint64_t seed);

// One centred rectangular hole of round(sqrt(removed_fraction) H) x round(sqrt(removed_fraction)
// W) pixels: the removed area is removed_fraction of the image up to rounding. float64 [H, W].
torch::Tensor box_mask(int64_t h, int64_t w, double removed_fraction);

}  // namespace wsd
