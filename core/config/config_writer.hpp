#pragma once

#include <string>

#include "core/config/config_types.hpp"

namespace wsd {

// The fully resolved configuration as commented YAML: every key of every section, so a run
// directory records exactly what ran even if defaults change later. parse_config(to_yaml(c))
// compares equal to c.
std::string to_yaml(const Config& cfg);

// Writes to_yaml(cfg) to `path`. Throws ConfigError when the file cannot be written.
void write_config(const Config& cfg, const std::string& path);

}  // namespace wsd
