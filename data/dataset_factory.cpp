#include "data/dataset_factory.hpp"

#include <algorithm>
#include <filesystem>

#include "core/util/errors.hpp"
#include "data/cifar10_reader.hpp"
#include "data/hdf5_reader.hpp"
#include "data/idx_reader.hpp"
#include "data/image_folder_reader.hpp"
#include "data/patch_dataset.hpp"
#include "data/transforms.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

// Folder and HDF5 data may keep their splits apart as <path>/<split> (a folder) or
// <path>/<split>.h5; without them every split reads the same images.
std::string split_path(const std::string& path, const std::string& split, const char* suffix) {
  const fs::path candidate = fs::path(path) / (split + suffix);
  return fs::is_directory(path) && fs::exists(candidate) ? candidate.string() : path;
}

std::shared_ptr<const Dataset> open_reader(const DataConfig& config, const std::string& split) {
  switch (config.reader) {
    case DataReader::kIdx:
      return std::make_shared<IdxDataset>(config.path, split);
    case DataReader::kCifar10:
      return std::make_shared<Cifar10Dataset>(config.path, split);
    case DataReader::kFolder: {
      FolderOptions o;
      o.min_size = config.patch_size;
      if (config.fit == DataFit::kNone && config.patch_size == 0) o.exact_size = config.image_size;
      o.skip_bad = config.on_bad_sample == BadSamplePolicy::kSkip;
      return std::make_shared<ImageFolderDataset>(split_path(config.path, split, ""), o);
    }
    case DataReader::kHdf5: {
      const std::string file = split_path(config.path, split, ".h5");
      if (fs::is_directory(file)) {
        throw InputError("data.path '" + config.path + "' is a directory without " + split +
                         ".h5 (data.reader: hdf5 takes a file or a directory of <split>.h5)");
      }
      Hdf5Options o;
      o.dataset = config.hdf5_dataset;
      o.layout = config.hdf5_layout;
      o.labels = config.hdf5_labels;
      o.float_range = config.float_range;
      return std::make_shared<Hdf5Dataset>(file, o);
    }
  }
  throw InputError("data.reader has an unknown value");
}

std::shared_ptr<const Dataset> open_split(const DataConfig& config, DataSplit split) {
  if (!fs::exists(config.path)) {
    throw InputError("data.path '" + config.path + "' does not exist");
  }
  return open_reader(config, std::string(enum_name(split)));
}

// The train split's size, checked against the validation split it must leave room for.
int64_t checked_training_size(const Dataset& train, const DataConfig& config) {
  if (config.validation_images >= train.size()) {
    throw InputError("data.validation_images = " + std::to_string(config.validation_images) +
                     " holds out every image of the train split (" + train.describe() + ", " +
                     std::to_string(train.size()) + " images); set it below " +
                     std::to_string(train.size()) + ", or 0 to hold none out");
  }
  return train.size() - config.validation_images;
}

}  // namespace

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> base, int64_t count, int64_t first)
    : base_(std::move(base)),
      count_(std::max<int64_t>(0, std::min(count, base_->size() - first))),
      first_(first) {}

std::string SubsetDataset::describe() const {
  if (first_ == 0) return base_->describe() + ", first " + std::to_string(count_);
  return base_->describe() + ", images " + std::to_string(first_) + " to " +
         std::to_string(first_ + count_ - 1);
}

torch::Tensor evaluation_image(const Dataset& dataset, const DataConfig& config, int64_t index) {
  TransformOptions options;
  options.size = config.image_size;
  options.channels = config.channels;
  options.fit = config.fit;
  options.random_flip = false;
  return transform_sample(dataset.get(index).image, options, /*key=*/0);
}

std::shared_ptr<const Dataset> open_validation_dataset(const DataConfig& config) {
  if (config.validation_images == 0) {
    throw InputError("data.validation_images is 0: this data has no validation split");
  }
  auto train = open_split(config, DataSplit::kTrain);
  const int64_t first = checked_training_size(*train, config);
  return std::make_shared<SubsetDataset>(train, config.validation_images, first);
}

std::shared_ptr<const Dataset> open_dataset(const DataConfig& config, DataSplit split) {
  std::shared_ptr<const Dataset> dataset = open_split(config, split);
  if (split == DataSplit::kTrain && config.validation_images > 0) {
    dataset = std::make_shared<SubsetDataset>(dataset, checked_training_size(*dataset, config));
  }
  if (config.patch_size > 0) {
    dataset = std::make_shared<PatchDataset>(dataset, config.patch_size, config.patches_per_image,
                                             config.patch_seed);
  }
  if (config.limit > 0 && config.limit < dataset->size()) {
    dataset = std::make_shared<SubsetDataset>(dataset, config.limit);
  }
  return dataset;
}

}  // namespace wsd
