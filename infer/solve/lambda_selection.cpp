#include "infer/solve/lambda_selection.hpp"

#include <torch/torch.h>

#include <cmath>

#include "infer/metrics/psnr.hpp"
#include "infer/samplers/sampler.hpp"

namespace wsd {

const LambdaTrial& LambdaSelection::chosen() const {
  for (const auto& trial : trials) {
    if (trial.lambda == lambda) return trial;
  }
  TORCH_CHECK(false, "the chosen lambda is not among the trials");
}

const LambdaTrial* LambdaSelection::best() const {
  for (const auto& trial : trials) {
    if (best_lambda && trial.lambda == *best_lambda) return &trial;
  }
  return nullptr;
}

LambdaSelection select_lambda(const LambdaSearch& search) {
  TORCH_CHECK(search.expected_noise_energy > 0, "the discrepancy principle needs noise");
  LambdaSelection out;
  const auto misfit = [](const LambdaTrial& trial) {
    return trial.diverged ? INFINITY : std::abs(std::log(trial.residual_ratio));
  };
  const auto try_lambda = [&](double lambda) -> double {
    LambdaTrial trial;
    trial.lambda = lambda;
    try {
      const auto x = search.reconstruct(lambda);
      trial.residual_ratio =
          search.residual_energy(x).mean().item<double>() / search.expected_noise_energy;
      if (search.truth.defined()) trial.psnr = psnr(x, search.truth).mean().item<double>();
    } catch (const DivergenceError&) {
      trial.diverged = true;
      trial.residual_ratio = INFINITY;
    }
    out.trials.push_back(trial);
    return misfit(trial);
  };
  const double top = std::min(search.max_decade, std::log10(search.max_lambda) - 1e-9);
  double best_decade = search.min_decade;
  double best_misfit = INFINITY;
  for (double d = search.min_decade; d <= top + 1e-9; d += 1.0) {
    const double m = try_lambda(std::pow(10.0, d));
    if (m < best_misfit) best_misfit = m, best_decade = d;
  }
  if (out.trials.empty()) {
    // Even the smallest decade is unstable: the largest stable weight's half is what is left.
    try_lambda(0.5 * search.max_lambda);
  } else {
    for (double d : {best_decade - 0.5, best_decade + 0.5}) {
      if (d <= top) try_lambda(std::pow(10.0, d));
    }
  }
  const LambdaTrial* chosen = nullptr;
  for (const auto& trial : out.trials) {
    if (!trial.diverged && (chosen == nullptr || misfit(trial) < misfit(*chosen))) chosen = &trial;
  }
  if (chosen == nullptr) {
    throw DivergenceError("automatic lambda: sampling diverged at every lambda tried (" +
                          std::to_string(out.trials.size()) + " trials)");
  }
  out.lambda = chosen->lambda;
  if (search.truth.defined()) {
    const LambdaTrial* best = chosen;
    for (const auto& trial : out.trials) {
      if (!trial.diverged && *trial.psnr > *best->psnr) best = &trial;
    }
    out.best_lambda = best->lambda;
  }
  return out;
}

}  // namespace wsd
