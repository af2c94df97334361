// Closed-form checks of individual operators: IDT transfer-function symmetries, the Laplacian
// of a sinusoid, blur normalisation and the Gaussian spectrum, downsampling and inpainting
// masks, and the factory's errors.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/config/config_types.hpp"
#include "core/util/errors.hpp"
#include "operators/blur_kernels.hpp"
#include "operators/convolution_operator.hpp"
#include "operators/fourier_diagonal_operator.hpp"
#include "operators/idt.hpp"
#include "operators/inpaint.hpp"
#include "operators/operator_factory.hpp"
#include "operators/operator_registry.hpp"

namespace wsd {
namespace {

// T at (-k mod n) over the last two axes.
torch::Tensor mirrored(const torch::Tensor& t) { return t.flip({-2, -1}).roll({1, 1}, {-2, -1}); }

std::string input_error(const TaskConfig& task, const std::vector<int64_t>& shape) {
  try {
    make_operator(task, shape);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(Idt, PhaseTransferIsOddAndAbsorptionTransferEvenForEveryLed) {
  for (const std::vector<int64_t>& hw : {std::vector<int64_t>{37, 31}, {32, 30}}) {
    for (const int64_t grid : {2, 3, 5}) {
      const auto opts = IdtOptions().led_grid(grid).absorption(true);
      const auto t = idt_transfer_functions(opts, hw[0], hw[1]);
      ASSERT_EQ(t.sizes().vec(), (std::vector<int64_t>{grid * grid, 2, hw[0], hw[1]}));
      const auto h_a = t.select(1, 0);
      const auto h_p = t.select(1, 1);
      for (int64_t j = 0; j < grid * grid; ++j) {
        SCOPED_TRACE("LED " + std::to_string(j) + " of " + std::to_string(grid) + "x" +
                     std::to_string(grid) + " on " + std::to_string(hw[0]) + "x" +
                     std::to_string(hw[1]));
        const auto a = h_a[j];
        const auto p = h_p[j];
        EXPECT_EQ(torch::imag(a).abs().max().item<double>(), 0.0);
        EXPECT_EQ(torch::real(p).abs().max().item<double>(), 0.0);
        EXPECT_EQ((a - mirrored(a)).abs().max().item<double>(), 0.0);  // even
        EXPECT_EQ((p + mirrored(p)).abs().max().item<double>(), 0.0);  // odd
        // DC: the object's mean absorption dims every bright-field image by 2, its mean phase
        // is invisible.
        EXPECT_DOUBLE_EQ(torch::real(a[0][0]).item<double>(), -2.0);
        EXPECT_EQ(torch::imag(p[0][0]).item<double>(), 0.0);
        // Values are those of -(P+ + P-) and i(P+ - P-): in {0, -1, -2} and {-1, 0, 1}.
        const auto ar = torch::real(a);
        EXPECT_TRUE(((ar == 0) | (ar == -1) | (ar == -2)).all().item<bool>());
        EXPECT_LE(torch::imag(p).abs().max().item<double>(), 1.0);
      }
      // Off-axis LEDs do see phase.
      EXPECT_GT(torch::imag(h_p[0]).abs().sum().item<double>(), 0.0);
    }
  }
}

TEST(Idt, LedsLieInTheBrightFieldAndCentreLedHasNoPhaseContrast) {
  const auto opts = IdtOptions().led_grid(5).na(0.4).wavelength(0.515);
  const auto leds = idt_led_frequencies(opts);
  ASSERT_EQ(leds.sizes().vec(), (std::vector<int64_t>{25, 2}));
  const double radius = 0.4 / 0.515;
  const auto norms = leds.norm(2, 1);
  EXPECT_NEAR(norms.max().item<double>(), 0.9 * radius, 1e-12);  // automatic spacing
  EXPECT_EQ(norms[12].item<double>(), 0.0);
  // LED 0 is the top-left one: negative u_x (left) and u_y (top row).
  EXPECT_LT(leds[0][0].item<double>(), 0.0);
  EXPECT_LT(leds[0][1].item<double>(), 0.0);
  const auto t = idt_transfer_functions(opts, 33, 35);
  EXPECT_EQ(t.size(1), 1);
  EXPECT_EQ(t[12].abs().max().item<double>(), 0.0);
  // The pupil of radius NA/lambda bounds the support: |u| <= 2 NA / lambda.
  const auto fy = fft_frequencies(33, 0.325).view({33, 1});
  const auto fx = fft_frequencies(35, 0.325).view({1, 35});
  const auto outside = (fy.square() + fx.square()).sqrt() > 2 * radius;
  EXPECT_EQ(t.abs().masked_select(outside.expand_as(t)).sum().item<double>(), 0.0);
}

TEST(Idt, ForwardMixesAbsorptionAndPhase) {
  TaskConfig task;
  task.operator_name = OperatorType::kIdt;
  task.led_grid = 3;
  task.absorption = true;
  auto op = make_operator(task, {2, 24, 24});
  EXPECT_EQ(op->output_shape(), (std::vector<int64_t>{9, 24, 24}));
  // A constant absorption mu gives -2 mu in every image; a constant phase gives nothing.
  auto x = torch::zeros({1, 2, 24, 24}, torch::kFloat64);
  x.select(1, 0).fill_(0.25);
  x.select(1, 1).fill_(0.7);
  const auto y = op->forward(x);
  EXPECT_LT((y + 0.5).abs().max().item<double>(), 1e-14);
}

TEST(Idt, RejectsBadSetupsNamingTheKey) {
  TaskConfig task;
  task.operator_name = OperatorType::kIdt;
  EXPECT_NE(input_error(task, {3, 32, 32}).find("task.absorption false"), std::string::npos);
  task.absorption = true;
  EXPECT_NE(input_error(task, {1, 32, 32}).find("task.absorption true"), std::string::npos);
  task.absorption = false;
  task.led_na_spacing = 0.2;  // 5x5 grid: corner at 0.2 * 2 sqrt(2) = 0.57 > NA 0.4
  EXPECT_NE(input_error(task, {1, 32, 32}).find("task.led_na_spacing 0.2"), std::string::npos);
  task.led_na_spacing = 0.0;
  task.led_grid = 1;
  EXPECT_NE(input_error(task, {1, 32, 32}).find("task.led_grid 1"), std::string::npos);
  task.absorption = true;  // one on-axis LED still measures absorption, but no phase
  EXPECT_NE(input_error(task, {2, 32, 32}).find("task.led_grid 1"), std::string::npos);
}

TEST(Laplace, SinusoidIsScaledByFourPiSquaredFrequencySquared) {
  TaskConfig task;
  task.operator_name = OperatorType::kLaplace;
  task.laplace_c = 0.3;
  task.pixel_size = 0.325;
  const int64_t h = 37, w = 31, a = 3, b = 5;
  auto op = make_operator(task, {1, h, w});
  const auto rows = torch::arange(h, torch::kFloat64).view({h, 1});
  const auto cols = torch::arange(w, torch::kFloat64).view({1, w});
  const auto phase = 2 * M_PI * (a * rows / h + b * cols / w);
  const auto x = (torch::cos(phase) + 0.5 * torch::sin(phase)).view({1, 1, h, w});
  // f = (a / H, b / W) cycles/px = (a / H, b / W) / pixel_size cycles per unit length.
  const double f2 = (std::pow(double(a) / h, 2) + std::pow(double(b) / w, 2)) /
                    (task.pixel_size * task.pixel_size);
  const double gain = task.laplace_c * 4 * M_PI * M_PI * f2;
  const auto y = op->forward(x);
  EXPECT_LT((y - gain * x).abs().max().item<double>(), 1e-12 * gain);
  // The mean is lost.
  EXPECT_LT(op->forward(torch::full({1, 1, h, w}, 0.8, torch::kFloat64)).abs().max().item<double>(),
            1e-12);
}

TEST(Blur, CircularBlursPreserveConstantsAndZeroBoundaryDarkensBorders) {
  for (const auto type :
       {OperatorType::kGaussianBlur, OperatorType::kBoxBlur, OperatorType::kMotionBlur}) {
    SCOPED_TRACE(std::string(enum_name(type)));
    TaskConfig task;
    task.operator_name = type;
    task.kernel_size = 7;
    task.motion_length = 6.0;
    task.motion_angle_deg = 20.0;
    const auto constant = torch::full({2, 3, 37, 31}, 0.6, torch::kFloat64);
    auto circular = make_operator(task, {3, 37, 31});
    EXPECT_LT((circular->forward(constant) - 0.6).abs().max().item<double>(), 1e-13);
    task.boundary = Boundary::kZero;
    auto zero = make_operator(task, {3, 37, 31});
    const auto y = zero->forward(constant);
    // Interior pixels (farther than the kernel radius from the border) keep the constant.
    const auto interior = y.narrow(2, 5, 27).narrow(3, 5, 21);
    EXPECT_LT((interior - 0.6).abs().max().item<double>(), 1e-13);
    EXPECT_LT(y[0][0][0][0].item<double>(), 0.6 - 1e-3);  // the corner sees the zero outside
  }
}

TEST(Blur, GaussianTransferFunctionMatchesContinuousSpectrum) {
  const double sigma = 2.0;
  const int64_t h = 37, w = 31;
  const auto t = kernel_transfer_function(gaussian_kernel(sigma, 21), h, w).view({h, w});
  const auto fy = fft_frequencies(h).view({h, 1});
  const auto fx = fft_frequencies(w).view({1, w});
  const auto expected = torch::exp(-2 * M_PI * M_PI * sigma * sigma * (fy.square() + fx.square()));
  // Truncation at 5 sigma leaves ~1e-6 of the mass; aliasing is ~exp(-2 pi^2 sigma^2 / 4).
  EXPECT_LT((t - expected).abs().max().item<double>(), 2e-5);
  EXPECT_LT(torch::imag(t).abs().max().item<double>(), 1e-15);
}

TEST(Blur, MotionKernelFollowsTheLine) {
  const double length = 7.5;
  const auto horizontal = motion_kernel(length, 0.0);
  const int64_t size = horizontal.size(0);
  const int64_t c = size / 2;
  EXPECT_EQ(size, 2 * 3 + 3);
  EXPECT_NEAR(horizontal.sum().item<double>(), 1.0, 1e-14);
  EXPECT_NEAR(horizontal[c].sum().item<double>(), 1.0, 1e-14);  // all mass on the centre row
  EXPECT_TRUE(torch::allclose(horizontal, horizontal.flip({0, 1}), 0, 1e-15));
  // Second moment along the line: uniform segment L^2 / 12 plus the bilinear splat's spread,
  // whose mean over uniform positions is 1/6.
  const auto d = torch::arange(size, torch::kFloat64) - static_cast<double>(c);
  const double moment = (horizontal[c] * d.square()).sum().item<double>();
  EXPECT_NEAR(moment, length * length / 12 + 1.0 / 6, 0.02);
  EXPECT_TRUE(torch::allclose(motion_kernel(length, 90.0), horizontal.t(), 0, 1e-12));
  // +45 degrees runs up and to the right: mass at (row -1, col +1), none at (row -1, col -1).
  const auto diagonal = motion_kernel(length, 45.0);
  EXPECT_GT(diagonal[c - 1][c + 1].item<double>(), 0.05);
  EXPECT_EQ(diagonal[c - 1][c - 1].item<double>(), 0.0);
}

TEST(Downsample, AveragesBlocksAndSpreadsBackScaled) {
  TaskConfig task;
  task.operator_name = OperatorType::kDownsample;
  task.downsample_factor = 3;
  auto op = make_operator(task, {3, 39, 33});
  EXPECT_EQ(op->output_shape(), (std::vector<int64_t>{3, 13, 11}));
  const auto y = op->forward(torch::full({2, 3, 39, 33}, -0.4, torch::kFloat64));
  EXPECT_LT((y + 0.4).abs().max().item<double>(), 1e-15);
  const auto back = op->adjoint(torch::ones({1, 3, 13, 11}, torch::kFloat64));
  EXPECT_LT((back - 1.0 / 9).abs().max().item<double>(), 1e-16);
  // A block's mean, not a sample: a pattern varying inside each block averages out.
  const auto checker = (torch::arange(39).view({39, 1}) + torch::arange(33).view({1, 33})) % 3;
  const auto avg = op->forward(checker.to(torch::kFloat64).expand({1, 3, 39, 33}));
  EXPECT_LT((avg - 1.0).abs().max().item<double>(), 1e-15);
  EXPECT_EQ(input_error(task, {1, 37, 31}),
            "task.downsample_factor 3 does not divide image size 37x31");
}

TEST(Inpaint, RandomMaskKeepsTheRequestedFractionAndIsSeeded) {
  TaskConfig task;
  task.operator_name = OperatorType::kInpaint;
  task.mask_fraction = 0.3;  // removed
  task.seed = 11;
  const int64_t h = 37, w = 31;
  auto op = make_operator(task, {3, h, w});
  const auto kept = op->forward(torch::ones({1, 3, h, w}, torch::kFloat64));
  // Exactly round(0.7 * H * W) pixels: within half a pixel of the fraction.
  const double fraction = kept[0][0].mean().item<double>();
  EXPECT_LE(std::abs(fraction - 0.7), 0.5 / (h * w));
  EXPECT_TRUE(torch::equal(kept[0][0], kept[0][2]));  // shared by channels
  EXPECT_TRUE(((kept == 0) | (kept == 1)).all().item<bool>());
  EXPECT_TRUE(torch::equal(random_mask(h, w, 0.7, 11), random_mask(h, w, 0.7, 11)));
  EXPECT_FALSE(torch::equal(random_mask(h, w, 0.7, 11), random_mask(h, w, 0.7, 12)));
  // Not a block: kept pixels are spread over both halves of the image.
  EXPECT_NEAR(kept[0][0].narrow(0, 0, h / 2).mean().item<double>(), 0.7, 0.05);
}

TEST(Inpaint, BoxMaskRemovesACentredHoleOfTheRequestedArea) {
  const int64_t h = 37, w = 31;
  const auto mask = box_mask(h, w, 0.25);
  const double removed = 1 - mask.mean().item<double>();
  EXPECT_LE(std::abs(removed - 0.25), double(h + w) / (h * w));
  EXPECT_EQ(mask[h / 2][w / 2].item<double>(), 0.0);
  EXPECT_EQ(mask[0][0].item<double>(), 1.0);
  EXPECT_EQ(mask[h - 1][w - 1].item<double>(), 1.0);
  // One rectangle: the removed pixels are exactly the product of the rows and columns they touch.
  const auto hole = mask == 0;
  const int64_t rows = hole.any(1).sum().item<int64_t>();
  const int64_t cols = hole.any(0).sum().item<int64_t>();
  EXPECT_EQ(hole.sum().item<int64_t>(), rows * cols);
  EXPECT_EQ(hole.any(1).to(torch::kLong).argmax().item<int64_t>(), (h - rows) / 2);
}

TEST(OperatorRegistry, ExactlyTheShiftInvariantOperatorsAreFourierDiagonal) {
  for (const auto& entry : operator_registry()) {
    const auto type = entry.task.operator_name;
    const bool shift_invariant = type != OperatorType::kDownsample &&
                                 type != OperatorType::kInpaint &&
                                 entry.task.boundary == Boundary::kCircular;
    EXPECT_EQ(entry.make(entry.shapes.front())->is_fourier_diagonal(), shift_invariant)
        << entry.name;
  }
}

// The value rules are the task schema's (core/config/config_schema.hpp): a task built in code
// gets the same one-line message, key first, as a config file does.
TEST(OperatorFactory, BadValuesNameTheirKey) {
  TaskConfig task;
  task.kernel_size = 4;
  EXPECT_EQ(input_error(task, {1, 32, 32}),
            "task.kernel_size: 4 is not an odd number >= 1 (the kernel needs a centre pixel)");
  task.kernel_size = 5;
  task.blur_sigma = 0.0;
  EXPECT_EQ(input_error(task, {1, 32, 32}), "task.blur_sigma: 0 is out of range (must be > 0)");
  task.blur_sigma = 2.0;
  task.operator_name = OperatorType::kMotionBlur;
  task.motion_length = -1.0;
  EXPECT_EQ(input_error(task, {1, 32, 32}), "task.motion_length: -1 is out of range (must be > 0)");
  task.motion_length = 5.0;
  task.operator_name = OperatorType::kInpaint;
  task.mask_fraction = 1.5;
  EXPECT_EQ(input_error(task, {1, 32, 32}), "task.mask_fraction: 1.5 is out of range [0, 1]");
  task.mask_fraction = 0.5;
  task.operator_name = OperatorType::kLaplace;
  task.pixel_size = 0.0;
  EXPECT_EQ(input_error(task, {1, 32, 32}), "task.pixel_size: 0 is out of range (must be > 0)");
  task.pixel_size = 0.5;
  task.noise.normalisation = NoiseNormalisation::kKernelSum;
  task.noise.family = NoiseFamily::kPowerLaw;
  EXPECT_NE(input_error(task, {1, 32, 32}).find("task.noise.normalisation: kernel_sum needs"),
            std::string::npos);
  task.operator_name = OperatorType::kIdentity;
  EXPECT_NE(input_error(task, {1, 32}).find("[C, H, W]"), std::string::npos);
}

}  // namespace
}  // namespace wsd
