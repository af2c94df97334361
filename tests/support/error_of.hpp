#pragma once

// The message of the error a call throws, for tests that check what a user is told.

#include <string>

#include "core/util/errors.hpp"

namespace wsd::test {

// what() of the `Error` thrown by `f`, or a marker no expected message contains.
template <class Error = InputError, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error thrown>";
}

}  // namespace wsd::test
