#include "train/run_directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/util/errors.hpp"

namespace wsd {

RunDirectoryLock::RunDirectoryLock(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const std::string path = (dir / ".lock").string();
  // Never through a symbolic link: the lock file is truncated, and a planted link would point
  // that at a file elsewhere.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw InputError(
        "cannot open the run directory lock '" + path +
        "': " + (errno == ELOOP ? std::string("it is a symbolic link") : std::strerror(errno)));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {0};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "unknown";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    throw InputError("run directory '" + dir.string() +
                     "' is in use by another training run (pid " + pid +
                     "); wait for it to finish or choose another --out");
  }
  const std::string mine = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(fd_, mine.data(), mine.size(), 0);
  }
}

RunDirectoryLock::~RunDirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace wsd
