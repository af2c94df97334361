// The frames of `wsdiff noise fit`: HDF5 arrays and image folders in image units, and one error
// naming the file for each kind of bad input.
#include "data/noise_frames.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "tests/support/error_of.hpp"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>

namespace wsd {
namespace {

namespace fs = std::filesystem;
using test::error_of;

fs::path fresh(const std::string& name) {
  const fs::path path = fs::path(::testing::TempDir()) / name;
  fs::remove_all(path);
  return path;
}

std::string h5_with(const std::string& name, const torch::Tensor& frames) {
  const std::string path = fresh(name).string();
  write_h5_atomically(path, [&](h5::File& f) { f.write_tensor("/frames", frames); });
  return path;
}

void write_png(const fs::path& path, int w, int h, int c, uint8_t value) {
  std::vector<uint8_t> pixels(static_cast<size_t>(w * h * c));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(value + i % 7);
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, c, pixels.data(), w * c), 0) << path;
}

TEST(NoiseFrames, Hdf5FramesAreInImageUnits) {
  const auto bytes = torch::tensor({0, 255, 51, 204}, torch::kUInt8).view({2, 1, 1, 2});
  const auto from_bytes = read_noise_frames(h5_with("bytes.h5", bytes), "/frames");
  EXPECT_EQ(from_bytes.frames.sizes(), (std::vector<int64_t>{2, 1, 2}));
  EXPECT_TRUE(torch::allclose(from_bytes.frames.flatten(),
                              torch::tensor({-1.0, 1.0, -0.6, 0.6}, torch::kFloat64)));
  const auto floats = torch::randn({3, 4, 5}, torch::kFloat32);
  const auto from_floats = read_noise_frames(h5_with("floats.h5", floats), "/frames");
  EXPECT_EQ(from_floats.frames.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(from_floats.frames, floats.to(torch::kFloat64)));
}

TEST(NoiseFrames, AFolderOfGrayImagesIsStackedInPathOrder) {
  const fs::path dir = fresh("frames_folder");
  fs::create_directories(dir);
  write_png(dir / "b.png", 6, 4, 1, 100);
  write_png(dir / "a.png", 6, 4, 1, 0);
  const auto frames = read_noise_frames(dir.string(), "/frames");
  ASSERT_EQ(frames.frames.sizes(), (std::vector<int64_t>{2, 4, 6}));
  EXPECT_DOUBLE_EQ(frames.frames[0][0][0].item<double>(), -1.0);  // a.png first
  EXPECT_NEAR(frames.frames[1][0][0].item<double>(), 100.0 / 127.5 - 1.0, 1e-6);
}

TEST(NoiseFrames, BadInputIsOneErrorNamingTheFile) {
  const std::string missing = fresh("no_frames_here.h5").string();
  EXPECT_NE(error_of([&] { read_noise_frames(missing, "/frames"); }).find(missing),
            std::string::npos);

  const auto wrong_rank = h5_with("rank2.h5", torch::zeros({4, 5}));
  EXPECT_NE(error_of([&] {
              read_noise_frames(wrong_rank, "/frames");
            }).find(wrong_rank + ": dataset '/frames' is [4, 5]; noise frames must be"),
            std::string::npos);
  const auto colour = h5_with("colour.h5", torch::zeros({2, 3, 4, 5}));
  EXPECT_NE(error_of([&] { read_noise_frames(colour, "/frames"); }).find(colour + ": dataset"),
            std::string::npos);
  const auto sixteen_bit = h5_with("int32.h5", torch::zeros({2, 4, 5}, torch::kInt32));
  EXPECT_NE(error_of([&] {
              read_noise_frames(sixteen_bit, "/frames");
            }).find("must be uint8 (0..255) or float"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              read_noise_frames(colour, "/nothing");
            }).find(colour + ": has no dataset '/nothing'"),
            std::string::npos);

  const fs::path mixed = fresh("mixed_frames");
  fs::create_directories(mixed);
  write_png(mixed / "a.png", 6, 4, 1, 0);
  write_png(mixed / "b.png", 6, 5, 1, 0);
  const std::string message = error_of([&] { read_noise_frames(mixed.string(), "/frames"); });
  EXPECT_NE(message.find(mixed.string() + ": frames of mixed sizes"), std::string::npos) << message;
  EXPECT_NE(message.find("4 x 6"), std::string::npos) << message;
  EXPECT_NE(message.find("5 x 6"), std::string::npos) << message;

  const fs::path rgb = fresh("rgb_frames");
  fs::create_directories(rgb);
  write_png(rgb / "a.png", 6, 4, 3, 0);
  EXPECT_NE(error_of([&] { read_noise_frames(rgb.string(), "/frames"); }).find("a.png"),
            std::string::npos);
}

}  // namespace
}  // namespace wsd
