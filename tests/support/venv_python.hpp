#pragma once

// The project venv's Python (scripts/common.sh installs it with torch): tests make real
// torch.save and safetensors files with it rather than byte strings of their own.
#include <wsd_source_dir.hpp>

#include <filesystem>
#include <string>

#include "tests/support/process.hpp"

namespace wsd::test {

inline std::string venv_python() { return std::string(WSD_SOURCE_DIR) + "/.venv/bin/python"; }

inline ProcessResult run_venv_python(const std::string& code) {
  ProcessSpec spec;
  spec.argv = {venv_python(), "-c", code};
  return run_process(spec);
}

// Python that writes `pth`, a torch.save file holding a state dict beside an object whose
// unpickling would create `marker`: what a reader that runs pickled code gives itself away by.
inline std::string crafted_pickle_code(const std::filesystem::path& pth,
                                       const std::filesystem::path& marker) {
  return "import torch\n"
         "class Payload:\n"
         "    def __reduce__(self):\n"
         "        return (open, ('''" +
         marker.string() +
         "''', 'w'))\n"
         "torch.save({'model_state_dict': {'w': torch.zeros(2)}, 'extra': Payload()}, '''" +
         pth.string() + "''')\n";
}

}  // namespace wsd::test
