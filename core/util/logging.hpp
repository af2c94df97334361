#pragma once

#include <string>

namespace wsd {

struct LogSetup {
  std::string level = "info";  // trace | debug | info | warn | error
  int rank = 0;
  int world_size = 1;
};

// Installs the process-wide logger: one line per event on stderr, prefixed with the rank in
// distributed runs. Throws InputError for an unknown level.
void init_logging(const LogSetup& setup);

// Also writes every event to a file (the run directory's log).
void add_log_file(const std::string& path);

}  // namespace wsd
