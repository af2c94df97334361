#pragma once

#include <string>
#include <vector>

#include "core/config/config_error.hpp"
#include "core/config/config_types.hpp"

namespace wsd {

// The built-in configuration: a small Fashion-MNIST WS-diffusion run. Always valid.
Config default_config();

// Reads `path` (or starts from defaults when `path` is empty), applies `overrides` in order, then
// validates the result. Each override is "section.key=value" (nested: "task.noise.family=grf");
// the value is read as YAML, so "model.ch_mults=[1,2]" sets a list. Throws ConfigError.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// As load_config, from YAML text; `source_name` labels positions in error messages.
Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides = {});

// The config of a command that starts from a stored config (a checkpoint's, a measurement
// file's), typed all the way: `overrides` edit `stored` and, when `config_path` is set, that
// file's sampler section (read with the same overrides) replaces the stored one. `stored_name`
// labels errors in values the overrides did not set. Validated like load_config's result.
Config layer_config(Config stored, const std::string& stored_name, const std::string& config_path,
                    const std::vector<std::string>& overrides);

}  // namespace wsd
