#include "infer/eval/measurement_set.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>

#include "core/config/config_loader.hpp"
#include "core/config/config_writer.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "core/util/errors.hpp"
#include "core/util/seeds.hpp"
#include "core/util/shape_text.hpp"
#include "data/dataset_factory.hpp"
#include "operators/measurement_noise.hpp"
#include "operators/operator_factory.hpp"

namespace wsd {
namespace {

constexpr const char* kFormat = "wsdiff-measurements";
constexpr int64_t kFormatVersion = 1;

std::string now_utc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

std::vector<int64_t> task_image_shape(const Config& config) {
  return unknown_shape(config.task, config.data.channels, config.data.image_size);
}

std::vector<int64_t> MeasurementSet::image_shape() const { return task_image_shape(config); }

namespace {

// Measurement seeds of validation sets start here, far from any test set's.
constexpr int64_t kValidationSeedOffset = 1'000'000'000;

// Which images of a split to measure, and the keys of their noise seeds
// (measurement_seed(task.seed, key)), given the split's size and the images per unknown.
struct Selection {
  std::vector<int64_t> indices;
  std::vector<int64_t> seed_keys;
};
using Select = std::function<Selection(int64_t split_size, int64_t per_image)>;

// Where measured images come from: the test split, or the images settings are chosen on (the
// validation split, or the train split itself when the data holds none out).
enum class Source { kTest, kValidation, kTrain };

std::shared_ptr<const Dataset> open_source(const DataConfig& data, Source source) {
  switch (source) {
    case Source::kTest:
      return open_dataset(data, DataSplit::kTest);
    case Source::kValidation:
      return open_validation_dataset(data);
    case Source::kTrain:
      return open_dataset(data, DataSplit::kTrain);
  }
  throw std::logic_error("unknown image source");
}

const char* source_name(Source source) {
  switch (source) {
    case Source::kTest:
      return "test";
    case Source::kValidation:
      return "validation";
    case Source::kTrain:
      return "training";
  }
  return "";
}

// The selected images of `source`, opened once, measured through the task.
MeasurementSet simulate_from(const Config& config, const Select& select, torch::Device device,
                             Source source) {
  const auto shape = task_image_shape(config);
  // An unknown made of single-channel images (unknown_channel_scales) takes one image per
  // channel: channel c of image i is image indices[i] + (last - c) n, so the last channel is
  // image indices[i] itself and the others are images no other row uses.
  const auto scales = unknown_channel_scales(config.task);
  DataConfig data = config.data;
  if (!scales.empty()) data.channels = 1;
  const auto dataset = open_source(data, source);
  const int64_t per_image = std::max<int64_t>(1, static_cast<int64_t>(scales.size()));
  const std::string split_name = source_name(source);
  const auto [indices, seed_keys] = select(dataset->size(), per_image);
  const int64_t n = static_cast<int64_t>(indices.size());
  if (dataset->size() < per_image * n) {
    throw InputError("data: the " + split_name + " split has " + std::to_string(dataset->size()) +
                     " images, the task needs " + std::to_string(per_image * n));
  }
  std::vector<torch::Tensor> images;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t index = indices[static_cast<size_t>(i)];
    if (index < 0 || index >= dataset->size()) {
      throw InputError("eval: image " + std::to_string(index) + " is not in the " + split_name +
                       " split (" + std::to_string(dataset->size()) + " images)");
    }
    if (scales.empty()) {
      images.push_back(evaluation_image(*dataset, data, index));
      continue;
    }
    std::vector<torch::Tensor> channels;
    for (int64_t c = 0; c < per_image; ++c) {
      const int64_t block = per_image - 1 - c;
      const auto image = evaluation_image(*dataset, data, (index + block * n) % dataset->size());
      const double scale = scales[static_cast<size_t>(c)];
      channels.push_back(scale == 1.0 ? image : scale * image);
    }
    images.push_back(torch::cat(channels));
  }
  MeasurementSet set;
  set.config = config;
  set.x_true = torch::stack(images).to(torch::kFloat32);
  TORCH_CHECK(set.x_true.sizes().slice(1).vec() == shape, "unexpected image shape");
  for (const int64_t key : seed_keys) set.seeds.push_back(measurement_seed(config.task.seed, key));
  if (source == Source::kTest) set.image_indices = indices;
  auto op = make_operator(config.task, shape);
  op->to(device);
  const auto noise = MeasurementNoise::from_config(config.task);
  torch::NoGradGuard no_grad;
  set.y = measure(*op, set.x_true.to(device), noise, set.seeds).to(torch::kCPU, torch::kFloat32);
  return set;
}

std::vector<int64_t> iota(int64_t first, int64_t n) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(first + i);
  return out;
}

}  // namespace

