#include "data/idx_reader.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims,
                               const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes;
  auto put = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<uint8_t>(v >> s));
  };
  put(magic);
  for (const uint32_t d : dims) put(d);
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

void write_plain(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

void write_gz(const fs::path& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Three 2x3 images whose pixels are 0, 127.5-ish and 255 map to -1, ~0 and 1.
std::vector<uint8_t> pixels() {
  std::vector<uint8_t> p(3 * 2 * 3);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>((i * 15) % 256);
  p[0] = 0;
  p[1] = 255;
  return p;
}

TEST(IdxDataset, ReadsGzippedImagesAndLabels) {
  const fs::path dir = fresh_dir("idx_gz");
  write_gz(dir / "train-images-idx3-ubyte.gz", idx_bytes(0x803, {3, 2, 3}, pixels()));
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_bytes(0x801, {3}, {7, 0, 9}));
  const IdxDataset ds(dir.string(), "train");
  ASSERT_EQ(ds.size(), 3);
  const Sample s = ds.get(0);
  EXPECT_EQ(s.image.sizes(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_FLOAT_EQ(s.image[0][0][0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(s.image[0][0][1].item<float>(), 1.0f);
  EXPECT_NEAR(s.image[0][1][2].item<float>(), 75.0 / 127.5 - 1.0, 1e-6);
  EXPECT_EQ(s.label, 7);
  EXPECT_EQ(ds.get(2).label, 9);
}

TEST(IdxDataset, ReadsUncompressedTestSplitWithoutLabels) {
  const fs::path dir = fresh_dir("idx_plain");
  write_plain(dir / "t10k-images-idx3-ubyte", idx_bytes(0x803, {3, 2, 3}, pixels()));
  const IdxDataset ds(dir.string(), "test");
  EXPECT_EQ(ds.size(), 3);
  EXPECT_EQ(ds.get(1).label, -1);
}

void expect_error(const fs::path& dir, const std::string& fragment) {
  try {
    IdxDataset ds(dir.string(), "train");
    FAIL() << "expected InputError with '" << fragment << "'";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(IdxDataset, BadFilesAreNamedInTheError) {
  fs::path dir = fresh_dir("idx_magic");
  write_plain(dir / "train-images-idx3-ubyte", idx_bytes(0x801, {3, 2, 3}, pixels()));
  expect_error(dir, "wrong magic number");

  dir = fresh_dir("idx_truncated");
  auto bytes = idx_bytes(0x803, {3, 2, 3}, pixels());
  bytes.resize(bytes.size() - 5);
  write_gz(dir / "train-images-idx3-ubyte.gz", bytes);
  expect_error(dir, (dir / "train-images-idx3-ubyte.gz").string() + "' is truncated");

  dir = fresh_dir("idx_labels");
  write_plain(dir / "train-images-idx3-ubyte", idx_bytes(0x803, {3, 2, 3}, pixels()));
  write_plain(dir / "train-labels-idx1-ubyte", idx_bytes(0x801, {2}, {1, 2}));
  expect_error(dir, "2 labels for 3 images");

  expect_error(fresh_dir("idx_empty"), "dataset-fashion-mnist");
}

// The project's default dataset, from the Debian package the set-up scripts install.
TEST(IdxDataset, ReadsTheInstalledFashionMnist) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  ASSERT_TRUE(fs::exists(dir + "/t10k-images-idx3-ubyte.gz")) << "install dataset-fashion-mnist";
  const IdxDataset ds(dir, "test");
  EXPECT_EQ(ds.size(), 10000);
  const Sample s = ds.get(123);
  EXPECT_EQ(s.image.sizes(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_GE(s.image.min().item<float>(), -1.0f);
  EXPECT_LE(s.image.max().item<float>(), 1.0f);
  EXPECT_GE(s.label, 0);
  EXPECT_LE(s.label, 9);
}

}  // namespace
}  // namespace wsd
