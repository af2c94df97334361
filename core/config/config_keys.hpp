#pragma once

#include <string>
#include <vector>

namespace wsd {

// One settable key, as shown by `wsdiff config keys` and used for "did you mean" hints.
struct ConfigKeyInfo {
  std::string key;            // Full dotted key, e.g. "task.noise.family".
  std::string type;           // "integer", "number", "one of [vp, cosine]", ...
  std::string default_value;  // In the same text form the YAML writer uses.
  std::string constraint;     // E.g. "> 0" or "[0, 1)"; empty when the type says everything.
  std::string doc;
};

// Every leaf key of Config in schema order, with the defaults of default_config().
std::vector<ConfigKeyInfo> list_config_keys();

}  // namespace wsd
