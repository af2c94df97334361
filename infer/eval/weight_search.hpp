#pragma once

// Choosing a prior method's data weight on validation measurements (`eval.lambda_grid`): every
// weight of the grid is solved, then, while the best lies at an end of what was tried, one more
// weight beyond that end (a step of the grid's own ratio there) until the best is interior. The
// search stops at an end when a weight beyond it is unstable or diverges (the step's stability
// bound), when it leaves [min_lambda, max_lambda], or on a plateau, where the edge weight gains
// less than plateau_db over its inner neighbour; the choice then says which bound it hit.
// A choice at the edge of a fixed grid says nothing about the optimum, only about the grid.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace wsd {

struct WeightTrial {
  double lambda = 0;
  std::optional<double> psnr;     // mean over the validation images (absent: not stable)
  std::optional<double> psnr_se;  // its standard error, std / sqrt(n)
  bool unstable = false;          // refused before any work (stability bound)
  bool diverged = false;          // ran away while sampling
};

struct WeightChoice {
  double lambda = 0;
  std::vector<WeightTrial> trials;  // in the order tried
  bool interior = false;            // the best has a tried weight on either side
  std::string stopped_by;           // when not interior: what stopped the widening
};

struct WeightSearch {
  std::vector<double> grid;  // positive, any order
  // Per-image PSNR of the validation reconstructions at a weight; throws UnstableSettingError or
  // DivergenceError for weights that cannot run.
  std::function<std::vector<double>(double lambda)> evaluate;
  double min_lambda = 1e-4;
  double max_lambda = 1e4;
  int max_widenings = 12;
  double plateau_db = 0.01;
};

// InputError when no weight tried is stable.
WeightChoice search_weight(const WeightSearch& search, const std::string& method);

}  // namespace wsd
