#include "data/hdf5_reader.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "data/batch_loader.hpp"
#include "tests/data/data_files.hpp"
#include "tests/support/error_of.hpp"

namespace wsd {
namespace {

using test::fresh_dir;
using test::write_h5;

using test::error_of;

// uint8 N x C x H x W with value (n * 11 + c * 5 + y * 3 + x) % 256.
std::vector<uint8_t> nchw_bytes(int n, int c, int h, int w) {
  std::vector<uint8_t> v;
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < c; ++k)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          v.push_back(static_cast<uint8_t>((i * 11 + k * 5 + y * 3 + x) % 256));
  return v;
}

TEST(Hdf5Dataset, ReadsUint8NchwWithLabels) {
  const auto file = fresh_dir("h5_nchw") / "train.h5";
  const auto bytes = nchw_bytes(5, 3, 6, 7);
  write_h5(file, "/images", H5T_NATIVE_UINT8, {5, 3, 6, 7}, bytes.data());
  const std::vector<int32_t> labels = {4, 3, 2, 1, 0};
  write_h5(file, "/labels", H5T_NATIVE_INT32, {5}, labels.data(), /*append=*/true);
  Hdf5Options o;
  o.labels = "/labels";
  const Hdf5Dataset ds(file.string(), o);
  ASSERT_EQ(ds.size(), 5);
  const auto expected =
      torch::from_blob(const_cast<uint8_t*>(bytes.data()), {5, 3, 6, 7}, torch::kUInt8)
          .to(torch::kFloat32)
          .div(127.5)
          .sub(1.0);
  for (int64_t i = 0; i < 5; ++i) {
    const Sample s = ds.get(i);
    EXPECT_TRUE(torch::allclose(s.image, expected[i])) << i;
    EXPECT_EQ(s.label, 4 - i);
  }
  EXPECT_EQ(ds.sample_name(3), "'" + file.string() + "' /images[3]");
}

TEST(Hdf5Dataset, ReadsFloatNhwcAndGrayArraysInEitherRange) {
  const auto dir = fresh_dir("h5_float");
  // N x H x W x C float in [0, 1]: value (n, y, x, c) = (n + y + x + c) / 20.
  std::vector<float> values;
  for (int n = 0; n < 2; ++n)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x)
        for (int c = 0; c < 3; ++c) values.push_back(static_cast<float>(n + y + x + c) / 20.0f);
  write_h5(dir / "nhwc.h5", "/data/x", H5T_NATIVE_FLOAT, {2, 4, 5, 3}, values.data());
  Hdf5Options o;
  o.dataset = "/data/x";
  const Hdf5Dataset unit_range((dir / "nhwc.h5").string(), o);
  const auto image = unit_range.get(1).image;
  ASSERT_EQ(image.sizes(), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_NEAR(image[2][3][4].item<float>(), 2.0f * (1 + 3 + 4 + 2) / 20.0f - 1.0f, 1e-6);
  o.float_range = FloatRange::kSymmetric;
  const Hdf5Dataset symmetric((dir / "nhwc.h5").string(), o);
  EXPECT_FLOAT_EQ(symmetric.get(1).image[2][3][4].item<float>(), (1 + 3 + 4 + 2) / 20.0f);

  const std::vector<double> gray = {0.0, 0.5, 1.0, 0.25, 1.0, 0.0, 0.5, 0.75};
  write_h5(dir / "gray.h5", "/images", H5T_NATIVE_DOUBLE, {2, 2, 2}, gray.data());
  const Hdf5Dataset g((dir / "gray.h5").string(), {});
  ASSERT_EQ(g.get(1).image.sizes(), (std::vector<int64_t>{1, 2, 2}));
  EXPECT_FLOAT_EQ(g.get(1).image[0][1][1].item<float>(), 0.5f);
}

TEST(Hdf5Dataset, NanPixelsAreABadSampleNamingFileAndIndex) {
  const auto file = fresh_dir("h5_nan") / "nan.h5";
  std::vector<float> values(3 * 1 * 4 * 4, 0.5f);
  values[2 * 16 + 5] = std::numeric_limits<float>::quiet_NaN();
  write_h5(file, "/images", H5T_NATIVE_FLOAT, {3, 1, 4, 4}, values.data());
  const Hdf5Dataset ds(file.string(), {});
  EXPECT_NO_THROW(ds.get(1));
  try {
    ds.get(2);
    FAIL() << "expected BadSampleError";
  } catch (const BadSampleError& e) {
    EXPECT_EQ(std::string(e.what()),
              "'" + file.string() + "' /images[2] contains NaN or infinite values");
  }
}

// Float images in another range than data.float_range declares (e.g. [0, 255] where [0, 1] is
// expected) are a bad sample naming the file, the values and the key, not silent training data.
TEST(Hdf5Dataset, FloatsOutsideTheDeclaredRangeAreABadSample) {
  const auto file = fresh_dir("h5_range") / "bytes_as_floats.h5";
  std::vector<float> values(2 * 1 * 4 * 4, 128.0f);
  values[3] = 255.0f;
  values[16] = 1.0005f;  // rounding at the end of the range is legal
  write_h5(file, "/images", H5T_NATIVE_FLOAT, {2, 1, 4, 4}, values.data());
  const Hdf5Dataset unit(file.string(), {});
  const std::string message = error_of<BadSampleError>([&] { unit.get(0); });
  EXPECT_NE(message.find("'" + file.string() + "' /images[0] holds values from 128"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("outside the [0, 1] of data.float_range unit"), std::string::npos)
      << message;
  std::vector<float> symmetric_values(16, -0.5f);
  symmetric_values[0] = 1.5f;
  const auto beyond = file.parent_path() / "beyond_one.h5";
  write_h5(beyond, "/images", H5T_NATIVE_FLOAT, {1, 1, 4, 4}, symmetric_values.data());
  Hdf5Options o;
  o.float_range = FloatRange::kSymmetric;
  const Hdf5Dataset symmetric(beyond.string(), o);
  EXPECT_NE(error_of<BadSampleError>([&] {
              symmetric.get(0);
            }).find("outside the [-1, 1] of data.float_range symmetric"),
            std::string::npos);
}

TEST(Hdf5Dataset, UnsupportedFilesAndArraysAreNamed) {
  const auto dir = fresh_dir("h5_bad");
  const auto bytes = nchw_bytes(2, 2, 4, 4);
  write_h5(dir / "two.h5", "/images", H5T_NATIVE_UINT8, {2, 2, 4, 4}, bytes.data());
  Hdf5Options nchw;
  nchw.layout = Hdf5Layout::kNchw;
  EXPECT_NE(error_of([&] {
              Hdf5Dataset((dir / "two.h5").string(), nchw);
            }).find("2 channels, expected 1 or 3"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { Hdf5Dataset((dir / "two.h5").string(), {}); }).find("set data.hdf5_layout"),
      std::string::npos);
  Hdf5Options other;
  other.dataset = "/pixels";
  const std::string missing = error_of([&] { Hdf5Dataset((dir / "two.h5").string(), other); });
  EXPECT_EQ(missing,
            "'" + (dir / "two.h5").string() + "' has no dataset '/pixels' (set data.hdf5_dataset)");

  const std::vector<int16_t> shorts(2 * 4 * 4, 1);
  write_h5(dir / "int16.h5", "/images", H5T_NATIVE_INT16, {2, 4, 4}, shorts.data());
  EXPECT_NE(error_of([&] {
              Hdf5Dataset((dir / "int16.h5").string(), {});
            }).find("neither uint8 nor float"),
            std::string::npos);

  test::write_file(dir / "fake.h5", std::vector<uint8_t>(100, 3));
  EXPECT_NE(error_of([&] {
              Hdf5Dataset((dir / "fake.h5").string(), {});
            }).find("'" + (dir / "fake.h5").string() + "' is not a readable HDF5 file"),
            std::string::npos);
}

// Worker threads read through their own handles under the library lock: any number of them
// yields the same batches as reading on the calling thread.
TEST(Hdf5Dataset, ThreadedLoadingMatchesSingleThreaded) {
  const auto file = fresh_dir("h5_threads") / "train.h5";
  const auto bytes = nchw_bytes(48, 1, 8, 8);
  write_h5(file, "/images", H5T_NATIVE_UINT8, {48, 1, 8, 8}, bytes.data());
  const auto ds = std::make_shared<Hdf5Dataset>(file.string(), Hdf5Options{});
  DataConfig data;
  data.image_size = 8;
  data.random_flip = true;
  data.workers = 0;
  LoaderRuntime runtime;
  runtime.batch_size = 4;
  BatchLoader serial(ds, data, runtime);
  data.workers = 3;
  data.prefetch = 3;
  BatchLoader threaded(ds, data, runtime);
  for (int b = 0; b < 30; ++b) ASSERT_TRUE(torch::equal(serial.next(), threaded.next())) << b;
}

}  // namespace
}  // namespace wsd
