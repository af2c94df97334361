#pragma once

#include <c10/util/ArrayRef.h>

#include <cstdint>
#include <sstream>
#include <string>

namespace wsd {

// A tensor shape as error messages print it, e.g. "[4, 1, 32, 32]".
inline std::string shape_text(c10::ArrayRef<int64_t> shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

}  // namespace wsd
