#pragma once

// Files written whole or not at all: the bytes go to a temporary beside the target, which is
// synced and renamed into place (then the folder is synced). A crash, a kill or a full disk at
// any point leaves the previous file intact and no temporary; two writers to one path each
// rename a complete file, so the result is one of them, never a mix.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace wsd {

namespace h5 {
class File;
}

enum class TemporaryName {
  kProcessId,  // <path>.tmp-<pid>: what remove_stale_temporaries recognises (checkpoints)
  kUnique,     // <path>.tmp-XXXXXX, created exclusively with an unpredictable name (outputs)
};

// Writes `bytes` to `path`. `what` names the file in errors ("checkpoint", "output"); a failure
// throws std::runtime_error saying the previous file is intact.
void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes,
                           const std::string& what, TemporaryName naming = TemporaryName::kUnique);

// An HDF5 output assembled in memory by `fill` and written with write_file_atomically; the
// parent folder is created when missing.
void write_h5_atomically(const std::string& path, const std::function<void(h5::File&)>& fill);

}  // namespace wsd
