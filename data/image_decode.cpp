#include "data/image_decode.hpp"

#include <torch/torch.h>

#include <memory>

#include "data/dataset.hpp"
#include "data/transforms.hpp"

// The one translation unit with stb_image's implementation; static, so it cannot clash with
// another copy linked into the same program.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_GIF
#define STBI_NO_PSD
#define STBI_NO_PIC
#define STBI_NO_HDR
#include <stb_image.h>

namespace wsd {

ImageInfo probe_image(const std::string& path) {
  ImageInfo info;
  info.ok = stbi_info(path.c_str(), &info.width, &info.height, &info.channels) != 0;
  if (!info.ok) {
    const char* reason = stbi_failure_reason();
    info.error = reason != nullptr ? reason : "unknown format";
  }
  return info;
}

torch::Tensor decode_image(const std::string& path) {
  int width = 0, height = 0, stored = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load(path.c_str(), &width, &height, &stored, 0), stbi_image_free);
  if (!pixels) {
    const char* reason = stbi_failure_reason();
    throw BadSampleError("'" + path +
                         "' cannot be decoded: " + (reason != nullptr ? reason : "unknown error"));
  }
  const int64_t keep = stored >= 3 ? 3 : 1;  // drop alpha
  const auto hwc = torch::from_blob(pixels.get(), {height, width, stored}, torch::kUInt8)
                       .narrow(2, 0, keep)
                       .permute({2, 0, 1});
  return bytes_to_unit_range(hwc).contiguous();
}

}  // namespace wsd
