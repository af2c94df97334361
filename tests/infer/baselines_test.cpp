// The classical baselines against dense linear algebra: for small images the exact posterior
// mean mu + C A^T (A C A^T + N)^-1 (y - A mu) is computed from explicit matrices.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/util/errors.hpp"
#include "infer/baselines/tikhonov_cg.hpp"
#include "infer/baselines/wiener_filter.hpp"
#include "tests/infer/dense_gaussian_posterior.hpp"
#include "tests/infer/gaussian_problem.hpp"
#include "tests/support/noise_configs.hpp"

namespace wsd {
namespace {

using test::edited;
using test::noise_of;

double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).norm() / b.norm()).item<double>();
}

TEST(WienerFilter, IsTheExactPosteriorMeanOfAFourierDiagonalTask) {
  auto p = test::make_gaussian_problem(test::blur_task(), 3, 9, 7, 0.1);
  const auto model = p.measurement_model();
  const auto wiener = wiener_filter(*p.op, p.y, model);
  const auto exact = test::dense_posterior(*p.op, p.y, model).mean;
  EXPECT_LT(relative_error(wiener, exact), 1e-9);
  // And it is a real improvement over the measurement.
  EXPECT_LT((wiener - p.x_true).norm().item<double>(),
            0.9 * (p.y - p.x_true).norm().item<double>());
}

// IDT's LED images are separate exposures: each draws noise of its own even under
// task.noise.channel_mode gray, so the noise reaches the reconstruction. One field shared by all
// LEDs would cancel exactly between the symmetric LED pairs of a phase object, and the
// reconstruction would not depend on the noise seed at all.
TEST(WienerFilter, IdtNoiseActsOnTheReconstructionUnderEverySeed) {
  TaskConfig idt;
  idt.operator_name = OperatorType::kIdt;
  idt.led_grid = 3;
  auto p = test::make_gaussian_problem(idt, 3, 16, 16, 0.05);
  ASSERT_EQ(p.measurement_noise.config().channel_mode, ChannelMode::kGray);
  const auto model = p.measurement_model();
  const MeasurementNoise noise(p.measurement_noise.config(), p.level);
  const auto clean = p.op->forward(p.x_true);
  const auto b = p.y - clean;
  // Every LED image has its own noise.
  EXPECT_GT((b.select(1, 0) - b.select(1, 1)).abs().max().item<double>(), 1e-3);
  const auto other = measure(*p.op, p.x_true, noise, measurement_seeds(99, 0, 3));
  const auto w = wiener_filter(*p.op, p.y, model);
  const auto w_other = wiener_filter(*p.op, other, model);
  const auto w_clean = wiener_filter(*p.op, clean, model);
  // The noise moves the estimate, and another seed moves it elsewhere.
  EXPECT_GT(relative_error(w, w_clean), 1e-2);
  EXPECT_GT(relative_error(w, w_other), 1e-2);
}

TEST(TikhonovCg, IsTheExactPosteriorMeanForOperatorsThatAreNotFourierDiagonal) {
  TaskConfig downsample;
  downsample.operator_name = OperatorType::kDownsample;
  downsample.downsample_factor = 2;
  TaskConfig inpaint;
  inpaint.operator_name = OperatorType::kInpaint;
  inpaint.mask_fraction = 0.4;
  TaskConfig zero_blur = test::blur_task();
  zero_blur.boundary = Boundary::kZero;
  for (const auto& task : {downsample, inpaint, zero_blur}) {
    auto p = test::make_gaussian_problem(task, 2, 8, 6, 0.05, 7, test::white_noise());
    const auto model = p.measurement_model();
    const auto cg = tikhonov_cg(*p.op, p.y, model, 200);
    const auto exact = test::dense_posterior(*p.op, p.y, model).mean;
    EXPECT_LT(relative_error(cg, exact), 1e-8) << p.op->kind();
  }
}

TEST(TikhonovCg, AgreesWithTheWienerFilterOnABlur) {
  auto p = test::make_gaussian_problem(test::blur_task(2.0), 4, 16, 12, 0.05);
  const auto model = p.measurement_model();
  EXPECT_LT(relative_error(tikhonov_cg(*p.op, p.y, model), wiener_filter(*p.op, p.y, model)), 1e-6);
}

// Dehazing: low-frequency GRF noise without a white part leaves P / N spanning many decades;
// the preconditioned CG still lands on the Wiener filter.
TEST(TikhonovCg, AgreesWithTheWienerFilterUnderPureGrfHaze) {
  TaskConfig identity;
  identity.operator_name = OperatorType::kIdentity;
  const auto haze = edited(noise_of(NoiseFamily::kGrf), [&](NoiseConfig& c) {
    c.grf_sigma_min = 4.0;
    c.grf_sigma_max = 4.0;
  });
  auto p = test::make_gaussian_problem(identity, 4, 32, 32, 0.3, 7, haze);
  const auto model = p.measurement_model();
  EXPECT_LT(relative_error(tikhonov_cg(*p.op, p.y, model), wiener_filter(*p.op, p.y, model)), 1e-6);
}

TEST(WienerFilter, SolvesMultiChannelIdtWithAbsorption) {
  TaskConfig idt;
  idt.operator_name = OperatorType::kIdt;
  idt.absorption = true;
  idt.led_grid = 3;
  idt.pixel_size = 0.5;
  const int64_t h = 8, w = 6;
  auto op = make_operator(idt, {2, h, w});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
  const auto [fy, fx] = rfft2_frequencies(h, w);
  GaussianStatistics stats;
  stats.mean = 0.1 * torch::randn({2, h, w}, gen, torch::kFloat64);
  const auto base = 0.3 / (1.0 + 60.0 * (fy.square() + fx.square()));
  stats.power_spectrum =
      torch::stack({0.25 * base.expand({h, w / 2 + 1}), base.expand({h, w / 2 + 1})});
  const auto model =
      GaussianMeasurementModel::make(stats, torch::full({h, w / 2 + 1}, 0.01, torch::kFloat64));
  const auto y = torch::randn({3, 9, h, w}, gen, torch::kFloat64);
  EXPECT_LT(relative_error(wiener_filter(*op, y, model), test::dense_posterior(*op, y, model).mean),
            1e-9);
}

TEST(WienerFilter, RefusesOperatorsWithoutTransferFunction) {
  TaskConfig task;
  task.operator_name = OperatorType::kDownsample;
  auto p = test::make_gaussian_problem(task, 1, 8, 8, 0.1);
  EXPECT_THROW(wiener_filter(*p.op, p.y, p.measurement_model()), InputError);
}

}  // namespace
}  // namespace wsd
