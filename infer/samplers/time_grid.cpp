#include "infer/samplers/time_grid.hpp"

#include <cmath>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

// The t in [lo, hi] where the increasing function ratio(t) = sigma_t / alpha_t equals `target`.
double time_of_ratio(const DiffusionSchedule& schedule, double target, double lo, double hi) {
  for (int i = 0; i < 200 && hi - lo > 1e-15; ++i) {
    const double mid = 0.5 * (lo + hi);
    const double ratio = schedule.sigma(mid) / schedule.alpha(mid);
    (ratio < target ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace

std::vector<double> uniform_time_grid(int64_t steps, double t_eps) {
  if (steps < 1) throw InputError("a time grid needs at least one step");
  std::vector<double> grid(static_cast<size_t>(steps + 1));
  for (int64_t i = 0; i <= steps; ++i) {
    grid[static_cast<size_t>(i)] = 1.0 - (1.0 - t_eps) * static_cast<double>(i) / steps;
  }
  return grid;
}

std::vector<double> time_grid(const DiffusionSchedule& schedule, TimeGrid kind, int64_t steps,
                              double t_eps, double rho) {
  if (kind == TimeGrid::kUniform) return uniform_time_grid(steps, t_eps);
  if (steps < 1) throw InputError("a time grid needs at least one step");
  if (!(rho > 0)) throw InputError("sampler.rho must be > 0");
  const double r_max = schedule.sigma(1.0) / schedule.alpha(1.0);
  const double r_min = schedule.sigma(t_eps) / schedule.alpha(t_eps);
  std::vector<double> grid(static_cast<size_t>(steps + 1));
  grid.front() = 1.0;
  grid.back() = t_eps;
  for (int64_t i = 1; i < steps; ++i) {
    const double u = static_cast<double>(i) / static_cast<double>(steps);
    double ratio;
    if (kind == TimeGrid::kLogSnr) {
      // lambda = -log(ratio), uniform between its end values.
      ratio = std::exp((1.0 - u) * std::log(r_max) + u * std::log(r_min));
    } else {
      const double a = std::pow(r_max, 1.0 / rho), b = std::pow(r_min, 1.0 / rho);
      ratio = std::pow(a + u * (b - a), rho);
    }
    grid[static_cast<size_t>(i)] = time_of_ratio(schedule, ratio, t_eps, 1.0);
  }
  return grid;
}

}  // namespace wsd
