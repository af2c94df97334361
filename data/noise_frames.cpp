#include "data/noise_frames.hpp"

#include <torch/torch.h>

#include <filesystem>

#include "core/io/h5_file.hpp"
#include "core/util/errors.hpp"
#include "core/util/shape_text.hpp"
#include "data/image_folder_reader.hpp"

namespace wsd {
namespace {

NoiseFrames read_folder(const std::string& path) {
  const ImageFolderDataset folder(path, FolderOptions{});
  std::vector<torch::Tensor> frames;
  frames.reserve(static_cast<size_t>(folder.size()));
  for (int64_t i = 0; i < folder.size(); ++i) {
    const auto image = folder.get(i).image;  // [C, H, W] in [-1, 1]
    const std::string name = folder.sample_name(i);
    if (image.size(0) != 1) {
      throw InputError(name + ": an RGB image; noise frames must be gray (one channel)");
    }
    if (!frames.empty() && image.sizes().slice(1) != frames.front().sizes()) {
      throw InputError(path + ": frames of mixed sizes: " + folder.sample_name(0) + " is " +
                       std::to_string(frames.front().size(0)) + " x " +
                       std::to_string(frames.front().size(1)) + ", " + name + " is " +
                       std::to_string(image.size(1)) + " x " + std::to_string(image.size(2)));
    }
    frames.push_back(image[0].to(torch::kFloat64));
  }
  return {torch::stack(frames), "8-bit pixels p mapped to p / 127.5 - 1"};
}

NoiseFrames read_hdf5(const std::string& path, const std::string& dataset) {
  h5::File file = [&] {
    try {
      return h5::File::open_read(path);
    } catch (const h5::H5Error&) {
      throw InputError(path + ": neither a folder of images nor a readable HDF5 file");
    }
  }();
  try {
    if (!file.exists(dataset)) {
      throw InputError(path + ": has no dataset '" + dataset + "' (set --dataset)");
    }
    const auto info = file.dataset_info(dataset);
    const auto& shape = info.shape;
    const bool rank3 = shape.size() == 3;
    const bool rank4 = shape.size() == 4 && shape[1] == 1;
    if (!rank3 && !rank4) {
      throw InputError(path + ": dataset '" + dataset + "' is " + shape_text(shape) +
                       "; noise frames must be [N, H, W] or [N, 1, H, W]");
    }
    const bool is_float = info.dtype == torch::kFloat32 || info.dtype == torch::kFloat64;
    if (!is_float && info.dtype != torch::kUInt8) {
      throw InputError(path + ": dataset '" + dataset + "' holds " +
                       std::string(c10::toString(info.dtype)) +
                       "; noise frames must be uint8 (0..255) or float in image units ([-1, 1] "
                       "images)");
    }
    auto frames = file.read_tensor(dataset);
    if (rank4) frames = frames.squeeze(1);
    if (is_float) return {frames.to(torch::kFloat64), "float values taken as image units"};
    return {frames.to(torch::kFloat64) / 127.5 - 1.0, "8-bit pixels p mapped to p / 127.5 - 1"};
  } catch (const h5::H5Error& e) {
    throw InputError(path + ": cannot read dataset '" + dataset + "': " + e.what());
  }
}

}  // namespace

NoiseFrames read_noise_frames(const std::string& path, const std::string& dataset) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw InputError(path + ": no such file or folder of noise frames");
  if (fs::is_directory(status)) return read_folder(path);
  return read_hdf5(path, dataset);
}

}  // namespace wsd
