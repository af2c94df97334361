#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/config/config_enums.hpp"
#include "data/dataset.hpp"

namespace wsd {

struct Hdf5Options {
  std::string dataset = "/images";  // N x C x H x W, N x H x W x C or N x H x W (gray)
  Hdf5Layout layout = Hdf5Layout::kAuto;
  std::string labels;  // optional 1-D integer dataset of length N
  FloatRange float_range = FloatRange::kUnit;
};

// Images stored as one uint8 or float array in an HDF5 file. Each get() reads one sample's
// hyperslab (HDF5's chunk cache serves neighbouring samples), through a dataset handle of the
// calling thread's own; every HDF5 call holds h5::library_mutex() (see there for why).
class Hdf5Dataset final : public Dataset {
 public:
  // Throws InputError naming the file for a missing or non-HDF5 file, a missing dataset, or an
  // array whose rank, channel count or type the reader does not take.
  Hdf5Dataset(const std::string& path, Hdf5Options options);
  ~Hdf5Dataset() override;

  int64_t size() const override { return count_; }
  Sample get(int64_t index) const override;  // BadSampleError for NaN or infinite pixels
  std::string describe() const override;
  std::string sample_name(int64_t index) const override;

 private:
  struct ThreadHandles;
  ThreadHandles& handles() const;  // call with the library lock held

  std::string path_;
  Hdf5Options options_;
  bool nhwc_ = false;
  bool is_float_ = false;
  int64_t count_ = 0, channels_ = 1, height_ = 0, width_ = 0;
  std::vector<int64_t> labels_;
  mutable std::map<std::thread::id, std::unique_ptr<ThreadHandles>> handles_;
};

}  // namespace wsd
