#include "operators/downsample.hpp"

#include <utility>

namespace wsd {

DownsampleOperatorImpl::DownsampleOperatorImpl(int64_t factor, std::vector<int64_t> input_shape)
    : factor_(factor), input_shape_(std::move(input_shape)) {
  TORCH_CHECK(input_shape_.size() == 3 && factor_ >= 1 && input_shape_[1] % factor_ == 0 &&
                  input_shape_[2] % factor_ == 0,
              "downsample: factor ", factor_, " must divide the image size");
  output_shape_ = {input_shape_[0], input_shape_[1] / factor_, input_shape_[2] / factor_};
}

torch::Tensor DownsampleOperatorImpl::forward(const torch::Tensor& x) {
  check_shape(x, input_shape_, "input");
  const auto& o = output_shape_;
  return x.reshape({x.size(0), o[0], o[1], factor_, o[2], factor_}).mean({3, 5});
}

torch::Tensor DownsampleOperatorImpl::adjoint(const torch::Tensor& y) {
  check_shape(y, output_shape_, "measurement");
  const auto& o = output_shape_;
  const auto n = y.size(0);
  const auto spread =
      (y / static_cast<double>(factor_ * factor_)).view({n, o[0], o[1], 1, o[2], 1});
  return spread.expand({n, o[0], o[1], factor_, o[2], factor_})
      .reshape({n, o[0], o[1] * factor_, o[2] * factor_});
}

}  // namespace wsd
