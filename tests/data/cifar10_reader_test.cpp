#include "data/cifar10_reader.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/data/data_files.hpp"
#include "tests/support/error_of.hpp"

namespace wsd {
namespace {

using test::cifar_pixel;
using test::fresh_dir;
using test::write_cifar;

std::string error_of(const std::string& path, const std::string& split) {
  return test::error_of([&] { Cifar10Dataset ds(path, split); });
}

// Pixel p in [-1, 1]; float32 arithmetic agrees with this to within 1e-6.
float expected(int64_t record, int64_t c, int64_t y, int64_t x) {
  return static_cast<float>(cifar_pixel(record, c, y, x) / 127.5 - 1.0);
}

TEST(Cifar10Dataset, ReadsChannelPlanarRecordsOfEveryTrainingBatchInOrder) {
  const auto dir = fresh_dir("cifar_dir");
  // data_batch_10 must follow data_batch_2: files are ordered by their number.
  write_cifar(dir / "data_batch_1.bin", {3, 9}, 0);
  write_cifar(dir / "data_batch_2.bin", {0}, 2);
  write_cifar(dir / "data_batch_10.bin", {5, 6}, 3);
  write_cifar(dir / "test_batch.bin", {1}, 100);
  const Cifar10Dataset train(dir.string(), "train");
  ASSERT_EQ(train.size(), 5);
  for (int64_t i = 0; i < 5; ++i) {
    const Sample s = train.get(i);
    ASSERT_EQ(s.image.sizes(), (std::vector<int64_t>{3, 32, 32}));
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_NEAR(s.image[c][0][0].item<float>(), expected(i, c, 0, 0), 1e-6) << i << " " << c;
      EXPECT_NEAR(s.image[c][5][17].item<float>(), expected(i, c, 5, 17), 1e-6) << i << " " << c;
    }
  }
  EXPECT_EQ(train.get(0).label, 3);
  EXPECT_EQ(train.get(1).label, 9);
  EXPECT_EQ(train.get(2).label, 0);
  EXPECT_EQ(train.get(4).label, 6);
  EXPECT_EQ(train.sample_name(3), "'" + (dir / "data_batch_10.bin").string() + "' record 0");

  const Cifar10Dataset test(dir.string(), "test");
  ASSERT_EQ(test.size(), 1);
  EXPECT_EQ(test.get(0).label, 1);
  EXPECT_NEAR(test.get(0).image[2][31][31].item<float>(), expected(100, 2, 31, 31), 1e-6);
}

TEST(Cifar10Dataset, ReadsOneFileGivenDirectly) {
  const auto dir = fresh_dir("cifar_file");
  write_cifar(dir / "any.bin", {7, 8, 9});
  const Cifar10Dataset ds((dir / "any.bin").string(), "train");
  EXPECT_EQ(ds.size(), 3);
  EXPECT_EQ(ds.get(2).label, 9);
}

TEST(Cifar10Dataset, BadFilesAreNamedInTheError) {
  const auto dir = fresh_dir("cifar_bad");
  write_cifar(dir / "data_batch_1.bin", {1, 2});
  auto bytes = test::read_file(dir / "data_batch_1.bin");
  bytes.resize(bytes.size() - 100);
  test::write_file(dir / "data_batch_1.bin", bytes);
  const std::string truncated = error_of(dir.string(), "train");
  EXPECT_NE(truncated.find("'" + (dir / "data_batch_1.bin").string() + "' is truncated"),
            std::string::npos)
      << truncated;
  EXPECT_NE(truncated.find("6046 bytes"), std::string::npos) << truncated;

  // CIFAR-100 records carry two label bytes: the size gives it away.
  test::write_file(dir / "data_batch_1.bin", std::vector<uint8_t>(2 * 3074, 1));
  EXPECT_NE(error_of(dir.string(), "train").find("not CIFAR-10 binary"), std::string::npos);

  write_cifar(dir / "data_batch_1.bin", {1, 200});
  const std::string label = error_of(dir.string(), "train");
  EXPECT_NE(label.find("data_batch_1.bin' record 1 has label 200"), std::string::npos) << label;

  test::write_file(dir / "empty.bin", {});
  EXPECT_NE(error_of((dir / "empty.bin").string(), "train").find("0 bytes"), std::string::npos);

  const std::string missing_test = error_of(dir.string(), "test");
  EXPECT_NE(missing_test.find("no 'test_batch.bin' in '" + dir.string() + "'"), std::string::npos)
      << missing_test;
  const std::string missing = error_of((dir / "nowhere").string(), "train");
  EXPECT_NE(missing.find("'" + (dir / "nowhere").string() + "' does not exist"), std::string::npos)
      << missing;
}

}  // namespace
}  // namespace wsd
