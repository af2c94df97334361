#include "data/image_folder_reader.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data/batch_loader.hpp"
#include "data/patch_dataset.hpp"
#include "tests/data/data_files.hpp"
#include "tests/support/error_of.hpp"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>

namespace wsd {
namespace {

using test::fresh_dir;
namespace fs = std::filesystem;

// Pixel (y, x, c) = (y * 16 + x * 3 + c * 40) % 256: distinct per position and channel.
std::vector<uint8_t> pattern(int h, int w, int c) {
  std::vector<uint8_t> p(static_cast<size_t>(h * w * c));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k)
        p[static_cast<size_t>((y * w + x) * c + k)] =
            static_cast<uint8_t>((y * 16 + x * 3 + k * 40) % 256);
  return p;
}

void write_png(const fs::path& path, int h, int w, int c) {
  const auto p = pattern(h, w, c);
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, c, p.data(), w * c), 0) << path;
}

float unit(int byte) { return static_cast<float>(byte / 127.5 - 1.0); }

using test::error_of;

TEST(ImageFolderDataset, ReadsGrayAndRgbFilesRecursivelyInSortedOrder) {
  const auto dir = fresh_dir("folder_mixed");
  fs::create_directories(dir / "b" / "deeper");
  write_png(dir / "b" / "deeper" / "z.png", 8, 10, 1);  // gray
  write_png(dir / "a.PNG", 6, 5, 3);                    // RGB, upper-case extension
  write_png(dir / "b" / "rgba.png", 4, 4, 4);           // alpha is dropped
  test::write_file(dir / "notes.txt", {'h', 'i'});      // not an image: ignored
  const auto flat = std::vector<uint8_t>(12 * 12 * 3, 200);
  ASSERT_NE(stbi_write_jpg((dir / "c.jpg").c_str(), 12, 12, 3, flat.data(), 95), 0);

  const ImageFolderDataset ds(dir.string(), {});
  ASSERT_EQ(ds.size(), 4);
  EXPECT_EQ(ds.sample_name(0), "'" + (dir / "a.PNG").string() + "' (image 0)");
  EXPECT_EQ(ds.sample_name(1), "'" + (dir / "b" / "deeper" / "z.png").string() + "' (image 1)");
  EXPECT_EQ(ds.sample_name(2), "'" + (dir / "b" / "rgba.png").string() + "' (image 2)");

  const auto rgb = ds.get(0).image;
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{3, 6, 5}));
  EXPECT_NEAR(rgb[2][4][3].item<float>(), unit((4 * 16 + 3 * 3 + 2 * 40) % 256), 1e-6);
  const auto gray = ds.get(1).image;
  ASSERT_EQ(gray.sizes(), (std::vector<int64_t>{1, 8, 10}));
  EXPECT_NEAR(gray[0][7][9].item<float>(), unit((7 * 16 + 9 * 3) % 256), 1e-6);
  EXPECT_EQ(ds.get(2).image.size(0), 3);
  EXPECT_EQ(ds.get(2).label, -1);
  // JPEG is lossy: a flat image comes back within a few grey levels.
  const auto jpg = ds.get(3).image;
  ASSERT_EQ(jpg.sizes(), (std::vector<int64_t>{3, 12, 12}));
  EXPECT_NEAR(jpg.mean().item<float>(), unit(200), 3.0 / 127.5);
}

TEST(ImageFolderDataset, MissingEmptyAndUnreadableInputsAreNamed) {
  const auto dir = fresh_dir("folder_bad");
  EXPECT_NE(error_of([&] {
              ImageFolderDataset((dir / "none").string(), {});
            }).find("'" + (dir / "none").string() + "' does not exist"),
            std::string::npos);
  test::write_file(dir / "readme.txt", {'x'});
  EXPECT_NE(error_of([&] {
              ImageFolderDataset(dir.string(), {});
            }).find("'" + dir.string() + "' contains no images"),
            std::string::npos);

  write_png(dir / "good.png", 8, 8, 1);
  test::write_file(dir / "junk.png", std::vector<uint8_t>(64, 7));
  const std::string junk = error_of([&] { ImageFolderDataset(dir.string(), {}); });
  EXPECT_NE(junk.find("'" + (dir / "junk.png").string() + "' is not a readable image"),
            std::string::npos)
      << junk;

  FolderOptions skip;
  skip.skip_bad = true;
  const ImageFolderDataset skipped(dir.string(), skip);
  EXPECT_EQ(skipped.size(), 1);
  EXPECT_EQ(skipped.skipped(), 1);
  EXPECT_NE(skipped.describe().find("1 skipped"), std::string::npos) << skipped.describe();
}

