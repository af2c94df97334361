// GPU-labelled tests: they run on a machine with a GPU and a CUDA build, and skip elsewhere.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/util/device.hpp"

namespace wsd {
namespace {

TEST(Gpu, FftRoundTripOnTheDevice) {
  if (!cuda_usable()) GTEST_SKIP() << "no CUDA build or no GPU visible";
  const auto x = torch::randn({8, 3, 64, 64}, torch::Device(torch::kCUDA));
  const auto back = torch::fft::irfft2(torch::fft::rfft2(x, c10::nullopt, {-2, -1}, "ortho"),
                                       std::vector<int64_t>{64, 64}, {-2, -1}, "ortho");
  EXPECT_TRUE(back.is_cuda());
  EXPECT_LT((back - x).abs().max().item<float>(), 1e-5f);
}

TEST(Gpu, ResolveDevicePicksTheLocalRankGpu) {
  if (!cuda_usable()) GTEST_SKIP() << "no CUDA build or no GPU visible";
  const torch::Device d = resolve_device("auto", 0);
  EXPECT_TRUE(d.is_cuda());
  EXPECT_EQ(d.index(), 0);
}

}  // namespace
}  // namespace wsd
