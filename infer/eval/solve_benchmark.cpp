#include "infer/eval/solve_benchmark.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/config/config_json.hpp"
#include "core/util/errors.hpp"
#include "infer/eval/reconstruction.hpp"
#include "infer/likelihood/likelihood_step.hpp"
#include "infer/metrics/psnr.hpp"
#include "infer/metrics/ssim.hpp"

namespace wsd {

SolveBenchResult bench_solve(const SolveBenchRequest& request) {
  const BenchSettings& s = request.settings;
  s.check();
  MeasurementSet set = request.set;
  if (s.batch > set.size()) {
    throw InputError("--batch " + std::to_string(s.batch) + ": " + request.measurements +
                     " holds " + std::to_string(set.size()) + " measurements");
  }
  set.y = set.y.slice(0, 0, s.batch);
  if (set.x_true.defined()) set.x_true = set.x_true.slice(0, 0, s.batch);
  set.seeds.resize(static_cast<size_t>(s.batch));
  set.config = request.config;

  Reconstructor reconstructor(request.config, s.device);
  // The data statistics of a step's measurement model are estimated once per Reconstructor: not
  // a solve's cost.
  if (likelihood_kind(request.config.sampler.likelihood).needs_measurement_model()) {
    reconstructor.statistics();
  }
  Reconstruction last;
  SolveBenchResult result;
  result.request = request;
  result.per_solve = time_calls(
      [&] {
        last = reconstructor.run_checkpoint(request.checkpoint, EvalMethod::kWsPrior, set,
                                            request.config.sampler);
      },
      s.warmup, s.repeats, s.device);
  result.s_per_image = result.per_solve.median() / static_cast<double>(s.batch);
  result.prior = last.prior;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  result.psnr = set.x_true.defined() ? psnr(last.x_hat, set.x_true).mean().item<double>() : nan;
  result.ssim = set.x_true.defined() ? ssim(last.x_hat, set.x_true).mean().item<double>() : nan;
  return result;
}

nlohmann::ordered_json SolveBenchResult::to_json() const {
  nlohmann::ordered_json out;
  out["checkpoint"] = request.checkpoint;
  out["prior"] = prior;
  out["measurements"] = request.measurements;
  out["task"] = wsd::to_json(request.config.task);
  out["sampler"] = wsd::to_json(request.config.sampler);
  out["images"] = request.settings.batch;
  out["s_per_image"] = s_per_image;
  // JSON has no NaN: a file without ground truth reports null.
  out["psnr_db"] = std::isfinite(psnr) ? nlohmann::ordered_json(psnr) : nullptr;
  out["ssim"] = std::isfinite(ssim) ? nlohmann::ordered_json(ssim) : nullptr;
  per_solve.add_to(out, "solve");
  return out;
}

}  // namespace wsd
