#include "data/transforms.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/util/seeds.hpp"
#include "data/dataset.hpp"

namespace wsd {
namespace {

// A [C, H, W] ramp in [-1, 1] whose every pixel differs.
torch::Tensor ramp(int64_t c, int64_t h, int64_t w) {
  return torch::linspace(-1.0, 1.0, c * h * w).view({c, h, w});
}

TEST(Transforms, FitToSizePadsWithBlackAndCropsTheCentre) {
  const auto small = ramp(1, 28, 28);
  const auto padded = fit_to_size(small, 32);
  ASSERT_EQ(padded.sizes(), (std::vector<int64_t>{1, 32, 32}));
  EXPECT_TRUE(torch::equal(padded.narrow(1, 2, 28).narrow(2, 2, 28), small));
  EXPECT_EQ(padded[0][0][0].item<float>(), -1.0f);
  EXPECT_EQ(padded[0][31][31].item<float>(), -1.0f);
  const auto big = ramp(3, 40, 36);
  EXPECT_TRUE(torch::equal(fit_to_size(big, 32), big.narrow(1, 4, 32).narrow(2, 2, 32)));
}

TEST(Transforms, ResizeScalesTheShorterSideAndKeepsTheRange) {
  const auto constant = torch::full({3, 64, 48}, 0.25f);
  const auto out = resize_to_size(constant, 32);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_TRUE(torch::allclose(out, torch::full({3, 32, 32}, 0.25f), 1e-6, 1e-6));
  // A 2x downscale of a checkerboard of -1/1 averages to 0 (antialiased).
  const auto checker = (torch::arange(64).view({1, 64}) + torch::arange(64).view({64, 1}))
                           .remainder(2)
                           .mul(2)
                           .sub(1)
                           .to(torch::kFloat32)
                           .unsqueeze(0);
  // Away from the border, where the filter is cut off.
  const auto half = resize_to_size(checker, 32).narrow(1, 1, 30).narrow(2, 1, 30);
  EXPECT_LT(half.abs().max().item<float>(), 1e-5);
  const auto any = resize_to_size(ramp(1, 50, 70), 32);
  EXPECT_GE(any.min().item<float>(), -1.0f);
  EXPECT_LE(any.max().item<float>(), 1.0f);
}

TEST(Transforms, RandomCropIsAWindowChosenByTheBits) {
  const auto image = ramp(1, 40, 50);
  const auto a = random_crop(image, 32, 12345), b = random_crop(image, 32, 12345);
  EXPECT_TRUE(torch::equal(a, b));
  bool found = false;
  for (int64_t y = 0; y <= 8 && !found; ++y)
    for (int64_t x = 0; x <= 18 && !found; ++x)
      found = torch::equal(image.narrow(1, y, 32).narrow(2, x, 32), a);
  EXPECT_TRUE(found);
  int distinct = 0;
  for (uint64_t bits = 0; bits < 20; ++bits) {
    distinct += torch::equal(random_crop(image, 32, mix64(bits)), a) ? 0 : 1;
  }
  EXPECT_GE(distinct, 15);
  // Smaller images are padded like fit_to_size.
  EXPECT_TRUE(torch::equal(random_crop(ramp(1, 28, 28), 32, 99), fit_to_size(ramp(1, 28, 28), 32)));
}

TEST(Transforms, ChannelsFlipAndFitNone) {
  const auto gray = ramp(1, 8, 8);
  const auto rgb = to_channels(gray, 3);
  ASSERT_EQ(rgb.size(0), 3);
  EXPECT_TRUE(torch::equal(rgb[2], gray[0]));
  EXPECT_TRUE(torch::allclose(to_channels(rgb, 1), gray));

  TransformOptions o;
  o.size = 8;
  o.channels = 3;
  o.fit = DataFit::kNone;
  o.random_flip = true;
  EXPECT_TRUE(torch::equal(transform_sample(gray, o, /*key=*/2), rgb));
  EXPECT_TRUE(torch::equal(transform_sample(gray, o, /*key=*/3), rgb.flip({2})));
  try {
    transform_sample(ramp(1, 8, 9), o, 0);
    FAIL() << "expected BadSampleError";
  } catch (const BadSampleError& e) {
    EXPECT_EQ(std::string(e.what()),
              "is 8x9, expected 8x8 (data.fit: none; use center, resize or random_crop)");
  }
}

TEST(Transforms, BytesMapOntoMinusOneToOne) {
  const auto bytes = torch::tensor({0, 255, 51}, torch::kUInt8);
  const auto unit = bytes_to_unit_range(bytes);
  EXPECT_FLOAT_EQ(unit[0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(unit[1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(unit[2].item<float>(), 51 / 127.5f - 1.0f);
}

}  // namespace
}  // namespace wsd
