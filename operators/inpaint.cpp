#include "operators/inpaint.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <utility>

namespace wsd {

InpaintOperatorImpl::InpaintOperatorImpl(const torch::Tensor& mask, std::vector<int64_t> input_shape)
    : shape_(std::move(input_shape)) {
  TORCH_CHECK(shape_.size() == 3 && mask.dim() == 2 && mask.size(0) == shape_[1] &&
                  mask.size(1) == shape_[2],
              "inpaint: mask ", mask.sizes(), " does not match the image");
  mask_ = register_buffer("mask", mask.to(torch::kFloat64).view({1, 1, shape_[1], shape_[2]}));
}

torch::Tensor InpaintOperatorImpl::forward(const torch::Tensor& x) {
  check_shape(x, shape_, "input");
  return x * mask_.to(x.scalar_type());
}

torch::Tensor random_mask(int64_t h, int64_t w, double keep_fraction, uint64_t seed) {
  TORCH_CHECK(keep_fraction >= 0 && keep_fraction <= 1, "random_mask: fraction in [0, 1]");
  const int64_t total = h * w;
  const auto kept = static_cast<int64_t>(std::llround(keep_fraction * static_cast<double>(total)));
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const auto order = torch::randperm(total, gen, torch::kLong);
  auto mask = torch::zeros({total}, torch::kFloat64);
  mask.index_fill_(0, order.narrow(0, 0, kept), 1.0);
  return mask.view({h, w});
}

torch::Tensor box_mask(int64_t h, int64_t w, double removed_fraction) {
  TORCH_CHECK(removed_fraction >= 0 && removed_fraction <= 1, "box_mask: fraction in [0, 1]");
  const double side = std::sqrt(removed_fraction);
  const auto bh = static_cast<int64_t>(std::llround(side * static_cast<double>(h)));
  const auto bw = static_cast<int64_t>(std::llround(side * static_cast<double>(w)));
  auto mask = torch::ones({h, w}, torch::kFloat64);
  mask.narrow(0, (h - bh) / 2, bh).narrow(1, (w - bw) / 2, bw).fill_(0.0);
  return mask;
}

}  // namespace wsd