std::vector<int64_t> select_test_images(const EvalConfig& eval, int64_t test_size) {
  switch (eval.images) {
    case ImageSelection::kRange:
      return iota(eval.first_image, eval.n_images);
    case ImageSelection::kList:
      return eval.image_list;
    case ImageSelection::kRandom: {
      // A seeded partial Fisher-Yates shuffle of the test indices: n distinct images.
      if (eval.n_images > test_size) {
        throw InputError("eval.n_images " + std::to_string(eval.n_images) +
                         ": the test split has only " + std::to_string(test_size) + " images");
      }
      std::vector<int64_t> all = iota(0, test_size);
      uint64_t state = eval.image_seed;
      for (int64_t i = 0; i < eval.n_images; ++i) {
        state = mix64(state + static_cast<uint64_t>(i));
        const int64_t j = i + pick(state, test_size - i);
        std::swap(all[static_cast<size_t>(i)], all[static_cast<size_t>(j)]);
      }
      all.resize(static_cast<size_t>(eval.n_images));
      return all;
    }
  }
  throw InputError("unknown eval.images");
}

MeasurementSet simulate_measurements(const Config& config, torch::Device device) {
  // A test image's noise depends on its index alone, whichever selection it is measured in.
  return simulate_from(
      config,
      [&](int64_t size, int64_t) {
        auto images = select_test_images(config.eval, size);
        return Selection{images, images};
      },
      device, Source::kTest);
}

MeasurementSet simulate_measurements(const Config& config, int64_t n, torch::Device device) {
  return simulate_from(
      config,
      [&](int64_t, int64_t) {
        return Selection{iota(0, n), iota(0, n)};
      },
      device, Source::kTest);
}

MeasurementSet simulate_validation_measurements(const Config& config, int64_t n,
                                                torch::Device device) {
  // The last images of the validation split (the end of the train split, held out of training);
  // their seeds lie far from any test set's.
  if (config.data.validation_images == 0) {
    spdlog::warn(
        "data.validation_images is 0: the data weight is chosen on the last images of the train "
        "split, which the prior may have been trained on");
  }
  return simulate_from(
      config,
      [&](int64_t size, int64_t per_image) {
        return Selection{iota(size - per_image * n, n), iota(kValidationSeedOffset, n)};
      },
      device, config.data.validation_images > 0 ? Source::kValidation : Source::kTrain);
}

void write_measurements(const MeasurementSet& set, const std::string& path) {
  write_h5_atomically(path, [&](h5::File& file) {
    file.write_tensor("/y", set.y.to(torch::kFloat32).contiguous());
    if (set.x_true.defined())
      file.write_tensor("/x_true", set.x_true.to(torch::kFloat32).contiguous());
    std::vector<int64_t> seeds(set.seeds.begin(), set.seeds.end());
    file.write_tensor("/seeds", torch::tensor(seeds, torch::kInt64));
    if (!set.image_indices.empty()) {
      file.write_tensor("/image_indices", torch::tensor(set.image_indices, torch::kInt64));
    }
    file.set_attr("/", "format", std::string(kFormat));
    file.set_attr("/", "format_version", kFormatVersion);
    file.set_attr("/", "config", to_yaml(set.config));
    file.set_attr("/", "seed", static_cast<int64_t>(set.config.task.seed));
    file.set_attr("/", "operator", std::string(enum_name(set.config.task.operator_name)));
    file.set_attr("/", "created", now_utc());
  });
}

namespace {

// The file itself, or InputError naming it: every way a path can fail to be a readable HDF5
// file is a bad input, not a failure of the run.
h5::File open_measurement_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw InputError(path + ": no such measurement file");
  if (fs::is_directory(status)) {
    throw InputError(path + ": is a folder; a measurement file from `wsdiff simulate` is needed");
  }
  if (fs::is_regular_file(status) && fs::file_size(path, ec) == 0 && !ec) {
    throw InputError(path + ": the measurement file is empty (0 bytes)");
  }
  try {
    return h5::File::open_read(path);
  } catch (const h5::H5Error&) {
    throw InputError(path + ": not a readable measurement file (not HDF5, truncated or corrupt)");
  }
}

