#include "data/loader_benchmark.hpp"

#include <torch/torch.h>

#include <chrono>

#include "core/util/errors.hpp"
#include "data/batch_loader.hpp"
#include "data/dataset_factory.hpp"

namespace wsd {

LoaderBenchResult bench_loader(const LoaderBenchRequest& request) {
  if (request.batch < 1 || request.batches < 1 || request.warmup < 0) {
    throw InputError("loader benchmark: batch and timed batches must be at least 1");
  }
  LoaderRuntime runtime = LoaderRuntime::for_training(request.config, 0, 1, request.device);
  runtime.batch_size = request.batch;
  BatchLoader loader(open_dataset(request.config.data, request.config.data.split),
                     request.config.data, runtime);
  double checksum = 0;  // keeps the batches observably used
  for (int64_t i = 0; i < request.warmup; ++i) checksum += loader.next()[0][0][0][0].item<float>();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < request.batches; ++i) {
    checksum += loader.next()[0][0][0][0].item<float>();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  (void)checksum;
  LoaderBenchResult result;
  result.dataset = loader.describe();
  result.images = request.batch * request.batches;
  result.seconds = seconds;
  result.images_per_s = static_cast<double>(result.images) / std::max(seconds, 1e-9);
  result.skipped = loader.skipped_samples();
  result.workers = request.config.data.workers;
  result.prefetch = request.config.data.prefetch;
  result.fit = std::string(enum_name(request.config.data.fit));
  return result;
}

nlohmann::ordered_json LoaderBenchResult::to_json() const {
  return {{"dataset", dataset},
          {"workers", workers},
          {"prefetch", prefetch},
          {"fit", fit},
          {"images", images},
          {"seconds", seconds},
          {"images_per_s", images_per_s},
          {"skipped_samples", skipped}};
}

}  // namespace wsd
