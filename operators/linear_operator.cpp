#include "operators/linear_operator.hpp"

#include <sstream>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

std::string shape_string(c10::IntArrayRef shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

}  // namespace

void LinearOperatorImpl::check_shape(const torch::Tensor& x, const std::vector<int64_t>& shape,
                                     const char* what) const {
  const bool ok = x.dim() == static_cast<int64_t>(shape.size()) + 1 &&
                  std::equal(shape.begin(), shape.end(), x.sizes().begin() + 1);
  if (!ok) {
    throw InputError(kind() + " operator: " + what + " must be [N, " +
                     shape_string(shape).substr(1) + ", got " + shape_string(x.sizes()));
  }
}

}  // namespace wsd
