#include "core/config/config_loader.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "core/config/config_codec.hpp"
#include "core/config/config_keys.hpp"
#include "core/config/config_retired.hpp"
#include "core/config/config_schema.hpp"
#include "core/config/config_suggest.hpp"
#include "core/config/config_validation.hpp"

namespace wsd {
namespace {

// Turns YAML positions into message prefixes. Values from a file are reported as "file:line:col"
// (1-based; yaml-cpp counts from 0); values from a --set override have no useful position, so
// every node is reported as the override text itself.
class NodeSource {
 public:
  static NodeSource file(const std::string& name) { return NodeSource(name, true); }
  static NodeSource fixed(const std::string& label) { return NodeSource(label, false); }

  std::string locate(const YAML::Mark& mark) const {
    if (!use_marks_ || mark.is_null()) return name_;
    return name_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }

  // yaml-cpp marks an empty value (`key:`) at the following token, so point at its key instead.
  std::string locate(const YAML::Node& value, const YAML::Mark& key_mark) const {
    if (value.IsNull() || value.Mark().is_null()) return locate(key_mark);
    return locate(value.Mark());
  }

 private:
  NodeSource(std::string name, bool use_marks) : name_(std::move(name)), use_marks_(use_marks) {}

  std::string name_;
  bool use_marks_;
};

struct ParseState {
  const NodeSource& source;
  KeyLocations& locations;
};

// Collects the keys of one struct, for "did you mean" hints.
template <class T>
class KeyNames {
 public:
  template <class M, class R = rules::Any>
  void field(std::string_view key, M T::* /*member*/, std::string_view /*doc*/, const R& = R{}) {
    names.emplace_back(key);
  }
  template <class S>
  void section(std::string_view key, S T::* /*member*/, std::string_view /*doc*/) {
    names.emplace_back(key);
  }
  std::vector<std::string> names;
};

template <class T>
void parse_struct(T& target, const YAML::Node& map, const YAML::Mark& key_mark,
                  const std::string& prefix, const ParseState& state);

// Applies one map entry to the member whose key matches `name`; found() is false for unknown keys.
template <class T>
class Assigner {
 public:
  Assigner(T& target, const std::string& name, const YAML::Node& value, const YAML::Mark& key_mark,
           const std::string& prefix, const ParseState& state)
      : target_(target),
        name_(name),
        value_(value),
        key_mark_(key_mark),
        prefix_(prefix),
        state_(state) {}

  template <class M, class R = rules::Any>
  void field(std::string_view key, M T::*member, std::string_view /*doc*/, const R& = R{}) {
    if (found_ || key != name_) return;
    found_ = true;
    const std::string full = join_key(prefix_, key);
    try {
      decode_value(value_, target_.*member);
    } catch (const DecodeError& error) {
      throw ConfigError(state_.source.locate(error.node(), key_mark_), full + error.subkey(),
                        error.what());
    }
    record(full);
  }

  template <class S>
  void section(std::string_view key, S T::*member, std::string_view /*doc*/) {
    if (found_ || key != name_) return;
    found_ = true;
    parse_struct(target_.*member, value_, key_mark_, join_key(prefix_, key), state_);
  }

  bool found() const { return found_; }

 private:
  void record(const std::string& full) {
    auto& locations = state_.locations;
    // Drop entry positions of a list this value replaces, so they cannot outlive it.
    const std::string entry_prefix = full + "[";
    for (auto it = locations.lower_bound(entry_prefix);
         it != locations.end() && it->first.compare(0, entry_prefix.size(), entry_prefix) == 0;) {
      it = locations.erase(it);
    }
    locations[full] = state_.source.locate(value_, key_mark_);
    if (value_.IsSequence()) {
      for (std::size_t i = 0; i < value_.size(); ++i) {
        locations[entry_prefix + std::to_string(i) + "]"] =
            state_.source.locate(value_[i], key_mark_);
      }
    }
  }

