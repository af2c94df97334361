#include "core/config/config_json.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/config/config_schema.hpp"

namespace wsd {
namespace {

using nlohmann::ordered_json;

template <class T>
ordered_json json_value(const T& value) {
  if constexpr (kIsConfigEnum<T>) {
    return std::string(enum_name(value));
  } else {
    return value;
  }
}

// `auto` (nullopt) as the string the YAML writer uses for it.
ordered_json json_value(const std::optional<double>& value) {
  return value ? ordered_json(*value) : ordered_json("auto");
}

template <class T>
ordered_json json_value(const std::vector<T>& values) {
  ordered_json list = ordered_json::array();
  for (const auto& value : values) list.push_back(json_value(static_cast<T>(value)));
  return list;
}

template <class T>
class JsonWriter {
 public:
  JsonWriter(const T& value, ordered_json& out) : value_(value), out_(out) {}

  template <class M, class R = rules::Any>
  void field(std::string_view key, M T::*member, std::string_view /*doc*/, const R& = R{}) {
    out_[std::string(key)] = json_value(value_.*member);
  }

  template <class S>
  void section(std::string_view key, S T::*member, std::string_view /*doc*/) {
    ordered_json nested = ordered_json::object();
    JsonWriter<S> writer(value_.*member, nested);
    Schema<S>::fields(writer);
    out_[std::string(key)] = std::move(nested);
  }

 private:
  const T& value_;
  ordered_json& out_;
};

template <class T>
ordered_json section_json(const T& section) {
  ordered_json out = ordered_json::object();
  JsonWriter<T> writer(section, out);
  Schema<T>::fields(writer);
  return out;
}

}  // namespace

ordered_json to_json(const NoiseConfig& section) { return section_json(section); }
ordered_json to_json(const ModelConfig& section) { return section_json(section); }
ordered_json to_json(const SamplerConfig& section) { return section_json(section); }
ordered_json to_json(const TaskConfig& section) { return section_json(section); }

}  // namespace wsd
