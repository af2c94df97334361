#include "infer/eval/measurement_set.hpp"

#include <torch/torch.h>

#include <chrono>
#include <ctime>

#include "core/config/config_loader.hpp"
#include "core/config/config_writer.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "core/util/errors.hpp"
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

MeasurementSet simulate_from(const Config& config, int64_t n, torch::Device device, DataSplit split,
                             bool from_end, int64_t seed_offset) {
  const auto shape = task_image_shape(config);
  // An unknown made of single-channel images (unknown_channel_scales) takes one image per
  // channel: channel c of image i is image i + (last - c) n, so the last channel is image i.
  const auto scales = unknown_channel_scales(config.task);
  DataConfig data = config.data;
  if (!scales.empty()) data.channels = 1;
  const auto dataset = open_dataset(data, split);
  const int64_t per_image = std::max<int64_t>(1, static_cast<int64_t>(scales.size()));
  const int64_t needed = per_image * n;
  if (dataset->size() < needed) {
    throw InputError(std::string("data: the ") + (split == DataSplit::kTest ? "test" : "training") +
                     " split has " + std::to_string(dataset->size()) + " images, the task needs " +
                     std::to_string(needed));
  }
  const int64_t first = from_end ? dataset->size() - needed : 0;
  std::vector<torch::Tensor> images;
  for (int64_t i = 0; i < n; ++i) {
    if (scales.empty()) {
      images.push_back(evaluation_image(*dataset, data, first + i));
      continue;
    }
    std::vector<torch::Tensor> channels;
    for (int64_t c = 0; c < per_image; ++c) {
      const int64_t block = per_image - 1 - c;
      const auto image = evaluation_image(*dataset, data, first + block * n + i);
      const double scale = scales[static_cast<size_t>(c)];
      channels.push_back(scale == 1.0 ? image : scale * image);
    }
    images.push_back(torch::cat(channels));
  }
  MeasurementSet set;
  set.config = config;
  set.x_true = torch::stack(images).to(torch::kFloat32);
  TORCH_CHECK(set.x_true.sizes().slice(1).vec() == shape, "unexpected image shape");
  set.seeds = measurement_seeds(config.task.seed, seed_offset, n);
  auto op = make_operator(config.task, shape);
  op->to(device);
  const auto noise = MeasurementNoise::from_config(config.task);
  torch::NoGradGuard no_grad;
  set.y = measure(*op, set.x_true.to(device), noise, set.seeds).to(torch::kCPU, torch::kFloat32);
  return set;
}

}  // namespace

MeasurementSet simulate_measurements(const Config& config, int64_t n, torch::Device device) {
  return simulate_from(config, n, device, DataSplit::kTest, /*from_end=*/false, 0);
}

MeasurementSet simulate_validation_measurements(const Config& config, int64_t n,
                                                torch::Device device) {
  return simulate_from(config, n, device, DataSplit::kTrain, /*from_end=*/true,
                       kValidationSeedOffset);
}

void write_measurements(const MeasurementSet& set, const std::string& path) {
  write_h5_atomically(path, [&](h5::File& file) {
    file.write_tensor("/y", set.y.to(torch::kFloat32).contiguous());
    if (set.x_true.defined())
      file.write_tensor("/x_true", set.x_true.to(torch::kFloat32).contiguous());
    std::vector<int64_t> seeds(set.seeds.begin(), set.seeds.end());
    file.write_tensor("/seeds", torch::tensor(seeds, torch::kInt64));
    file.set_attr("/", "format", std::string(kFormat));
    file.set_attr("/", "format_version", kFormatVersion);
    file.set_attr("/", "config", to_yaml(set.config));
    file.set_attr("/", "seed", static_cast<int64_t>(set.config.task.seed));
    file.set_attr("/", "operator", std::string(enum_name(set.config.task.operator_name)));
    file.set_attr("/", "created", now_utc());
  });
}

MeasurementSet read_measurements(const std::string& path) {
  const h5::File file = h5::File::open_read(path);
  if (!file.has_attr("/", "format") || file.attr_string("/", "format") != kFormat) {
    throw InputError(path + ": not a wsdiff measurement file (no format \"" + kFormat +
                     "\" attribute; write one with `wsdiff simulate`)");
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
  const auto image_shape = task_image_shape(set.config);
  set.y = read("/y");
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
  if (set.x_true.defined() && set.x_true.size(0) != n) {
    throw InputError(path + ": /x_true has " + std::to_string(set.x_true.size(0)) +
                     " images but /y has " + std::to_string(n));
  }
  return set;
}

}  // namespace wsd
