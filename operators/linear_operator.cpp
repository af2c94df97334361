#include "operators/linear_operator.hpp"

#include <algorithm>

#include "core/util/errors.hpp"
#include "core/util/shape_text.hpp"

namespace wsd {

void LinearOperatorImpl::check_shape(const torch::Tensor& x, const std::vector<int64_t>& shape,
                                     const char* what) const {
  const bool ok = x.dim() == static_cast<int64_t>(shape.size()) + 1 &&
                  std::equal(shape.begin(), shape.end(), x.sizes().begin() + 1);
  if (!ok) {
    throw InputError(kind() + " operator: " + what + " must be [N, " + shape_text(shape).substr(1) +
                     ", got " + shape_text(x.sizes()));
  }
}

}  // namespace wsd
