// Operators read from files (operators/operator_files.hpp): a PSF file equal to a built-in kernel
// gives the built-in operator, under both centre conventions and boundaries, odd and even sides,
// as HDF5 or PNG; a transfer-function file equal to a built-in operator's gives that operator; a
// mask file gives the inpainting operator with that mask. Every bad file is one InputError
// naming the key, the file and what is wrong. (The operator contract suite runs the registry's
// file-defined entries too.)

#include <gtest/gtest.h>
#include <torch/torch.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/config/config_types.hpp"
#include "core/io/h5_file.hpp"
#include "core/util/errors.hpp"
#include "operators/blur_kernels.hpp"
#include "operators/convolution_operator.hpp"
#include "operators/inpaint.hpp"
#include "operators/operator_factory.hpp"
#include "operators/operator_fixtures.hpp"

namespace wsd {
namespace {

// A temporary file removed at the end of the test.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& suffix) : path(temporary_operator_file(suffix)) {}
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

void write_h5(const std::string& path, const std::string& dataset, const torch::Tensor& values) {
  auto file = h5::File::create(path);
  file.write_tensor(dataset, values.contiguous());
}

// An 8-bit PNG of values in [0, 1] ([H, W] gray or [3, H, W] colour).
void write_png(const std::string& path, const torch::Tensor& values) {
  const auto hwc = values.dim() == 2 ? values.unsqueeze(-1) : values.permute({1, 2, 0});
  const auto bytes = (hwc * 255.0).round().clamp(0, 255).to(torch::kUInt8).contiguous();
  ASSERT_NE(stbi_write_png(path.c_str(), static_cast<int>(hwc.size(1)),
                           static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(2)),
                           bytes.data_ptr<uint8_t>(), static_cast<int>(hwc.size(1) * hwc.size(2))),
            0);
}

std::string input_error(const TaskConfig& task, const std::vector<int64_t>& shape) {
  try {
    make_operator(task, shape);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

torch::Tensor images(const std::vector<int64_t>& shape, uint64_t seed = 3) {
  torch::manual_seed(seed);
  return torch::randn({2, shape[0], shape[1], shape[2]}, torch::kFloat64);
}

double max_gap(LinearOperator& a, LinearOperator& b, const std::vector<int64_t>& shape) {
  const auto x = images(shape);
  const auto y = torch::randn({2, shape[0], shape[1], shape[2]}, torch::kFloat64);
  return std::max((a->forward(x) - b->forward(x)).abs().max().item<double>(),
                  (a->adjoint(y) - b->adjoint(y)).abs().max().item<double>());
}

TaskConfig psf_task(const std::string& path, Boundary boundary, PsfCentre centre) {
  TaskConfig task;
  task.operator_name = OperatorType::kPsf;
  task.psf_file = path;
  task.boundary = boundary;
  task.psf_centre = centre;
  return task;
}

TEST(PsfFile, EqualsTheBuiltInGaussianBlurInBothLayoutsAndBoundaries) {
  for (const Boundary boundary : {Boundary::kCircular, Boundary::kZero}) {
    for (const std::vector<int64_t>& shape :
         {std::vector<int64_t>{1, 21, 17}, {3, 16, 12}, {1, 8, 6}}) {  // 8x6: PSF > image
      TaskConfig gauss;
      gauss.operator_name = OperatorType::kGaussianBlur;
      gauss.blur_sigma = 1.7;
      gauss.kernel_size = 11;
      gauss.boundary = boundary;
      auto built_in = make_operator(gauss, shape);
      const auto kernel = gaussian_kernel(1.7, 11);
      TempFile centred(".h5"), corner(".h5");
      write_h5(centred.path, "/psf", kernel);
      write_h5(corner.path, "/psf", torch::roll(kernel, {-5, -5}, {0, 1}));  // ifftshift
      auto a = make_operator(psf_task(centred.path, boundary, PsfCentre::kCenter), shape);
      auto b = make_operator(psf_task(corner.path, boundary, PsfCentre::kCorner), shape);
      EXPECT_EQ(a->kind(), "psf");
      EXPECT_EQ(a->is_fourier_diagonal(), boundary == Boundary::kCircular);
      EXPECT_LT(max_gap(a, built_in, shape), 1e-12) << shape[1] << "x" << shape[2];
      EXPECT_LT(max_gap(b, built_in, shape), 1e-12) << shape[1] << "x" << shape[2];
    }
  }
}

// Even sides: the origin is pixel S/2 (center) or [0, 0] (corner); a delta there is the identity,
// and an unnormalised PSF is normalised.
TEST(PsfFile, EvenSidesPutTheOriginWhereTheConventionSays) {
  const std::vector<int64_t> shape = {1, 10, 9};
  const auto x = images(shape);
  for (const PsfCentre centre : {PsfCentre::kCenter, PsfCentre::kCorner}) {
    auto delta = torch::zeros({4, 6}, torch::kFloat64);
    if (centre == PsfCentre::kCenter) {
      delta[2][3] = 3.0;
    } else {
      delta[0][0] = 3.0;
    }
    TempFile file(".h5");
    write_h5(file.path, "/psf", delta);
    for (const Boundary boundary : {Boundary::kCircular, Boundary::kZero}) {
      auto op = make_operator(psf_task(file.path, boundary, centre), shape);
      EXPECT_LT((op->forward(x) - x).abs().max().item<double>(), 1e-12);
    }
  }
  // One pixel right of the origin moves the image one pixel right.
  auto shifted = torch::zeros({4, 4}, torch::kFloat64);
  shifted[2][3] = 1.0;
  TempFile file(".h5");
  write_h5(file.path, "/psf", shifted);
  auto op = make_operator(psf_task(file.path, Boundary::kCircular, PsfCentre::kCenter), shape);
  EXPECT_LT((op->forward(x) - x.roll({1}, {3})).abs().max().item<double>(), 1e-12);
}

// The fixture's asymmetric [6, 4] PSF as HDF5 and as 8-bit PNG: the same operator up to the
// PNG's quantisation.
TEST(PsfFile, ReadsGrayImages) {
  const auto psf = fixture_psf();
  const auto peak = psf.max().item<double>();
  TempFile png(".png");
  write_png(png.path, psf / peak);
  const auto quantised = (psf / peak * 255.0).round() / 255.0;
  const std::vector<int64_t> shape = {1, 13, 11};
  auto from_png = make_operator(psf_task(png.path, Boundary::kZero, PsfCentre::kCenter), shape);
  auto reference = make_convolution(
      "psf", torch::constant_pad_nd(quantised / quantised.sum(), {0, 1, 0, 1}, 0.0),
      Boundary::kZero, shape);
  EXPECT_LT(max_gap(from_png, reference, shape), 1e-6);
}

TEST(PsfFile, BadFilesAreOneLineNamingTheFile) {
  const std::vector<int64_t> shape = {1, 16, 16};
  const auto expect_error = [&](const std::string& path, const std::string& what) {
    const auto message =
        input_error(psf_task(path, Boundary::kCircular, PsfCentre::kCenter), shape);
    EXPECT_EQ(message.rfind("task.psf_file '" + path + "': ", 0), 0u) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  };
  TempFile nan(".h5"), negative(".h5"), cube(".h5"), no_dataset(".h5"), colour(".png");
  auto k = gaussian_kernel(1.0, 5);
  write_h5(nan.path, "/psf",
           k.clone().index_put_({2, 2}, std::numeric_limits<double>::quiet_NaN()));
  write_h5(negative.path, "/psf", -k);
  write_h5(cube.path, "/psf", torch::ones({2, 3, 3}, torch::kFloat64));
  write_h5(no_dataset.path, "/kernel", k);
  write_png(colour.path, torch::rand({3, 5, 5}, torch::kFloat64));
  expect_error(nan.path, "NaN");
  expect_error(negative.path, "positive sum");
  expect_error(cube.path, "2D array");
  expect_error(no_dataset.path, "no dataset /psf");
  expect_error(colour.path, "gray");
  expect_error("/nonexistent/psf.h5", "no such file");
  // An operator psf without a file is a config error naming the key.
  TaskConfig empty;
  empty.operator_name = OperatorType::kPsf;
  EXPECT_NE(input_error(empty, shape).find("task.psf_file"), std::string::npos);
}

TaskConfig transfer_task(const std::string& path) {
  TaskConfig task;
  task.operator_name = OperatorType::kTransferFunction;
  task.transfer_file = path;
  return task;
}

// A file holding a built-in operator's transfer function on the rfft2 grid is that operator:
// real (a symmetric kernel) or complex (an asymmetric one), odd and even sizes.
TEST(TransferFunctionFile, EqualsTheBuiltInOperator) {
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{1, 21, 17}, {3, 16, 12}, {1, 15, 10}}) {
    const int64_t h = shape[1], w = shape[2];
    TaskConfig gauss;
    gauss.operator_name = OperatorType::kGaussianBlur;
    gauss.blur_sigma = 1.3;
    gauss.kernel_size = 9;
    auto built_in = make_operator(gauss, shape);
    const auto t = built_in->transfer_function().value()[0][0].slice(1, 0, w / 2 + 1);
    TempFile real(".h5");
    write_h5(real.path, "/transfer", torch::real(t));
    auto from_real = make_operator(transfer_task(real.path), shape);
    EXPECT_EQ(from_real->kind(), "transfer_function");
    EXPECT_LT(max_gap(from_real, built_in, shape), 1e-12) << h << "x" << w;

    torch::manual_seed(9);
    const auto kernel = torch::rand({5, 7}, torch::kFloat64);
    auto asymmetric = make_convolution("psf", kernel / kernel.sum(), Boundary::kCircular, shape);
    const auto tc = asymmetric->transfer_function().value()[0][0].slice(1, 0, w / 2 + 1);
    ASSERT_GT(torch::imag(tc).abs().max().item<double>(), 1e-3);
    TempFile complex(".h5");
    write_h5(complex.path, "/transfer", torch::view_as_real(tc.contiguous()));
    auto from_complex = make_operator(transfer_task(complex.path), shape);
    EXPECT_LT(max_gap(from_complex, asymmetric, shape), 1e-12) << h << "x" << w;
    EXPECT_LT((from_complex->transfer_function().value() - asymmetric->transfer_function().value())
                  .abs()
                  .max()
                  .item<double>(),
              1e-12);
  }
}

TEST(TransferFunctionFile, BadFilesAreOneLineNamingTheFile) {
  const std::vector<int64_t> shape = {1, 16, 12};  // rfft2 grid [16, 7]
  const auto expect_error = [&](const std::string& path, const std::string& what) {
    const auto message = input_error(transfer_task(path), shape);
    EXPECT_EQ(message.rfind("task.transfer_file '" + path + "': ", 0), 0u) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  };
  const auto ones = torch::ones({16, 7}, torch::kFloat64);
  TempFile full_grid(".h5"), imaginary_dc(".h5"), nyquist(".h5"), nan(".h5"), zero(".h5"),
      png(".png");
  write_h5(full_grid.path, "/transfer", torch::ones({16, 12}, torch::kFloat64));
  auto dc = torch::stack({ones, torch::zeros_like(ones)}, -1);
  dc[0][0][1] = 0.5;
  write_h5(imaginary_dc.path, "/transfer", dc);
  // Real but not symmetric in ky on the Nyquist column kx = 6.
  auto ny = ones.clone();
  ny[3][6] = 2.0;
  write_h5(nyquist.path, "/transfer", ny);
  write_h5(nan.path, "/transfer",
           ones.clone().index_put_({4, 4}, std::numeric_limits<double>::quiet_NaN()));
  write_h5(zero.path, "/transfer", torch::zeros_like(ones));
  write_png(png.path, torch::ones({16, 7}, torch::kFloat64));
  expect_error(full_grid.path, "needs [16, 7]");
  expect_error(imaginary_dc.path, "kx = 0 is not Hermitian");
  expect_error(nyquist.path, "kx = 6 is not Hermitian");
  expect_error(nan.path, "NaN");
  expect_error(zero.path, "zero everywhere");
  expect_error(png.path, "not an HDF5 file");
}

TaskConfig mask_task(const std::string& path) {
  TaskConfig task;
  task.operator_name = OperatorType::kInpaint;
  task.mask_kind = MaskKind::kFile;
  task.mask_file = path;
  return task;
}

TEST(MaskFile, BinaryPngAndWeightedHdf5) {
  const std::vector<int64_t> shape = {3, 9, 14};
  const auto mask = random_mask(9, 14, 0.4, 5);
  TempFile png(".png"), weights(".h5");
  write_png(png.path, mask);
  auto from_png = make_operator(mask_task(png.path), shape);
  auto reference = make_linear_operator<InpaintOperatorImpl>(mask, shape);
  EXPECT_EQ(from_png->kind(), "inpaint");
  EXPECT_EQ(max_gap(from_png, reference, shape), 0.0);
  const auto weighted = torch::linspace(0, 1, 9 * 14, torch::kFloat64).view({9, 14});
  write_h5(weights.path, "/mask", weighted);
  auto from_h5 = make_operator(mask_task(weights.path), shape);
  const auto x = images(shape);
  EXPECT_LT((from_h5->forward(x) - x * weighted).abs().max().item<double>(), 1e-15);
}

TEST(MaskFile, BadFilesAreOneLineNamingTheFile) {
  const std::vector<int64_t> shape = {1, 8, 8};
  const auto expect_error = [&](const std::string& path, const std::string& what) {
    const auto message = input_error(mask_task(path), shape);
    EXPECT_EQ(message.rfind("task.mask_file '" + path + "': ", 0), 0u) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
  };
  TempFile wrong_size(".h5"), above_one(".h5"), empty(".h5"), colour(".png");
  write_h5(wrong_size.path, "/mask", torch::ones({8, 9}, torch::kFloat64));
  write_h5(above_one.path, "/mask", torch::full({8, 8}, 2.0, torch::kFloat64));
  write_h5(empty.path, "/mask", torch::zeros({8, 8}, torch::kFloat64));
  write_png(colour.path, torch::rand({3, 8, 8}, torch::kFloat64));
  expect_error(wrong_size.path, "the mask is 8x9; the image is 8x8");
  expect_error(above_one.path, "[0, 1]");
  expect_error(empty.path, "keeps no pixel");
  expect_error(colour.path, "gray");
  TaskConfig no_file;
  no_file.operator_name = OperatorType::kInpaint;
  no_file.mask_kind = MaskKind::kFile;
  EXPECT_NE(input_error(no_file, shape).find("task.mask_file"), std::string::npos);
}

}  // namespace
}  // namespace wsd
