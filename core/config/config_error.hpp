#pragma once

#include <stdexcept>
#include <string>

namespace wsd {

// Every problem with a configuration (unreadable file, YAML syntax, unknown key, bad value, bad
// --set) surfaces as a ConfigError whose what() is a single line of the form
//   "<location>: <dotted.key>: <detail>"
// where location is "file:line:col", a file name, or "--set key=value", and either of the first
// two parts may be absent. Keeping it on one line lets the CLI print it verbatim and lets tests
// and scripts grep for it.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& detail);
  ConfigError(const std::string& location, const std::string& key, const std::string& detail);

  const std::string& location() const noexcept { return location_; }
  const std::string& key() const noexcept { return key_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string location_;
  std::string key_;
  std::string detail_;
};

}  // namespace wsd
