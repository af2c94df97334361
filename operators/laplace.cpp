#include "operators/laplace.hpp"

#include "operators/fourier_diagonal_operator.hpp"

namespace wsd {

torch::Tensor laplace_transfer_function(int64_t h, int64_t w, double c, double pixel_size) {
  const auto fy = fft_frequencies(h, pixel_size).view({h, 1});
  const auto fx = fft_frequencies(w, pixel_size).view({1, w});
  const auto t = c * 4 * M_PI * M_PI * (fy.square() + fx.square());
  return t.to(torch::kComplexDouble).view({1, 1, h, w});
}

LinearOperator make_laplace(double c, double pixel_size, const std::vector<int64_t>& input_shape) {
  const auto t = laplace_transfer_function(input_shape[1], input_shape[2], c, pixel_size);
  MeasurementTraits traits;
  traits.is_image = false;
  return make_linear_operator<FourierDiagonalOperatorImpl>("laplace", t, input_shape, traits);
}

}  // namespace wsd
