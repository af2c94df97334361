#include "core/util/logging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

std::string pattern_for(const LogSetup& setup) {
  const std::string rank = setup.world_size > 1 ? "[rank " + std::to_string(setup.rank) + "/" +
                                                      std::to_string(setup.world_size) + "] "
                                                : "";
  return "[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] " + rank + "%v";
}

LogSetup& current_setup() {
  static LogSetup setup;
  return setup;
}

}  // namespace

void init_logging(const LogSetup& setup) {
  const auto level = spdlog::level::from_str(setup.level);
  if (level == spdlog::level::off && setup.level != "off") {
    throw InputError("--log-level: unknown level '" + setup.level +
                     "' (expected trace, debug, info, warn, error or off)");
  }
  auto logger = std::make_shared<spdlog::logger>(
      "wsdiff", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_level(level);
  logger->set_pattern(pattern_for(setup));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  current_setup() = setup;
}

void add_log_file(const std::string& path) {
  // The file is created (or found) without following a symbolic link, so that a link planted
  // under the log's name cannot make the run append to a file elsewhere.
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw InputError(
        "cannot open the log file '" + path +
        "': " + (errno == ELOOP ? std::string("it is a symbolic link") : std::strerror(errno)));
  }
  ::close(fd);
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
  sink->set_pattern(pattern_for(current_setup()));
  // Without colour codes the file stays greppable.
  auto logger = spdlog::default_logger();
  logger->sinks().push_back(sink);
  logger->flush_on(spdlog::level::info);
}

}  // namespace wsd
