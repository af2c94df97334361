#pragma once

#include <map>
#include <string>

#include "core/config/config_types.hpp"

namespace wsd {

// Where the value of each dotted key ("model.ch_mults", "model.ch_mults[1]") was last set:
// "file:line:col" or "--set key=value". Lets range and cross-field errors, which are checked only
// after every override has been applied, still point at the text that caused them.
using KeyLocations = std::map<std::string, std::string>;

// Throws ConfigError for the first value that breaks a schema rule or cross-field check. Use it
// after changing a Config in code; load_config/parse_config already validate.
void validate_config(const Config& cfg);

// As above; errors are reported at locations[key], or at `fallback_location` for keys that were
// never set explicitly (defaults).
void validate_config(const Config& cfg, const KeyLocations& locations,
                     const std::string& fallback_location);

// The same rules for one task section built in code (an operator made from it, say), its keys
// reported under `prefix`.
void validate_task_section(const TaskConfig& task, const std::string& prefix = "task");
void validate_noise_section(const NoiseConfig& noise, const std::string& prefix = "noise");

}  // namespace wsd
