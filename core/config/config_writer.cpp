#include "core/config/config_writer.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>
#include <type_traits>

#include "core/config/config_codec.hpp"
#include "core/config/config_error.hpp"
#include "core/config/config_schema.hpp"

namespace wsd {
namespace {

template <class T>
class YamlWriter {
 public:
  YamlWriter(const T& value, YAML::Emitter& out) : value_(value), out_(out) {}

  template <class M, class R = rules::Any>
  void field(std::string_view key, M T::*member, std::string_view doc, const R& = R{}) {
    out_ << YAML::Key << std::string(key) << YAML::Value;
    encode_value(out_, value_.*member);
    out_ << YAML::Comment(std::string(doc));
  }

  template <class S>
  void section(std::string_view key, S T::*member, std::string_view doc) {
    if constexpr (std::is_same_v<T, Config>) {
      // Top-level sections: a blank line and the doc on its own line, for readability.
      if (!first_section_) out_ << YAML::Newline;
      first_section_ = false;
      out_ << YAML::Newline << YAML::Comment(std::string(doc));
      out_ << YAML::Key << std::string(key) << YAML::Value << YAML::BeginMap;
    } else {
      // Nested sections: the doc trails the key, where a comment line would lose its indent.
      out_ << YAML::Key << std::string(key) << YAML::Value << YAML::Comment(std::string(doc))
           << YAML::BeginMap;
    }
    YamlWriter<S> nested(value_.*member, out_);
    Schema<S>::fields(nested);
    out_ << YAML::EndMap;
  }

 private:
  const T& value_;
  YAML::Emitter& out_;
  bool first_section_ = true;
};

}  // namespace

std::string to_yaml(const Config& cfg) {
  YAML::Emitter out;
  out << YAML::Comment("wsdiff configuration, fully resolved (every key, defaults included)");
  out << YAML::BeginMap;
  YamlWriter<Config> writer(cfg, out);
  Schema<Config>::fields(writer);
  out << YAML::EndMap;
  if (!out.good()) throw ConfigError("cannot emit config as YAML: " + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

void write_config(const Config& cfg, const std::string& path) {
  const std::string text = to_yaml(cfg);
  // Write-then-rename so a crash never leaves a truncated config beside a run's checkpoints.
  const std::string temp = path + ".tmp";
  {
    std::ofstream file(temp, std::ios::binary | std::ios::trunc);
    if (!file) {
      throw ConfigError("cannot write config file '" + path + "': " + std::strerror(errno));
    }
    file << text;
    file.flush();
    if (!file) {
      const std::string reason = std::strerror(errno);
      std::remove(temp.c_str());
      throw ConfigError("cannot write config file '" + path + "': " + reason);
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temp.c_str());
    throw ConfigError("cannot write config file '" + path + "': " + reason);
  }
}

}  // namespace wsd
