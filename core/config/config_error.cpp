#include "core/config/config_error.hpp"

namespace wsd {
namespace {

// Values quoted into messages may contain newlines (block scalars, odd file names); escaping them
// keeps the one-line promise of ConfigError.
std::string one_line(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

std::string compose(const std::string& location, const std::string& key,
                    const std::string& detail) {
  std::string message;
  if (!location.empty()) message += location + ": ";
  if (!key.empty()) message += key + ": ";
  message += detail;
  return one_line(message);
}

}  // namespace

ConfigError::ConfigError(const std::string& detail) : ConfigError("", "", detail) {}

ConfigError::ConfigError(const std::string& location, const std::string& key,
                         const std::string& detail)
    : std::runtime_error(compose(location, key, detail)),
      location_(location),
      key_(key),
      detail_(detail) {}

}  // namespace wsd
