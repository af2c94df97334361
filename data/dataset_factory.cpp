#include "data/dataset_factory.hpp"

#include <algorithm>

#include "core/util/errors.hpp"
#include "data/idx_reader.hpp"

namespace wsd {

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> base, int64_t count)
    : base_(std::move(base)), count_(std::min(count, base_->size())) {}

std::string SubsetDataset::describe() const {
  return base_->describe() + ", first " + std::to_string(count_);
}

std::shared_ptr<const Dataset> open_dataset(const DataConfig& config, DataSplit split) {
  std::shared_ptr<const Dataset> dataset;
  switch (config.reader) {
    case DataReader::kIdx:
      dataset = std::make_shared<IdxDataset>(config.path, std::string(enum_name(split)));
      break;
    default:
      throw InputError("data.reader '" + std::string(enum_name(config.reader)) +
                       "' is not available in this version yet (use idx)");
  }
  if (config.limit > 0 && config.limit < dataset->size()) {
    dataset = std::make_shared<SubsetDataset>(dataset, config.limit);
  }
  return dataset;
}

}  // namespace wsd
