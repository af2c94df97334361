#pragma once

// Transport-of-intensity ("Laplace imaging") forward model: y = -c lap(phi), which in Fourier
// space is the real, even multiplier
//   T(f) = c 4 pi^2 |f|^2,  f = (fx, fy) = fftfreq / pixel_size  [cycles per unit length],
// with the Laplacian taken in the physical units of pixel_size (micrometres in the configs: f
// is then in cycles/um and c carries um^2 per output unit). The DC component is lost (T(0) = 0)
// and low frequencies are weak, so measurement noise is amplified there on inversion. A
// channel-wise Fourier-diagonal operator.

#include <vector>

#include "operators/linear_operator.hpp"

namespace wsd {

// complex128 [1, 1, H, W].
torch::Tensor laplace_transfer_function(int64_t h, int64_t w, double c, double pixel_size);

LinearOperator make_laplace(double c, double pixel_size, const std::vector<int64_t>& input_shape);

}  // namespace wsd
