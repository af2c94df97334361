#pragma once

// Keys of earlier wsdiff versions that no longer exist. A config, a file or one embedded in a
// checkpoint or measurement file an earlier version wrote, may still carry one. With the value
// that meant "not set" it is dropped: the config means the same without it. Any other value is
// an error naming what replaced the key, so a config never silently changes meaning.

#include <yaml-cpp/yaml.h>

#include <string>

namespace wsd {

// True when `key` (dotted) is retired and `value` its "not set" value; throws ConfigError at
// `where` when it is retired and set; false for a key no version knew.
bool accept_retired_key(const std::string& key, const YAML::Node& value, const std::string& where);

}  // namespace wsd
