#include "core/config/config_validation.hpp"

#include <initializer_list>
#include <string_view>
#include <vector>

#include "core/config/config_error.hpp"
#include "core/config/config_schema.hpp"

namespace wsd {
namespace {

class Reporter {
 public:
  Reporter(const KeyLocations& locations, const std::string& fallback)
      : locations_(locations), fallback_(fallback) {}

  // Reports `key: message` at the first of `candidates` that has a recorded position.
  [[noreturn]] void fail(const std::vector<std::string>& candidates, const std::string& key,
                         const std::string& message) const {
    for (const auto& candidate : candidates) {
      if (const auto it = locations_.find(candidate); it != locations_.end()) {
        throw ConfigError(it->second, key, message);
      }
    }
    throw ConfigError(fallback_, key, message);
  }

 private:
  const KeyLocations& locations_;
  const std::string& fallback_;
};

class StructCheck : public rules::CrossCheck {
 public:
  StructCheck(const std::string& prefix, const Reporter& reporter)
      : prefix_(prefix), reporter_(reporter) {}

  std::string key(std::string_view relative) const override { return join_key(prefix_, relative); }

  [[noreturn]] void fail(std::initializer_list<std::string_view> keys,
                         const std::string& message) const override {
    std::vector<std::string> full;
    for (const auto relative : keys) full.push_back(key(relative));
    reporter_.fail(full, full.front(), message);
  }

 private:
  const std::string& prefix_;
  const Reporter& reporter_;
};

template <class T>
void validate_struct(const T& value, const std::string& prefix, const Reporter& reporter);

template <class T>
class Validator {
 public:
  Validator(const T& value, const std::string& prefix, const Reporter& reporter)
      : value_(value), prefix_(prefix), reporter_(reporter) {}

  template <class M, class R = rules::Any>
  void field(std::string_view key, M T::*member, std::string_view /*doc*/, const R& rule = R{}) {
    if (auto failure = rule(value_.*member)) {
      const std::string full = join_key(prefix_, key);
      const std::string culprit = full + failure->subkey;
      reporter_.fail({culprit, full}, culprit, failure->message);
    }
  }

  template <class S>
  void section(std::string_view key, S T::*member, std::string_view /*doc*/) {
    validate_struct(value_.*member, join_key(prefix_, key), reporter_);
  }

 private:
  const T& value_;
  const std::string& prefix_;
  const Reporter& reporter_;
};

template <class T>
void validate_struct(const T& value, const std::string& prefix, const Reporter& reporter) {
  Validator<T> validator(value, prefix, reporter);
  Schema<T>::fields(validator);
  // Cross-field rules run after the fields so they may assume each field is valid on its own.
  Schema<T>::check(value, StructCheck(prefix, reporter));
}

}  // namespace

void validate_config(const Config& cfg) { validate_config(cfg, {}, ""); }

void validate_config(const Config& cfg, const KeyLocations& locations,
                     const std::string& fallback_location) {
  validate_struct(cfg, "", Reporter(locations, fallback_location));
}

namespace {

template <class Section>
void validate_section_built_in_code(const Section& section, const std::string& prefix) {
  const KeyLocations none;
  const std::string no_location;
  validate_struct(section, prefix, Reporter(none, no_location));
}

}  // namespace

void validate_task_section(const TaskConfig& task, const std::string& prefix) {
  validate_section_built_in_code(task, prefix);
}

void validate_noise_section(const NoiseConfig& noise, const std::string& prefix) {
  validate_section_built_in_code(noise, prefix);
}

}  // namespace wsd
