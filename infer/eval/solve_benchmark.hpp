#pragma once

// `wsdiff bench --what solve`: posterior sampling with a trained prior on a fixed measurement
// file, timed and scored together, so speed is never quoted without the quality it buys: seconds
// per image (the batch of `settings.batch` images solved at once) and PSNR/SSIM against the
// file's ground truth.

#include <nlohmann/json.hpp>

#include <string>

#include "core/config/config_types.hpp"
#include "core/util/timings.hpp"
#include "infer/eval/measurement_set.hpp"

namespace wsd {

struct SolveBenchRequest {
  BenchSettings settings;  // batch: the first `batch` measurements of the file, solved together
  Config config;           // the measurement file's config layered with --config / --set
  std::string checkpoint;
  std::string measurements;  // the file `set` was read from, for the report
  MeasurementSet set;
};

struct SolveBenchResult {
  SolveBenchRequest request;
  Timings per_solve;          // one call solves the whole batch
  double s_per_image = 0;     // median solve / batch
  double psnr = 0, ssim = 0;  // means over the batch (dB, [0, 1]); NaN without ground truth
  std::string prior;

  nlohmann::ordered_json to_json() const;
};

SolveBenchResult bench_solve(const SolveBenchRequest& request);

}  // namespace wsd
