#pragma once

namespace wsd {

// Project version, from the CMake project() call.
inline constexpr const char* kVersion = WSD_VERSION;

}  // namespace wsd
