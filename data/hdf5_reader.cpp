#include "data/hdf5_reader.hpp"

#include <torch/torch.h>

#include "core/io/h5_file.hpp"
#include "core/util/shape_text.hpp"
#include "data/transforms.hpp"

namespace wsd {

// The images dataset held open per thread: opening it for each sample costs more than the read.
struct Hdf5Dataset::ThreadHandles {
  h5::RowReader images;
};

namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

// The reader's errors are input errors (exit 2) that name the config key to change.
h5::File open_file(const std::string& path) {
  try {
    return h5::File::open_read(path);
  } catch (const h5::H5Error& error) {
    throw InputError(error.what());
  }
}

h5::File::DatasetInfo dataset_info(const h5::File& file, const std::string& name,
                                   const std::string& key) {
  if (!file.exists(name)) {
    throw InputError("'" + file.path() + "' has no dataset '" + name + "' (set " + key + ")");
  }
  try {
    return file.dataset_info(name);
  } catch (const h5::H5Error& error) {
    throw InputError(std::string(error.what()) + " (set " + key + ")");
  }
}

}  // namespace

Hdf5Dataset::Hdf5Dataset(const std::string& path, Hdf5Options options)
    : path_(path), options_(std::move(options)) {
  const Lock lock(h5::library_mutex());
  const h5::File file = open_file(path);
  const std::string where = "'" + path + "' dataset '" + options_.dataset + "'";
  const auto images = dataset_info(file, options_.dataset, "data.hdf5_dataset");
  const std::vector<int64_t>& dims = images.shape;
  if (dims.size() == 3) {
    channels_ = 1;
    height_ = dims[1];
    width_ = dims[2];
  } else if (dims.size() == 4) {
    nhwc_ = options_.layout == Hdf5Layout::kNhwc;
    if (options_.layout == Hdf5Layout::kAuto) {
      const bool c_first = dims[1] == 1 || dims[1] == 3, c_last = dims[3] == 1 || dims[3] == 3;
      if (c_first == c_last) {
        throw InputError(where + " is " + shape_text(dims) +
                         ": cannot tell N x C x H x W from N x H x W x C (set data.hdf5_layout)");
      }
      nhwc_ = c_last;
    }
    channels_ = nhwc_ ? dims[3] : dims[1];
    height_ = nhwc_ ? dims[1] : dims[2];
    width_ = nhwc_ ? dims[2] : dims[3];
    if (channels_ != 1 && channels_ != 3) {
      throw InputError(where + " is " + shape_text(dims) + " (" +
                       std::string(enum_name(nhwc_ ? Hdf5Layout::kNhwc : Hdf5Layout::kNchw)) +
                       "): " + std::to_string(channels_) + " channels, expected 1 or 3");
    }
  } else {
    throw InputError(where + " is " + shape_text(dims) +
                     ", expected N x C x H x W, N x H x W x C or N x H x W");
  }
  count_ = dims[0];
  if (count_ == 0 || height_ == 0 || width_ == 0) throw InputError(where + " is empty");

  is_float_ = images.dtype == torch::kFloat32 || images.dtype == torch::kFloat64;
  if (!is_float_ && images.dtype != torch::kUInt8) {
    throw InputError(where + " is neither uint8 nor float");
  }

  if (!options_.labels.empty()) {
    const auto labels = dataset_info(file, options_.labels, "data.hdf5_labels");
    if (labels.shape.size() != 1 || labels.shape[0] != count_) {
      throw InputError("'" + path + "' dataset '" + options_.labels + "' is " +
                       shape_text(labels.shape) + ", expected one label per image (" +
                       std::to_string(count_) + ")");
    }
    try {
      const torch::Tensor values = file.read_rows(options_.labels, 0, count_, torch::kInt64);
      labels_.assign(values.data_ptr<int64_t>(), values.data_ptr<int64_t>() + count_);
    } catch (const h5::H5Error&) {
      throw InputError("'" + path + "' dataset '" + options_.labels +
                       "' cannot be read as integers");
    }
  }
}

Hdf5Dataset::~Hdf5Dataset() {
  const Lock lock(h5::library_mutex());
  handles_.clear();
}

Hdf5Dataset::ThreadHandles& Hdf5Dataset::handles() const {
  auto& slot = handles_[std::this_thread::get_id()];
  if (!slot) {
    slot = std::make_unique<ThreadHandles>(
        ThreadHandles{open_file(path_).row_reader(options_.dataset)});
  }
  return *slot;
}

Sample Hdf5Dataset::get(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < count_, "HDF5 index ", index, " out of range");
  torch::Tensor raw;
  {
    const Lock lock(h5::library_mutex());
    try {
      raw = handles().images.read(index, 1, is_float_ ? torch::kFloat32 : torch::kUInt8)[0];
    } catch (const h5::H5Error&) {
      throw InputError("cannot read " + sample_name(index) + " (file damaged?)");
    }
  }
  // A gray N x H x W array: one channel.
  if (raw.dim() == 2) raw = raw.unsqueeze(0);
  if (nhwc_) raw = raw.permute({2, 0, 1});
  Sample sample;
  if (is_float_) {
    if (!torch::isfinite(raw).all().item<bool>()) {
      throw BadSampleError(sample_name(index) + " contains NaN or infinite values");
    }
    // Float data in another range (e.g. [0, 255]) would train on images far outside [-1, 1]
    // without a word; a little slack keeps rounding at the ends legal.
    const bool unit = options_.float_range == FloatRange::kUnit;
    const double lo = unit ? 0.0 : -1.0, slack = 1e-3;
    const double min = raw.min().item<double>(), max = raw.max().item<double>();
    if (min < lo - slack || max > 1.0 + slack) {
      throw BadSampleError(sample_name(index) + " holds values from " + std::to_string(min) +
                           " to " + std::to_string(max) + ", outside the [" + (unit ? "0" : "-1") +
                           ", 1] of data.float_range " + (unit ? "unit" : "symmetric") +
                           "; rescale the data or set " + "data.float_range");
    }
    sample.image =
        options_.float_range == FloatRange::kUnit ? raw.mul(2.0).sub_(1.0) : raw.contiguous();
  } else {
    sample.image = bytes_to_unit_range(raw).contiguous();
  }
  if (!labels_.empty()) sample.label = labels_[static_cast<size_t>(index)];
  return sample;
}

std::string Hdf5Dataset::describe() const {
  return "HDF5 " + path_ + ":" + options_.dataset + " (" + std::to_string(count_) + " images " +
         std::to_string(channels_) + "x" + std::to_string(height_) + "x" + std::to_string(width_) +
         (is_float_ ? " float" : " uint8") + ")";
}

std::string Hdf5Dataset::sample_name(int64_t index) const {
  return "'" + path_ + "' " + options_.dataset + "[" + std::to_string(index) + "]";
}

}  // namespace wsd
