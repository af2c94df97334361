#include "data/hdf5_reader.hpp"

#include <torch/torch.h>

#include "core/io/h5_file.hpp"
#include "data/transforms.hpp"

namespace wsd {

struct Hdf5Dataset::ThreadHandles {
  h5::Handle file;
  h5::Handle images;
};

namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

h5::Handle open_file(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // the reader reports errors itself
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    throw InputError("'" + path + "' is not a readable HDF5 file (truncated or another format?)");
  }
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw InputError("cannot open HDF5 file '" + path + "'");
  return h5::Handle(id, H5Fclose);
}

h5::Handle open_dataset(hid_t file, const std::string& path, const std::string& name,
                        const std::string& key) {
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) {
    throw InputError("'" + path + "' has no dataset '" + name + "' (set " + key + ")");
  }
  const hid_t id = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  if (id < 0) throw InputError("'" + path + "': '" + name + "' is not a dataset");
  return h5::Handle(id, H5Dclose);
}

std::vector<hsize_t> dims_of(hid_t dataset) {
  const h5::Handle space(H5Dget_space(dataset), H5Sclose);
  std::vector<hsize_t> dims(static_cast<size_t>(H5Sget_simple_extent_ndims(space.get())));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string text;
  for (const hsize_t d : dims) text += (text.empty() ? "" : " x ") + std::to_string(d);
  return text;
}

}  // namespace

Hdf5Dataset::Hdf5Dataset(const std::string& path, Hdf5Options options)
    : path_(path), options_(std::move(options)) {
  const Lock lock(h5::library_mutex());
  const h5::Handle file = open_file(path);
  const std::string where = "'" + path + "' dataset '" + options_.dataset + "'";
  const h5::Handle images = open_dataset(file.get(), path, options_.dataset, "data.hdf5_dataset");
  const auto dims = dims_of(images.get());
  if (dims.size() == 3) {
    channels_ = 1;
    height_ = static_cast<int64_t>(dims[1]);
    width_ = static_cast<int64_t>(dims[2]);
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
    channels_ = static_cast<int64_t>(nhwc_ ? dims[3] : dims[1]);
    height_ = static_cast<int64_t>(nhwc_ ? dims[1] : dims[2]);
    width_ = static_cast<int64_t>(nhwc_ ? dims[2] : dims[3]);
    if (channels_ != 1 && channels_ != 3) {
      throw InputError(where + " is " + shape_text(dims) + " (" +
                       std::string(enum_name(nhwc_ ? Hdf5Layout::kNhwc : Hdf5Layout::kNchw)) +
                       "): " + std::to_string(channels_) + " channels, expected 1 or 3");
    }
  } else {
    throw InputError(where + " is " + shape_text(dims) +
                     ", expected N x C x H x W, N x H x W x C or N x H x W");
  }
  count_ = static_cast<int64_t>(dims[0]);
  if (count_ == 0 || height_ == 0 || width_ == 0) throw InputError(where + " is empty");

  const h5::Handle type(H5Dget_type(images.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  is_float_ = cls == H5T_FLOAT;
  const bool is_uint8 =
      cls == H5T_INTEGER && H5Tget_size(type.get()) == 1 && H5Tget_sign(type.get()) == H5T_SGN_NONE;
  if (!is_float_ && !is_uint8) throw InputError(where + " is neither uint8 nor float");

  if (!options_.labels.empty()) {
    const h5::Handle labels = open_dataset(file.get(), path, options_.labels, "data.hdf5_labels");
    const auto label_dims = dims_of(labels.get());
    if (label_dims.size() != 1 || static_cast<int64_t>(label_dims[0]) != count_) {
      throw InputError("'" + path + "' dataset '" + options_.labels + "' is " +
                       shape_text(label_dims) + ", expected one label per image (" +
                       std::to_string(count_) + ")");
    }
    labels_.resize(static_cast<size_t>(count_));
    if (H5Dread(labels.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels_.data()) <
        0) {
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
    auto fresh = std::make_unique<ThreadHandles>();
    fresh->file = open_file(path_);
    fresh->images = open_dataset(fresh->file.get(), path_, options_.dataset, "data.hdf5_dataset");
    slot = std::move(fresh);
  }
  return *slot;
}

Sample Hdf5Dataset::get(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < count_, "HDF5 index ", index, " out of range");
  const std::vector<int64_t> sample_shape = nhwc_
                                                ? std::vector<int64_t>{height_, width_, channels_}
                                                : std::vector<int64_t>{channels_, height_, width_};
  torch::Tensor raw = torch::empty(sample_shape, is_float_ ? torch::kFloat32 : torch::kUInt8);
  {
    const Lock lock(h5::library_mutex());
    const ThreadHandles& h = handles();
    const h5::Handle file_space(H5Dget_space(h.images.get()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(file_space.get());
    std::vector<hsize_t> start(static_cast<size_t>(rank), 0), count(static_cast<size_t>(rank));
    start[0] = static_cast<hsize_t>(index);
    count[0] = 1;
    for (int d = 1; d < rank; ++d) {
      count[static_cast<size_t>(d)] =
          static_cast<hsize_t>(sample_shape[static_cast<size_t>(d - 1 + (4 - rank))]);
    }
    H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                        nullptr);
    const h5::Handle memory_space(H5Screate_simple(rank, count.data(), nullptr), H5Sclose);
    const hid_t memory_type = is_float_ ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT8;
    if (H5Dread(h.images.get(), memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT,
                raw.data_ptr()) < 0) {
      throw InputError("cannot read " + sample_name(index) + " (file damaged?)");
    }
  }
  if (nhwc_) raw = raw.permute({2, 0, 1});
  Sample sample;
  if (is_float_) {
    if (!torch::isfinite(raw).all().item<bool>()) {
      throw BadSampleError(sample_name(index) + " contains NaN or infinite values");
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
