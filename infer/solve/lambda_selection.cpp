#include "infer/solve/lambda_selection.hpp"

#include <torch/torch.h>

#include <cmath>

#include "infer/metrics/psnr.hpp"

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
    return std::abs(std::log(trial.residual_ratio));
  };
  const auto try_lambda = [&](double lambda) -> const LambdaTrial& {
    const auto x = search.reconstruct(lambda);
    LambdaTrial trial;
    trial.lambda = lambda;
    trial.residual_ratio =
        search.residual_energy(x).mean().item<double>() / search.expected_noise_energy;
    if (search.truth.defined()) trial.psnr = psnr(x, search.truth).mean().item<double>();
    out.trials.push_back(trial);
    return out.trials.back();
  };
  double best_decade = search.min_decade;
  double best_misfit = INFINITY;
  for (double d = search.min_decade; d <= search.max_decade + 1e-9; d += 1.0) {
    const double m = misfit(try_lambda(std::pow(10.0, d)));
    if (m < best_misfit) best_misfit = m, best_decade = d;
  }
  for (double d : {best_decade - 0.5, best_decade + 0.5}) try_lambda(std::pow(10.0, d));
  const LambdaTrial* chosen = &out.trials.front();
  for (const auto& trial : out.trials) {
    if (misfit(trial) < misfit(*chosen)) chosen = &trial;
  }
  out.lambda = chosen->lambda;
  if (search.truth.defined()) {
    const LambdaTrial* best = &out.trials.front();
    for (const auto& trial : out.trials) {
      if (*trial.psnr > *best->psnr) best = &trial;
    }
    out.best_lambda = best->lambda;
  }
  return out;
}

}  // namespace wsd
