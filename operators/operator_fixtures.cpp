#include "operators/operator_fixtures.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "core/io/h5_file.hpp"
#include "operators/convolution_operator.hpp"

namespace wsd {
namespace {

// Deletes the file when the scope ends, also on an exception.
struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

void write_dataset(const std::string& path, const std::string& dataset,
                   const torch::Tensor& values) {
  auto file = h5::File::create(path);
  file.write_tensor(dataset, values.contiguous());
}

}  // namespace

std::string temporary_operator_file(const std::string& suffix) {
  static std::atomic<int> counter{0};
  const auto name =
      "wsdiff-operator-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + suffix;
  return (std::filesystem::temp_directory_path() / name).string();
}

torch::Tensor fixture_psf() {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(31);
  auto psf = torch::rand({6, 4}, gen, torch::kFloat64) * 0.2;
  psf[3][2] = 1.0;  // the origin of the `center` convention carries most of the light
  psf[2][3] = 0.5;
  return psf / psf.sum();
}

void with_fixture_files(TaskConfig task, const std::vector<int64_t>& input_shape,
                        const std::function<void(const TaskConfig&)>& use) {
  const int64_t h = input_shape[1], w = input_shape[2];
  RemoveOnExit file{temporary_operator_file(".h5")};
  if (task.operator_name == OperatorType::kPsf) {
    task.psf_file = file.path;
    task.psf_centre = PsfCentre::kCenter;
    write_dataset(file.path, "/psf", fixture_psf());
  } else if (task.operator_name == OperatorType::kTransferFunction) {
    // The DFT of an asymmetric kernel: complex, with the symmetry real images need.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(32);
    const auto kernel = torch::rand({5, 3}, gen, torch::kFloat64);
    const auto t = kernel_transfer_function(kernel / kernel.sum(), h, w)[0][0];
    task.transfer_file = file.path;
    write_dataset(file.path, "/transfer", torch::view_as_real(t.slice(1, 0, w / 2 + 1)));
  } else if (task.operator_name == OperatorType::kInpaint && task.mask_kind == MaskKind::kFile) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(33);
    task.mask_file = file.path;
    write_dataset(file.path, "/mask",
                  torch::floor(torch::rand({h, w}, gen, torch::kFloat64) * 3.0) / 2.0);
  }
  use(task);
}

}  // namespace wsd
