#include "infer/eval/user_measurements.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "core/io/h5_file.hpp"
#include "core/util/errors.hpp"
#include "core/util/shape_text.hpp"
#include "data/image_decode.hpp"
#include "data/image_folder_reader.hpp"
#include "operators/measurement_noise.hpp"
#include "operators/operator_factory.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

bool is_hdf5_path(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  return ext == ".h5" || ext == ".hdf5";
}

// A decoded image [C, H, W] as `channels` channels: RGB counts as gray only when its channels
// are equal (a gray picture saved as RGB); anything else is a channel mismatch.
torch::Tensor with_channels(torch::Tensor image, int64_t channels, const std::string& name,
                            const std::string& what) {
  if (image.size(0) == channels) return image;
  if (channels == 1 && image.size(0) == 3 && image.eq(image.slice(0, 0, 1)).all().item<bool>()) {
    return image.slice(0, 0, 1);
  }
  throw InputError(fmt::format("{}: {} image has {} channel(s), {} needs {}", name,
                               image.size(0) == 1 ? "a gray" : "a colour", image.size(0), what,
                               channels));
}

torch::Tensor read_image_files(const std::string& path, const std::vector<int64_t>& per_image,
                               const std::string& what) {
  std::vector<std::string> names;
  std::vector<torch::Tensor> images;
  if (fs::is_directory(path)) {
    const ImageFolderDataset folder(path, FolderOptions{});
    for (int64_t i = 0; i < folder.size(); ++i) {
      names.push_back(folder.sample_name(i));
      images.push_back(folder.get(i).image);
    }
  } else {
    names.push_back(path);
    images.push_back(decode_image(path));
  }
  if (per_image[0] > 3) {
    throw InputError(
        fmt::format("{}: {} has {} channels per measurement, more than an image file "
                    "holds; pack them from an HDF5 file [N, {}, H, W]",
                    path, what, per_image[0], per_image[0]));
  }
  for (size_t i = 0; i < images.size(); ++i) {
    auto& image = images[i];
    if (image.size(1) != per_image[1] || image.size(2) != per_image[2]) {
      throw InputError(
          fmt::format("{}: {}x{} pixels, {} must be {}x{} (the task's output; "
                      "measurements are not resized)",
                      names[i], image.size(2), image.size(1), what, per_image[2], per_image[1]));
    }
    image = with_channels(image, per_image[0], names[i], what);
  }
  return torch::stack(images).to(torch::kFloat32);
}

torch::Tensor read_hdf5_arrays(const std::string& path, const std::string& dataset,
                               FloatRange float_range, const std::vector<int64_t>& per_image,
                               const std::string& what) {
  h5::File file = [&] {
    try {
      return h5::File::open_read(path);
    } catch (const h5::H5Error&) {
      throw InputError(path + ": not a readable HDF5 file");
    }
  }();
  if (!file.exists(dataset)) {
    throw InputError(fmt::format("{}: no dataset {} (name it with --dataset)", path, dataset));
  }
  auto x = file.read_tensor(dataset);
  if (x.dim() == 3 && per_image[0] == 1) x = x.unsqueeze(1);
  if (x.dim() != 4 || x.sizes().slice(1).vec() != per_image) {
    const std::string expected = shape_text(per_image);
    throw InputError(fmt::format("{}: dataset {} is {}, {} must be [N, {}] for the task", path,
                                 dataset, shape_text(x.sizes()), what,
                                 expected.substr(1, expected.size() - 2)));
  }
  if (x.size(0) == 0)
    throw InputError(fmt::format("{}: dataset {} holds no arrays", path, dataset));
  if (x.scalar_type() == torch::kUInt8) return x.to(torch::kFloat32) / 127.5 - 1.0;
  if (!x.is_floating_point()) {
    throw InputError(
        fmt::format("{}: dataset {} holds integers other than uint8; store floats in "
                    "image units or 8-bit pixels",
                    path, dataset));
  }
  x = x.to(torch::kFloat32);
  const auto finite = torch::isfinite(x).flatten(1).all(1);
  if (!finite.all().item<bool>()) {
    const int64_t first = torch::nonzero(finite.logical_not()).flatten()[0].item<int64_t>();
    throw InputError(
        fmt::format("{}: dataset {} holds NaN or Inf (array {} first)", path, dataset, first));
  }
  return float_range == FloatRange::kUnit ? 2.0 * x - 1.0 : x;
}

}  // namespace

torch::Tensor read_user_arrays(const std::string& path, const std::string& dataset,
                               FloatRange float_range, const std::vector<int64_t>& per_image,
                               const std::string& what) {
  if (!fs::exists(path)) throw InputError(path + ": no such file or folder");
  if (is_hdf5_path(path)) return read_hdf5_arrays(path, dataset, float_range, per_image, what);
  return read_image_files(path, per_image, what);
}

MeasurementSet pack_measurements(const Config& config, const std::string& images,
                                 const std::string& truth, const std::string& dataset) {
  MeasurementSet set;
  set.config = config;
  const auto shape = task_image_shape(config);
  auto op = make_operator(config.task, shape);
  set.y = read_user_arrays(images, dataset, config.data.float_range, op->output_shape(),
                           "a measurement");
  const int64_t n = set.y.size(0);
  if (op->measurement_traits().is_image) {
    // Noise of level s rarely leaves [-1 - 6s, 1 + 6s]; a share of values beyond it says the
    // arrays are in other units ([0, 255] floats, [0, 1] taken as [-1, 1]).
    const double bound = 1.0 + std::max(0.25, 6.0 * config.task.noise_level);
    const double outside = set.y.abs().gt(bound).to(torch::kFloat64).mean().item<double>();
    if (outside > 0.01) {
      throw InputError(fmt::format(
          "{}: {:.1f}% of the measurement values lie outside [-{:g}, {:g}] (largest {:.3g}): "
          "{} measures images in [-1, 1] units; rescale them or set data.float_range",
          images, 100.0 * outside, bound, bound, set.y.abs().max().item<double>(),
          enum_name(config.task.operator_name)));
    }
  }
  if (!truth.empty()) {
    set.x_true = read_user_arrays(truth, dataset == "/y" ? "/x_true" : dataset,
                                  config.data.float_range, shape, "a ground-truth image");
    if (set.x_true.size(0) != n) {
      throw InputError(fmt::format("{}: {} ground-truth images for {} measurements in {}", truth,
                                   set.x_true.size(0), n, images));
    }
  }
  set.seeds = measurement_seeds(config.task.seed, 0, n);
  return set;
}

}  // namespace wsd