MeasurementSet read_measurement_file(const std::string& path) {
  const h5::File file = open_measurement_file(path);
  if (!file.has_attr("/", "format") || file.attr_string("/", "format") != kFormat) {
    throw InputError(path + ": not a wsdiff measurement file (no format \"" + kFormat +
                     "\" attribute; write one with `wsdiff simulate`)");
  }
  const int64_t version =
      file.has_attr("/", "format_version") ? file.attr_int("/", "format_version") : 1;
  if (version != kFormatVersion) {
    throw InputError(path + ": measurement format_version " + std::to_string(version) +
                     "; this wsdiff reads version " + std::to_string(kFormatVersion));
  }
  if (!file.has_attr("/", "config")) {
    throw InputError(path +
                     ": no config attribute (the task that made the measurements); write the "
                     "file with `wsdiff simulate`");
  }
  if (!file.exists("/y")) throw InputError(path + ": missing dataset /y");
  MeasurementSet set;
  set.config = parse_config(file.attr_string("/", "config"), path + " (embedded config)");
  const auto read = [&](const std::string& name) {
    try {
      return file.read_tensor(name).to(torch::kFloat32);
    } catch (const std::exception& e) {
      throw InputError(path + ": dataset " + name + " cannot be read as numbers (" + e.what() +
                       ")");
    }
  };
  // Shapes and values are checked here, where the file can be named: a wrong shape would fail
  // deep inside an operator, a NaN would silently turn every reconstruction into NaN.
  const auto check = [&](const torch::Tensor& x, const std::string& name,
                         const std::vector<int64_t>& per_image) {
    if (x.dim() != 4 || x.sizes().slice(1).vec() != per_image) {
      throw InputError(path + ": dataset " + name + " is " + shape_text(x.sizes()) +
                       ", expected [N, " + shape_text(per_image).substr(1) + " for its task (" +
                       std::string(enum_name(set.config.task.operator_name)) + ", image size " +
                       std::to_string(set.config.data.image_size) + ")");
    }
    if (!torch::isfinite(x).all().item<bool>()) {
      throw InputError(path + ": dataset " + name + " holds NaN or Inf values");
    }
  };
  if (file.has_attr("/", "operator")) {
    const std::string stored = file.attr_string("/", "operator");
    const std::string configured(enum_name(set.config.task.operator_name));
    if (stored != configured) {
      throw InputError(path + ": its operator attribute '" + stored +
                       "' contradicts its embedded config's task.operator '" + configured + "'");
    }
  }
  const auto image_shape = task_image_shape(set.config);
  set.y = read("/y");
  if (set.y.dim() >= 1 && set.y.size(0) == 0) {
    throw InputError(path + ": holds 0 measurements (/y has no images)");
  }
  check(set.y, "/y", make_operator(set.config.task, image_shape)->output_shape());
  if (file.exists("/x_true")) {
    set.x_true = read("/x_true");
    check(set.x_true, "/x_true", image_shape);
  }
  const int64_t n = set.y.size(0);
  if (file.exists("/seeds")) {
    const auto seeds = file.read_tensor("/seeds").to(torch::kInt64).contiguous();
    for (int64_t i = 0; i < seeds.numel(); ++i) {
      set.seeds.push_back(static_cast<uint64_t>(seeds.data_ptr<int64_t>()[i]));
    }
  }
  if (static_cast<int64_t>(set.seeds.size()) != n)
    set.seeds = measurement_seeds(set.config.task.seed, 0, n);
  if (file.exists("/image_indices")) {
    const auto indices = file.read_tensor("/image_indices").to(torch::kInt64).contiguous();
    if (indices.numel() == n) {
      set.image_indices.assign(indices.data_ptr<int64_t>(), indices.data_ptr<int64_t>() + n);
    }
  }
  if (set.x_true.defined() && set.x_true.size(0) != n) {
    throw InputError(path + ": /x_true has " + std::to_string(set.x_true.size(0)) +
                     " images but /y has " + std::to_string(n));
  }
  return set;
}

}  // namespace

MeasurementSet read_measurements(const std::string& path) {
  try {
    return read_measurement_file(path);
  } catch (const h5::H5Error& e) {
    // A damaged file that opened: whatever part of it cannot be read, the file is the cause.
    throw InputError(path + ": damaged measurement file (" + e.what() + ")");
  }
}

}  // namespace wsd
