#pragma once

// The one list of every forward operator (and boundary/mask/channel variant) with a
// representative configuration and the image shapes it must work on. The operator tests iterate
// over it (adjoint, autograd, transfer function, dtype/device, shapes), so an entry added here
// is tested automatically; every OperatorType must appear at least once.

#include <string>
#include <vector>

#include "core/config/config_types.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

struct OperatorEntry {
  std::string name;  // "gaussian_blur/zero", "idt/absorption", ...
  TaskConfig task;   // builds the operator through make_operator
  // Per-image input shapes [C, H, W] it is tested on: odd, non-square images with 1 and 3
  // channels unless the operator fixes the channel count or needs divisible sizes.
  std::vector<std::vector<int64_t>> shapes;
  // Operators defined by a file: make() writes one for the shape first (operator_fixtures.hpp).
  bool from_file = false;

  LinearOperator make(const std::vector<int64_t>& input_shape) const;
};

const std::vector<OperatorEntry>& operator_registry();

}  // namespace wsd
