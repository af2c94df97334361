#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

namespace wsd::test {

// Writes n images of smooth Gaussian blobs (a learnable distribution, unlike uniform noise) as
// an uncompressed IDX file, the MNIST format the default data reader reads. Returns the bytes
// as uint8 [n, size, size].
inline torch::Tensor write_blob_idx_images(const std::filesystem::path& path, int64_t n,
                                           int64_t size, uint64_t seed) {
  std::ofstream out(path, std::ios::binary);
  auto put = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.put(static_cast<char>((v >> s) & 0xff));
  };
  put(0x803);
  put(static_cast<uint32_t>(n));
  put(static_cast<uint32_t>(size));
  put(static_cast<uint32_t>(size));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto yy = torch::arange(size, torch::kFloat32).view({1, size, 1});
  const auto xx = torch::arange(size, torch::kFloat32).view({1, 1, size});
  const auto cy = torch::rand({n, 1, 1}, gen) * size, cx = torch::rand({n, 1, 1}, gen) * size;
  const auto img = torch::exp(-((yy - cy).square() + (xx - cx).square()) / 8.0) * 255.0;
  const auto bytes = img.round().clamp(0, 255).to(torch::kUInt8).contiguous();
  out.write(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), bytes.numel());
  return bytes;
}

}  // namespace wsd::test