TEST(ImageFolderDataset, SizeRequirementsAreCheckedFromTheHeaders) {
  const auto dir = fresh_dir("folder_size");
  write_png(dir / "a.png", 32, 32, 1);
  write_png(dir / "b.png", 30, 32, 1);
  FolderOptions exact;
  exact.exact_size = 32;
  const std::string e = error_of([&] { ImageFolderDataset(dir.string(), exact); });
  EXPECT_NE(e.find("'" + (dir / "b.png").string() + "' is 30x32, expected 32x32 (data.fit: none)"),
            std::string::npos)
      << e;
  FolderOptions patches;
  patches.min_size = 31;
  EXPECT_NE(error_of([&] {
              ImageFolderDataset(dir.string(), patches);
            }).find("smaller than data.patch_size 31"),
            std::string::npos);
}

TEST(ImageFolderDataset, TruncatedFileIsABadSampleNamingTheFile) {
  const auto dir = fresh_dir("folder_truncated");
  write_png(dir / "ok.png", 16, 16, 3);
  write_png(dir / "cut.png", 16, 16, 3);
  auto bytes = test::read_file(dir / "cut.png");
  bytes.resize(60);  // the header survives, the pixel data does not
  test::write_file(dir / "cut.png", bytes);
  const ImageFolderDataset ds(dir.string(), {});
  ASSERT_EQ(ds.size(), 2);  // the header is readable
  try {
    ds.get(0);
    FAIL() << "expected BadSampleError";
  } catch (const BadSampleError& e) {
    EXPECT_NE(std::string(e.what()).find("'" + (dir / "cut.png").string() + "' cannot be decoded"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(ds.get(1).image.size(0), 3);
}

TEST(PatchDataset, PatchesAreFixedBySeedAndIndexAndCutFromTheImage) {
  const auto dir = fresh_dir("folder_patches");
  write_png(dir / "big0.png", 40, 50, 1);
  write_png(dir / "big1.png", 45, 41, 3);
  const auto images = std::make_shared<ImageFolderDataset>(dir.string(), FolderOptions{});
  const PatchDataset a(images, 16, 4, /*seed=*/7), again(images, 16, 4, 7), other(images, 16, 4, 8);
  ASSERT_EQ(a.size(), 8);
  EXPECT_NE(a.sample_name(5).find("big1.png' (image 1) patch 1"), std::string::npos);
  int differing = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    const auto patch = a.get(i).image;
    ASSERT_EQ(patch.sizes(), (std::vector<int64_t>{i < 4 ? 1 : 3, 16, 16}));
    EXPECT_TRUE(torch::equal(patch, again.get(i).image)) << i;
    differing += torch::equal(patch, other.get(i).image) ? 0 : 1;
    // The patch is a window of its image: find where.
    const auto image = images->get(i / 4).image;
    bool found = false;
    for (int64_t y = 0; y + 16 <= image.size(1) && !found; ++y)
      for (int64_t x = 0; x + 16 <= image.size(2) && !found; ++x)
        found = torch::equal(image.narrow(1, y, 16).narrow(2, x, 16), patch);
    EXPECT_TRUE(found) << i;
  }
  EXPECT_GE(differing, 6);  // another seed moves (almost) every patch

  const PatchDataset too_big(images, 42, 1, 0);
  EXPECT_THROW(too_big.get(1), BadSampleError);
}

}  // namespace
}  // namespace wsd
