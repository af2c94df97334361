#include "infer/eval/weight_search.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/util/errors.hpp"
#include "infer/likelihood/likelihood_step.hpp"
#include "infer/samplers/sampler.hpp"

namespace wsd {
namespace {

WeightTrial run_trial(const WeightSearch& search, double lambda) {
  WeightTrial trial;
  trial.lambda = lambda;
  try {
    const auto values = search.evaluate(lambda);
    const double n = static_cast<double>(values.size());
    double mean = 0, ss = 0;
    for (const double v : values) mean += v / n;
    for (const double v : values) ss += (v - mean) * (v - mean);
    trial.psnr = mean;
    trial.psnr_se = values.size() > 1 ? std::sqrt(ss / (n - 1) / n) : 0.0;
  } catch (const UnstableSettingError&) {
    trial.unstable = true;
  } catch (const DivergenceError&) {
    trial.diverged = true;
  }
  return trial;
}

}  // namespace

WeightChoice search_weight(const WeightSearch& search, const std::string& method) {
  std::vector<double> grid = search.grid;
  std::sort(grid.begin(), grid.end());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
  if (grid.empty() || grid.front() <= 0.0) {
    throw InputError(method + ": eval.lambda_grid must hold positive weights");
  }
  // The widening steps: the grid's own ratio at each end (2 for a grid of one weight).
  const double down = grid.size() > 1 ? grid[1] / grid[0] : 2.0;
  const double up = grid.size() > 1 ? grid[grid.size() - 1] / grid[grid.size() - 2] : 2.0;

  WeightChoice out;
  for (const double lambda : grid) out.trials.push_back(run_trial(search, lambda));
  for (int widening = 0;; ++widening) {
    const WeightTrial* best = nullptr;
    for (const auto& trial : out.trials) {
      if (trial.psnr && (best == nullptr || *trial.psnr > *best->psnr)) best = &trial;
    }
    if (best == nullptr) {
      throw InputError(method + ": no weight of eval.lambda_grid is stable (see the warnings)");
    }
    out.lambda = best->lambda;
    // The nearest weights tried on either side of the best.
    const WeightTrial* lower = nullptr;
    const WeightTrial* upper = nullptr;
    for (const auto& trial : out.trials) {
      if (trial.lambda < best->lambda && (lower == nullptr || trial.lambda > lower->lambda)) {
        lower = &trial;
      }
      if (trial.lambda > best->lambda && (upper == nullptr || trial.lambda < upper->lambda)) {
        upper = &trial;
      }
    }
    if (lower && upper && lower->psnr && upper->psnr) {
      out.interior = true;
      out.stopped_by.clear();
      return out;
    }
    // On a plateau more weight changes nothing that the validation images can tell apart.
    const WeightTrial* inner = upper == nullptr ? lower : upper;
    if ((upper == nullptr || lower == nullptr) && inner != nullptr && inner->psnr &&
        *best->psnr - *inner->psnr < search.plateau_db) {
      char tolerance[32];
      std::snprintf(tolerance, sizeof tolerance, "%g", search.plateau_db);
      out.stopped_by =
          "a plateau (less than " + std::string(tolerance) + " dB over the next weight)";
      return out;
    }
    // Widen at an open end; a neighbour that could not run, the range and the widening budget
    // are bounds.
    std::optional<double> next;
    if (upper == nullptr) {
      next = best->lambda * up;
      if (*next > search.max_lambda) next.reset(), out.stopped_by = "the largest weight allowed";
    } else if (lower == nullptr) {
      next = best->lambda / down;
      if (*next < search.min_lambda) next.reset(), out.stopped_by = "the smallest weight allowed";
    } else {
      out.stopped_by = "the stability bound (a neighbouring weight could not run)";
    }
    if (next && widening >= search.max_widenings) {
      next.reset();
      out.stopped_by = "the widening budget";
    }
    if (!next) return out;
    out.trials.push_back(run_trial(search, *next));
  }
}

}  // namespace wsd
