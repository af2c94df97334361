#pragma once

// One training run per run directory: an exclusive advisory lock (flock) on `<dir>/.lock`, held
// for the lifetime of the object and released by the kernel however the process ends, so a
// crashed run never leaves a stale lock. A second run into the same --out fails at once instead
// of interleaving its metrics and checkpoints with the first's.

#include <filesystem>

namespace wsd {

class RunDirectoryLock {
 public:
  // Throws InputError naming the directory and the holder's pid when another process holds it.
  explicit RunDirectoryLock(const std::filesystem::path& dir);
  ~RunDirectoryLock();
  RunDirectoryLock(const RunDirectoryLock&) = delete;
  RunDirectoryLock& operator=(const RunDirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace wsd
