#pragma once

// Canonical text for config values, shared by error messages, key listings and the YAML writer so
// that a value always reads the same wherever it is shown.

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/config/config_enums.hpp"

namespace wsd {

// Shortest text that parses back to exactly `value`, so written configs round-trip bit-exactly
// without printing 0.1 as 0.10000000000000001.
std::string format_value(double value);
std::string format_value(int value);
std::string format_value(long value);
std::string format_value(long long value);
std::string format_value(unsigned long value);
std::string format_value(unsigned long long value);
std::string format_value(bool value);
std::string format_value(const std::string& value);            // Double-quoted, YAML escapes.
std::string format_value(const std::optional<double>& value);  // nullopt prints as `auto`.

template <class E, std::enable_if_t<kIsConfigEnum<E>, int> = 0>
std::string format_value(E value) {
  return std::string(enum_name(value));
}

template <class T>
std::string format_value(const std::vector<T>& values) {
  std::string text = "[";
  bool first = true;
  for (const auto& value : values) {
    if (!first) text += ", ";
    first = false;
    text += format_value(static_cast<T>(value));  // vector<bool> yields a proxy; make it a bool.
  }
  return text + "]";
}

// "white, grf, power_law, mixture": the allowed spellings of an enum, in table order.
template <class E>
std::string enum_choices() {
  std::string text;
  for (const auto& entry : EnumTraits<E>::kValues) {
    if (!text.empty()) text += ", ";
    text += entry.name;
  }
  return text;
}

}  // namespace wsd
