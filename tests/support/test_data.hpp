#pragma once

#include <wsd_source_dir.hpp>

#include <string>

namespace wsd::test {

// Files under tests/data, found through the source tree the build was configured from.
inline std::string test_data(const std::string& name) {
  return std::string(WSD_SOURCE_DIR) + "/tests/data/" + name;
}

// The authors' network with fixed weights, inputs and outputs (see tests/data/README.md).
inline std::string reference_fixture() { return test_data("ddpm_unet_reference.h5"); }

// Reference data computed outside this project (tests/fixtures/, each with the script that made
// it under scripts/fixtures/).
inline std::string fixture(const std::string& name) {
  return std::string(WSD_SOURCE_DIR) + "/tests/fixtures/" + name;
}

}  // namespace wsd::test
