// PSNR and SSIM against numbers scikit-image computed for the same image pairs
// (tests/fixtures/metric_reference.h5, made by scripts/fixtures/make_metric_reference.py).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include "core/io/h5_file.hpp"
#include "core/util/errors.hpp"
#include "infer/metrics/psnr.hpp"
#include "infer/metrics/ssim.hpp"
#include "tests/support/test_data.hpp"

namespace wsd {
namespace {

class MetricReference : public ::testing::TestWithParam<const char*> {};

TEST_P(MetricReference, PsnrAndSsimMatchScikitImage) {
  const h5::File file = h5::File::open_read(test::fixture("metric_reference.h5"));
  const std::string group = std::string("/") + GetParam();
  const auto estimate = file.read_tensor(group + "/estimate");
  const auto reference = file.read_tensor(group + "/reference");
  const auto expected_psnr = file.read_tensor(group + "/psnr");
  const auto expected_ssim = file.read_tensor(group + "/ssim");
  // The metrics run on float32 inputs as a user's batch would be.
  const auto got_psnr = psnr(estimate.to(torch::kFloat32), reference.to(torch::kFloat32));
  const auto got_ssim = ssim(estimate.to(torch::kFloat32), reference.to(torch::kFloat32));
  EXPECT_LT((got_psnr - expected_psnr).abs().max().item<double>(), 1e-4) << got_psnr;
  EXPECT_LT((got_ssim - expected_ssim).abs().max().item<double>(), 1e-5) << got_ssim;
  // In float64 the agreement is exact up to rounding.
  EXPECT_LT((ssim(estimate, reference) - expected_ssim).abs().max().item<double>(), 1e-10);
}

INSTANTIATE_TEST_SUITE_P(Cases, MetricReference,
                         ::testing::Values("gray_32x32", "rgb_32x32", "gray_37x31"));

TEST(Ssim, IdenticalImagesScoreOneAndStructureLossScoresLess) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto x = torch::rand({2, 3, 16, 16}, gen, torch::kFloat64) * 2 - 1;
  EXPECT_NEAR(ssim(x, x).min().item<double>(), 1.0, 1e-12);
  const auto shuffled = x.flip({3});
  EXPECT_LT(ssim(shuffled, x).max().item<double>(), 0.5);
}

TEST(Ssim, TooSmallImagesAreAnInputError) {
  const auto x = torch::zeros({1, 1, 10, 32});
  EXPECT_THROW(ssim(x, x), InputError);
}

}  // namespace
}  // namespace wsd
