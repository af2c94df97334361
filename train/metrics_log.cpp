#include "train/metrics_log.hpp"

#include <stdexcept>

namespace wsd {

MetricsLog::MetricsLog(const std::string& path) : out_(path, std::ios::app) {
  if (!out_) throw std::runtime_error("cannot open metrics log '" + path + "'");
}

void MetricsLog::write(const nlohmann::json& record) {
  if (!enabled()) return;
  out_ << record.dump() << '\n';
  out_.flush();
}

}  // namespace wsd
