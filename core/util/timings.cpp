#include "core/util/timings.hpp"

#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

void synchronise(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

}  // namespace

double Timings::median() const {
  if (seconds.empty()) return 0.0;
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const size_t mid = sorted.size() / 2;
  return sorted.size() % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

double Timings::min() const {
  return seconds.empty() ? 0.0 : *std::min_element(seconds.begin(), seconds.end());
}

void Timings::add_to(nlohmann::ordered_json& report, const std::string& prefix) const {
  report[prefix + "_ms_median"] = median() * 1e3;
  report[prefix + "_ms_min"] = min() * 1e3;
  std::vector<double> ms;
  ms.reserve(seconds.size());
  for (const double s : seconds) ms.push_back(s * 1e3);
  report[prefix + "_ms_all"] = ms;
}

Timings time_calls(const std::function<void()>& fn, int64_t warmup, int64_t repeats,
                   torch::Device device) {
  if (repeats < 1) throw std::invalid_argument("time_calls: repeats must be at least 1");
  using Clock = std::chrono::steady_clock;
  for (int64_t i = 0; i < warmup; ++i) fn();
  synchronise(device);
  Timings timings;
  timings.seconds.reserve(static_cast<size_t>(repeats));
  for (int64_t i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    fn();
    synchronise(device);
    timings.seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return timings;
}

void BenchSettings::check() const {
  if (batch < 1) throw InputError("--batch must be at least 1");
  if (repeats < 1) throw InputError("--repeats must be at least 1");
  if (warmup < 0) throw InputError("--warmup must not be negative");
}

}  // namespace wsd
