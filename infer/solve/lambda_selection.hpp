#pragma once

// Choosing the data weight lambda without ground truth (the paper tunes it by hand and calls the
// method "very sensitive" to it). Discrepancy principle: a reconstruction that explains the data
// no better and no worse than the noise allows leaves a residual ||y - A x_hat||^2 equal to the
// expected noise energy E||b||^2. The selection solves a few probe measurements over a
// logarithmic grid of lambda (decades, then half a decade either side of the best decade) and
// keeps the lambda whose mean residual ratio ||y - A x_hat||^2 / E||b||^2 is closest to 1 in
// log scale. When the ground truth is known, the trials also record PSNR, so a report can say
// how far the automatic choice lands from the best lambda in hindsight. The search never returns
// an unstable lambda: it tries none at or above max_lambda (the likelihood step's stability
// bound), and a trial whose sampling diverges is recorded as such and never chosen.

#include <torch/types.h>

#include <cmath>
#include <functional>
#include <optional>
#include <vector>

namespace wsd {

struct LambdaTrial {
  double lambda = 0;
  double residual_ratio = 0;   // mean over probes of ||y - A x_hat||^2 / E||b||^2
  std::optional<double> psnr;  // mean over probes, when the truth is known
  bool diverged = false;       // sampling ran away (residual_ratio is then infinite)
};

struct LambdaSelection {
  double lambda = 0;                  // the discrepancy-principle choice
  std::vector<LambdaTrial> trials;    // in the order tried
  std::optional<double> best_lambda;  // highest PSNR among the trials (truth known)

  const LambdaTrial& chosen() const;
  const LambdaTrial* best() const;
};

struct LambdaSearch {
  // Reconstructs the probe measurements with a given lambda.
  std::function<torch::Tensor(double lambda)> reconstruct;
  // ||y - A x||^2 per probe image [P] for a reconstruction [P, C, H, W].
  std::function<torch::Tensor(const torch::Tensor& x)> residual_energy;
  double expected_noise_energy = 0;  // E||b||^2 per image
  torch::Tensor truth;               // optional [P, C, H, W]
  double min_decade = -1, max_decade = 4;
  double max_lambda = INFINITY;  // exclusive: the stability bound, when there is one
};

LambdaSelection select_lambda(const LambdaSearch& search);

}  // namespace wsd
