#include "core/config/config_codec.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace wsd {
namespace {

// Long block scalars would drown the message; the start is enough to recognise the value.
std::string quote(const std::string& text) {
  constexpr std::size_t kMaxShown = 40;
  if (text.size() <= kMaxShown) return "'" + text + "'";
  return "'" + text.substr(0, kMaxShown) + "...'";
}

[[noreturn]] void fail(const std::string& expected, const YAML::Node& node) {
  throw DecodeError("expected " + expected + ", got " + describe_node(node), node);
}

// Integers are parsed by hand rather than with yaml-cpp's as<int>() because that accepts "2.5"
// for nothing useful and reports failures without the text; std::from_chars is exact and strict.
template <class Int>
Int parse_integer(const YAML::Node& node, const std::string& expected) {
  if (!node.IsScalar()) fail(expected, node);
  std::string text = node.Scalar();
  if (!text.empty() && text.front() == '+') text.erase(0, 1);
  Int value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) fail(expected, node);
  return value;
}

}  // namespace

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

void decode_value(const YAML::Node& node, bool& out) {
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, out)) fail("true or false", node);
}

void decode_value(const YAML::Node& node, int& out) {
  const auto value = parse_integer<std::int64_t>(node, "an integer");
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    fail("a 32-bit integer", node);
  }
  out = static_cast<int>(value);
}

void decode_value(const YAML::Node& node, std::int64_t& out) {
  out = parse_integer<std::int64_t>(node, "an integer");
}

void decode_value(const YAML::Node& node, std::uint64_t& out) {
  // from_chars for unsigned types rejects a leading '-', which is exactly what a seed needs.
  out = parse_integer<std::uint64_t>(node, "a non-negative integer");
}

void decode_value(const YAML::Node& node, double& out) {
  if (!node.IsScalar()) fail("a number", node);
  const std::string& text = node.Scalar();
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) {
    // YAML spells infinities and NaN .inf/.nan, which strtod does not read; call them what they
    // are rather than "not a number".
    std::string lower;
    for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool special = lower.find(".inf") != std::string::npos || lower == ".nan";
    fail(special ? "a finite number" : "a number", node);
  }
  if (!std::isfinite(value)) fail("a finite number", node);
  out = value;
}

void decode_value(const YAML::Node& node, std::string& out) {
  // An empty `key:` means "empty string" here; anything structured is a mistake.
  if (node.IsNull()) {
    out.clear();
    return;
  }
  if (!node.IsScalar()) fail("a string", node);
  out = node.Scalar();
}

void decode_value(const YAML::Node& node, std::optional<double>& out) {
  if (node.IsScalar() && node.Scalar() == "auto") {
    out = std::nullopt;
    return;
  }
  double value = 0.0;
  try {
    decode_value(node, value);
  } catch (const DecodeError&) {
    fail("a number or 'auto'", node);
  }
  out = value;
}

void encode_value(YAML::Emitter& out, const std::string& value) {
  // Always quoted: a plain `name: true` or `name: null` would not read back as that string.
  out << YAML::DoubleQuoted << value;
}

}  // namespace wsd
