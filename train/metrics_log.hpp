#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace wsd {

// metrics.jsonl: one JSON object per line, appended and flushed, so a crashed run keeps its curve.
// The file is never opened through a symbolic link (InputError naming it).
class MetricsLog {
 public:
  MetricsLog() = default;
  explicit MetricsLog(const std::string& path);
  void write(const nlohmann::json& record);
  bool enabled() const { return out_ != nullptr; }

 private:
  struct Close {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Close> out_;
};

}  // namespace wsd
