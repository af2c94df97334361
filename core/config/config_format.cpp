#include "core/config/config_format.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace wsd {

std::string format_value(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  char buffer[32];
  // Whole numbers print as integers: "20", not the shorter but cryptic "2e+01".
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    std::snprintf(buffer, sizeof(buffer), "%.0f", value);
    return buffer;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

std::string format_value(int value) { return std::to_string(value); }
std::string format_value(long value) { return std::to_string(value); }
std::string format_value(long long value) { return std::to_string(value); }
std::string format_value(unsigned long value) { return std::to_string(value); }
std::string format_value(unsigned long long value) { return std::to_string(value); }
std::string format_value(bool value) { return value ? "true" : "false"; }

std::string format_value(const std::string& value) {
  std::string text = "\"";
  for (char c : value) {
    switch (c) {
      case '"':
        text += "\\\"";
        break;
      case '\\':
        text += "\\\\";
        break;
      case '\n':
        text += "\\n";
        break;
      case '\t':
        text += "\\t";
        break;
      default:
        text += c;
    }
  }
  return text + "\"";
}

std::string format_value(const std::optional<double>& value) {
  return value ? format_value(*value) : "auto";
}

}  // namespace wsd
