#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace wsd {

// metrics.jsonl: one JSON object per line, appended and flushed, so a crashed run keeps its curve.
class MetricsLog {
 public:
  MetricsLog() = default;
  explicit MetricsLog(const std::string& path);
  void write(const nlohmann::json& record);
  bool enabled() const { return out_.is_open(); }

 private:
  std::ofstream out_;
};

}  // namespace wsd