  T& target_;
  const std::string& name_;
  const YAML::Node& value_;
  const YAML::Mark& key_mark_;
  const std::string& prefix_;
  const ParseState& state_;
  bool found_ = false;
};

// "unknown key 'train.lrr' (did you mean 'train.lr'?)". A close spelling in the same struct wins;
// otherwise a key of that exact name elsewhere catches values put in the wrong section.
template <class T>
std::string unknown_key_message(const std::string& name, const std::string& prefix) {
  KeyNames<T> siblings;
  Schema<T>::fields(siblings);
  std::optional<std::string> hint;
  if (const auto close = closest_match(name, siblings.names)) {
    hint = join_key(prefix, *close);
  } else {
    for (const auto& info : list_config_keys()) {
      const auto dot = info.key.rfind('.');
      if (info.key.compare(dot + 1, std::string::npos, name) == 0) {
        hint = info.key;
        break;
      }
    }
  }
  std::string message = "unknown key '" + join_key(prefix, name) + "'";
  if (hint) message += " (did you mean '" + *hint + "'?)";
  return message;
}

template <class T>
void parse_struct(T& target, const YAML::Node& map, const YAML::Mark& key_mark,
                  const std::string& prefix, const ParseState& state) {
  if (map.IsNull()) return;  // `train:` with every key commented out keeps the defaults.
  const std::string where = state.source.locate(map, key_mark);
  if (!map.IsMap()) {
    if (prefix.empty()) {
      KeyNames<T> sections;
      Schema<T>::fields(sections);
      std::string list;
      for (const auto& name : sections.names) list += (list.empty() ? "" : ", ") + name;
      throw ConfigError(
          where, "",
          "the top level must be a map of sections (" + list + "), got " + describe_node(map));
    }
    throw ConfigError(where, prefix, "expected a map of keys, got " + describe_node(map));
  }
  if (!prefix.empty()) state.locations[prefix] = where;

  std::map<std::string, YAML::Mark> seen;
  for (const auto& entry : map) {
    const YAML::Node& key_node = entry.first;
    const YAML::Node& value = entry.second;
    if (!key_node.IsScalar()) {
      throw ConfigError(state.source.locate(key_node, key_mark), prefix,
                        "expected a key name, got " + describe_node(key_node));
    }
    const std::string& name = key_node.Scalar();
    const YAML::Mark mark = key_node.Mark();
    // yaml-cpp silently keeps both copies of a repeated key; the second would win unnoticed.
    if (const auto first = seen.find(name); first != seen.end()) {
      throw ConfigError(state.source.locate(mark), "",
                        "duplicate key '" + join_key(prefix, name) + "' (first given at " +
                            state.source.locate(first->second) + ")");
    }
    seen.emplace(name, mark);

    Assigner<T> assigner(target, name, value, mark, prefix, state);
    Schema<T>::fields(assigner);
    if (!assigner.found() &&
        !accept_retired_key(join_key(prefix, name), value, state.source.locate(mark))) {
      throw ConfigError(state.source.locate(mark), "", unknown_key_message<T>(name, prefix));
    }
  }
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  const auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

// Nests the value under its key path ({task: {noise: {family: grf}}}) so an override goes through
// exactly the same parsing, unknown-key and type checks as a file.
YAML::Node nest(const std::vector<std::string>& path, std::size_t depth, const YAML::Node& value) {
  if (depth == path.size()) return value;
  YAML::Node map(YAML::NodeType::Map);
  map[path[depth]] = nest(path, depth + 1, value);
  return map;
}

void apply_override(Config& cfg, const std::string& text, KeyLocations& locations) {
  const std::string label = "--set " + text;
  const auto equals = text.find('=');
  if (equals == std::string::npos) {
    throw ConfigError(label, "", "expected section.key=value (no '=' found)");
  }
  const std::string key = trim(std::string_view(text).substr(0, equals));
  std::vector<std::string> path;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    path.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& part : path) {
    if (part.empty()) {
      throw ConfigError(label, "", "expected section.key=value, got an empty key component");
    }
  }
  if (path.size() < 2) {
    throw ConfigError(label, "", "expected section.key=value, got '" + key + "' without a section");
  }

  YAML::Node value;
  try {
    value = YAML::Load(text.substr(equals + 1));
  } catch (const YAML::Exception& error) {
    throw ConfigError(label, key, "invalid YAML value: " + error.msg);
  }
  const NodeSource source = NodeSource::fixed(label);
  const YAML::Node root = nest(path, 0, value);
  parse_struct(cfg, root, root.Mark(), "", ParseState{source, locations});
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError("cannot read config file '" + path + "': is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError("cannot read config file '" + path + "': " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw ConfigError("cannot read config file '" + path + "': " + std::strerror(errno));
  }
  return text.str();
}

}  // namespace

Config default_config() { return Config{}; }

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  if (path.empty()) return parse_config("", "<defaults>", overrides);
  return parse_config(read_file(path), path, overrides);
}

Config layer_config(Config stored, const std::string& stored_name, const std::string& config_path,
                    const std::vector<std::string>& overrides) {
  KeyLocations locations;
  for (const auto& text : overrides) apply_override(stored, text, locations);
  validate_config(stored, locations, stored_name);
  if (!config_path.empty()) stored.sampler = load_config(config_path, overrides).sampler;
  return stored;
}

Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides) {
  const NodeSource source = NodeSource::file(source_name);
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(yaml_text);
  } catch (const YAML::Exception& error) {
    throw ConfigError(source.locate(error.mark), "", "invalid YAML: " + error.msg);
  }
  if (documents.size() > 1) {
    throw ConfigError(source.locate(documents[1].Mark()), "",
                      "expected a single YAML document, found " + std::to_string(documents.size()));
  }

  Config cfg;
  KeyLocations locations;
  if (!documents.empty()) {
    parse_struct(cfg, documents.front(), documents.front().Mark(), "",
                 ParseState{source, locations});
  }
  for (const auto& text : overrides) apply_override(cfg, text, locations);
  validate_config(cfg, locations, source_name);
  return cfg;
}

}  // namespace wsd
