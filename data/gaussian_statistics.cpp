#include "data/gaussian_statistics.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/util/errors.hpp"
#include "data/dataset_factory.hpp"

namespace wsd {
namespace {

// Images stacked per accumulator update: large enough for the FFT to batch well, small enough
// to stay a few MiB for 32x32 images.
constexpr int64_t kStatisticsBatch = 512;

}  // namespace

std::optional<GaussianStatistics> estimate_gaussian_statistics(const DataConfig& data,
                                                               DataSplit split, int64_t limit,
                                                               const StatisticsProgress& progress) {
  const auto dataset = open_dataset(data, split);
  const int64_t total = limit > 0 ? std::min(limit, dataset->size()) : dataset->size();
  if (total < 2) {
    throw InputError(dataset->describe() + " has " + std::to_string(total) +
                     " images; a gaussian prior needs at least 2");
  }
  GaussianStatisticsAccumulator accumulator;
  std::vector<torch::Tensor> batch;
  for (int64_t i = 0; i < total; ++i) {
    batch.push_back(evaluation_image(*dataset, data, i));
    if (static_cast<int64_t>(batch.size()) == kStatisticsBatch || i + 1 == total) {
      accumulator.add(torch::stack(batch));
      batch.clear();
      if (progress && !progress(accumulator.count(), total)) return std::nullopt;
    }
  }
  return accumulator.finish();
}

}  // namespace wsd
