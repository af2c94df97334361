#include "core/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "core/io/h5_file.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

void sync_folder(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// The temporary's descriptor and name, opened for writing, never through a symlink planted
// where it is created.
int open_temporary(const std::string& path, TemporaryName naming, std::string& tmp) {
  if (naming == TemporaryName::kProcessId) {
    tmp = path + ".tmp-" + std::to_string(::getpid());
    return ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  }
  std::vector<char> name(path.begin(), path.end());
  for (const char c : std::string(".tmp-XXXXXX")) name.push_back(c);
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  tmp = name.data();
  // mkostemp creates 0600; an output is as readable as any file the user writes.
  if (fd >= 0) {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd, 0666 & ~mask);
  }
  return fd;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes,
                           const std::string& what, TemporaryName naming) {
  const fs::path target(path);
  std::string tmp;
  const auto fail = [&](const std::string& step, int error) {
    if (!tmp.empty()) std::remove(tmp.c_str());
    throw std::runtime_error("cannot write " + what + " '" + path + "': " + step + ": " +
                             std::strerror(error) + " (the previous file there is intact)");
  };
  const int fd = open_temporary(path, naming, tmp);
  if (fd < 0) {
    const int error = errno;
    const std::string name = tmp;
    tmp.clear();  // not ours to remove
    fail("cannot create " + name, error);
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : ENOSPC;
      ::close(fd);
      fail("write failed after " + std::to_string(done) + " of " + std::to_string(bytes.size()) +
               " bytes",
           error);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    fail("fsync failed", error);
  }
  if (::close(fd) != 0) fail("close failed", errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot move it into place", errno);
  sync_folder(target.has_parent_path() ? target.parent_path().string() : ".");
}

void write_h5_atomically(const std::string& path, const std::function<void(h5::File&)>& fill) {
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  std::vector<uint8_t> bytes;
  {
    h5::File file = h5::File::create_in_memory(path);
    fill(file);
    bytes = file.image();
  }
  write_file_atomically(path, bytes, "output");
}

}  // namespace wsd
