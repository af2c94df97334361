#include "train/metrics_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/util/errors.hpp"

namespace wsd {

MetricsLog::MetricsLog(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ELOOP) {
    throw InputError("cannot open metrics log '" + path + "': it is a symbolic link");
  }
  if (fd < 0) {
    throw std::runtime_error("cannot open metrics log '" + path + "': " + std::strerror(errno));
  }
  out_.reset(::fdopen(fd, "a"));
  if (!out_) {
    ::close(fd);
    throw std::runtime_error("cannot open metrics log '" + path + "': " + std::strerror(errno));
  }
}

void MetricsLog::write(const nlohmann::json& record) {
  if (!enabled()) return;
  const std::string line = record.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), out_.get());
  std::fflush(out_.get());
}

}  // namespace wsd
