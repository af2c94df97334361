#pragma once

// Channel-wise convolution y = k * x with a small odd kernel k [S, S] (centred, see
// blur_kernels.hpp): y[n] = sum_m k[m] x[n - m]. Two boundary models:
// - circular: periodic images; a Fourier-diagonal operator whose transfer function is the DFT
//   of the kernel on the image grid, K(f) = sum_m k[m] exp(-2 pi i f.m) (kernels larger than
//   the image wrap around), and nothing else;
// - zero: the image is zero outside its support ("same"-size linear convolution, the boundary
//   model of the reference implementation's lens blur). Not Fourier-diagonal; the adjoint is
//   the correlation with k under the same zero padding (the transposed convolution).

#include <string>
#include <vector>

#include "core/config/config_enums.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

class ZeroBoundaryConvolutionImpl : public LinearOperatorImpl {
 public:
  ZeroBoundaryConvolutionImpl(std::string kind, const torch::Tensor& kernel,
                              std::vector<int64_t> input_shape);

  std::string kind() const override { return kind_; }
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::Tensor adjoint(const torch::Tensor& y) override;
  std::vector<int64_t> input_shape() const override { return shape_; }
  std::vector<int64_t> output_shape() const override { return shape_; }

 private:
  torch::Tensor correlate(const torch::Tensor& x, const torch::Tensor& weight) const;

  std::string kind_;
  std::vector<int64_t> shape_;
  torch::Tensor kernel_;  // [1, 1, S, S], float64 as built
};
TORCH_MODULE(ZeroBoundaryConvolution);

// K(f) of a centred kernel on the H x W fft2 grid: complex128 [1, 1, H, W], Hermitian.
torch::Tensor kernel_transfer_function(const torch::Tensor& kernel, int64_t h, int64_t w);

// The convolution operator with the given boundary model, named `kind`.
LinearOperator make_convolution(const std::string& kind, const torch::Tensor& kernel,
                                Boundary boundary, const std::vector<int64_t>& input_shape);

}  // namespace wsd
