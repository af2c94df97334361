#pragma once

// Conversion between YAML nodes and typed config values. decode_value() checks only the shape and
// type of a value (ranges are the schema rules' job, applied after all overrides); encode_value()
// writes the canonical form that decode_value() reads back to an equal value.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "core/config/config_enums.hpp"
#include "core/config/config_format.hpp"
#include "core/config/config_suggest.hpp"

namespace wsd {

// A value of the wrong type. Carries the offending node so the caller can report its position,
// and a subkey ("[2]") when the culprit is a list entry.
class DecodeError : public std::runtime_error {
 public:
  DecodeError(const std::string& message, YAML::Node node, std::string subkey = "")
      : std::runtime_error(message), node_(std::move(node)), subkey_(std::move(subkey)) {}
  const YAML::Node& node() const { return node_; }
  const std::string& subkey() const { return subkey_; }

 private:
  YAML::Node node_;
  std::string subkey_;
};

// How a node reads in a message: "'fast'", "a list", "a map" or "nothing".
std::string describe_node(const YAML::Node& node);

void decode_value(const YAML::Node& node, bool& out);
void decode_value(const YAML::Node& node, int& out);
void decode_value(const YAML::Node& node, std::int64_t& out);
void decode_value(const YAML::Node& node, std::uint64_t& out);
void decode_value(const YAML::Node& node, double& out);
void decode_value(const YAML::Node& node, std::string& out);
void decode_value(const YAML::Node& node, std::optional<double>& out);  // A number or `auto`.

template <class E, std::enable_if_t<kIsConfigEnum<E>, int> = 0>
void decode_value(const YAML::Node& node, E& out) {
  const std::string expected = "expected one of [" + enum_choices<E>() + "]";
  if (!node.IsScalar()) throw DecodeError(expected + ", got " + describe_node(node), node);
  if (const auto value = parse_enum<E>(node.Scalar())) {
    out = *value;
    return;
  }
  std::vector<std::string> names;
  for (const auto& entry : EnumTraits<E>::kValues) names.emplace_back(entry.name);
  std::string message = expected + ", got " + describe_node(node);
  if (const auto hint = closest_match(node.Scalar(), names)) {
    message += " (did you mean '" + *hint + "'?)";
  }
  throw DecodeError(message, node);
}

template <class T>
void decode_value(const YAML::Node& node, std::vector<T>& out) {
  if (!node.IsSequence()) throw DecodeError("expected a list, got " + describe_node(node), node);
  std::vector<T> values;
  values.reserve(node.size());
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node element = node[i];
    T value{};
    try {
      decode_value(element, value);
    } catch (const DecodeError& error) {
      throw DecodeError(error.what(), error.node(), "[" + std::to_string(i) + "]" + error.subkey());
    }
    values.push_back(value);
  }
  out = std::move(values);  // Assign only once every entry parsed: no half-updated lists.
}

template <class T>
void encode_value(YAML::Emitter& out, const T& value) {
  // Numbers, bools, enums and `auto` are plain scalars whose canonical text decode_value() accepts.
  out << format_value(value);
}
void encode_value(YAML::Emitter& out, const std::string& value);

template <class T>
void encode_value(YAML::Emitter& out, const std::vector<T>& values) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const auto& value : values) encode_value(out, static_cast<T>(value));
  out << YAML::EndSeq;
}

// Human-readable type for key listings ("integer", "list of number", "one of [a, b]").
template <class T>
struct TypeName {
  static std::string get() {
    if constexpr (std::is_same_v<T, bool>) {
      return "bool";
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
      return "unsigned integer";
    } else if constexpr (std::is_integral_v<T>) {
      return "integer";
    } else if constexpr (std::is_floating_point_v<T>) {
      return "number";
    } else if constexpr (std::is_same_v<T, std::string>) {
      return "string";
    } else if constexpr (std::is_same_v<T, std::optional<double>>) {
      return "number or auto";
    } else {
      static_assert(kIsConfigEnum<T>, "no TypeName for this config member type");
      return "one of [" + enum_choices<T>() + "]";
    }
  }
};
template <class T>
struct TypeName<std::vector<T>> {
  static std::string get() { return "list of " + TypeName<T>::get(); }
};

}  // namespace wsd
