#pragma once

#include <stdexcept>

namespace wsd {

// Exit codes of the wsdiff executable.
enum class ExitCode : int { kSuccess = 0, kRuntimeFailure = 1, kUsageError = 2 };

// Bad input found before any work starts (missing file, wrong format, invalid option): the
// executable reports it in one line and exits with kUsageError.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace wsd
