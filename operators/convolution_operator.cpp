#include "operators/convolution_operator.hpp"

#include <utility>

#include "operators/fourier_diagonal_operator.hpp"

namespace wsd {

ZeroBoundaryConvolutionImpl::ZeroBoundaryConvolutionImpl(std::string kind,
                                                         const torch::Tensor& kernel,
                                                         std::vector<int64_t> input_shape)
    : kind_(std::move(kind)), shape_(std::move(input_shape)) {
  TORCH_CHECK(kernel.dim() == 2 && kernel.size(0) % 2 == 1 && kernel.size(1) % 2 == 1, kind_,
              ": kernel must be [S, S] with odd sides");
  TORCH_CHECK(shape_.size() == 3, kind_, ": input shape must be [C, H, W]");
  kernel_ = register_buffer(
      "kernel", kernel.to(torch::kFloat64).view({1, 1, kernel.size(0), kernel.size(1)}));
}

torch::Tensor ZeroBoundaryConvolutionImpl::correlate(const torch::Tensor& x,
                                                     const torch::Tensor& weight) const {
  const auto n = x.size(0);
  const auto planes = x.reshape({n * shape_[0], 1, shape_[1], shape_[2]});
  const auto out = torch::conv2d(planes, weight.to(x.scalar_type()), {}, 1,
                                 {weight.size(2) / 2, weight.size(3) / 2});
  return out.view({n, shape_[0], shape_[1], shape_[2]});
}

// conv2d correlates, so convolving with k means correlating with k flipped; the adjoint of
// that (odd kernel, same padding) is the correlation with k itself.
torch::Tensor ZeroBoundaryConvolutionImpl::forward(const torch::Tensor& x) {
  check_shape(x, shape_, "input");
  return correlate(x, kernel_.flip({2, 3}));
}

torch::Tensor ZeroBoundaryConvolutionImpl::adjoint(const torch::Tensor& y) {
  check_shape(y, shape_, "measurement");
  return correlate(y, kernel_);
}

torch::Tensor kernel_transfer_function(const torch::Tensor& kernel, int64_t h, int64_t w) {
  const auto k = kernel.to(torch::kFloat64);
  // Separable phase factors: K = E_y k E_x^T with E[f, d] = exp(-2 pi i f d).
  const auto phases = [](int64_t n, int64_t size) {
    const auto f = fft_frequencies(n);
    const auto d = torch::arange(size, torch::kFloat64) - static_cast<double>(size / 2);
    return torch::polar(torch::ones({n, size}, torch::kFloat64), -2 * M_PI * torch::outer(f, d));
  };
  const auto ey = phases(h, k.size(0));
  const auto ex = phases(w, k.size(1));
  const auto t = ey.matmul(k.to(torch::kComplexDouble)).matmul(ex.transpose(0, 1));
  return hermitian_part(t).view({1, 1, h, w});
}

LinearOperator make_convolution(const std::string& kind, const torch::Tensor& kernel,
                                Boundary boundary, const std::vector<int64_t>& input_shape) {
  if (boundary == Boundary::kCircular) {
    const auto t = kernel_transfer_function(kernel, input_shape[1], input_shape[2]);
    return make_linear_operator<FourierDiagonalOperatorImpl>(kind, t, input_shape);
  }
  return make_linear_operator<ZeroBoundaryConvolutionImpl>(kind, kernel, input_shape);
}

}  // namespace wsd
