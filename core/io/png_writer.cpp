#include "core/io/png_writer.hpp"

#include "core/io/bitmap_font.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>

namespace wsd {

torch::Tensor make_image_grid(const torch::Tensor& images, int64_t columns, double separator) {
  TORCH_CHECK(images.dim() == 4, "image grid: expected [N, C, H, W], got ", images.sizes());
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  TORCH_CHECK(n > 0 && (c == 1 || c == 3), "image grid: need N > 0 and 1 or 3 channels");
  const int64_t cols = columns > 0 ? columns : static_cast<int64_t>(std::ceil(std::sqrt(n)));
  const int64_t rows = (n + cols - 1) / cols;
  auto grid = torch::full({c, rows * (h + 1) + 1, cols * (w + 1) + 1}, separator, torch::kFloat32);
  const auto src = images.detach().to(torch::kCPU, torch::kFloat32).clamp(-1.0, 1.0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = 1 + (i / cols) * (h + 1), left = 1 + (i % cols) * (w + 1);
    grid.narrow(1, top, h).narrow(2, left, w).copy_(src[i]);
  }
  return grid;
}

namespace {

// `mask` (0/1, [h, w]) drawn into `region` [C, h, w] in white, clipped to the region.
void draw_text(torch::Tensor region, const torch::Tensor& mask) {
  const int64_t h = std::min(region.size(1), mask.size(0));
  const int64_t w = std::min(region.size(2), mask.size(1));
  if (h <= 0 || w <= 0) return;
  auto target = region.narrow(1, 0, h).narrow(2, 0, w);
  const auto m = mask.narrow(0, 0, h).narrow(1, 0, w);
  target.copy_(torch::where(m > 0, torch::ones_like(m), target[0]).expand_as(target));
}

void draw_tile_labels(torch::Tensor& grid, const torch::Tensor& tiles,
                      const ImageGridOptions& options) {
  if (options.tile_labels.empty()) return;
  const int64_t n = tiles.size(0), h = tiles.size(2), w = tiles.size(3);
  const int64_t cols =
      options.columns > 0 ? options.columns : static_cast<int64_t>(std::ceil(std::sqrt(n)));
  for (int64_t i = 0; i < n && i < static_cast<int64_t>(options.tile_labels.size()); ++i) {
    const auto& label = options.tile_labels[static_cast<size_t>(i)];
    if (label.empty()) continue;
    int64_t text = ImageGridOptions::kTextScale;
    auto mask = render_text(label, text);
    if (mask.size(1) + 2 * text > w) mask = render_text(label, text = 1);
    const int64_t box_h = std::min(h, mask.size(0) + 2 * text);
    const int64_t box_w = std::min(w, mask.size(1) + text);
    const int64_t top = 1 + (i / cols) * (h + 1) + h - box_h, left = 1 + (i % cols) * (w + 1);
    auto box = grid.narrow(1, top, box_h).narrow(2, left, box_w);
    box.fill_(-1.0f);
    draw_text(box.narrow(1, text, box_h - text).narrow(2, text, box_w - text), mask);
  }
}

// The caption's lines: broken after its commas so that each fits `chars` characters.
std::vector<std::string> wrap(const std::string& caption, size_t chars) {
  std::vector<std::string> lines{""};
  size_t start = 0;
  while (start < caption.size()) {
    size_t end = caption.find(", ", start);
    end = end == std::string::npos ? caption.size() : end + 2;
    const std::string part = caption.substr(start, end - start);
    if (!lines.back().empty() && lines.back().size() + part.size() > chars) lines.push_back("");
    lines.back() += part;
    start = end;
  }
  return lines;
}

torch::Tensor with_caption(const torch::Tensor& grid, const std::string& caption) {
  if (caption.empty()) return grid;
  const int64_t text = ImageGridOptions::kTextScale;
  const int64_t line = (kGlyphHeight + 3) * text;
  const auto chars = static_cast<size_t>(
      std::max<int64_t>(1, (grid.size(2) - 2 * text) / ((kGlyphWidth + 1) * text)));
  const auto lines = wrap(caption, chars);
  auto band = torch::full(
      {grid.size(0), line * static_cast<int64_t>(lines.size()) + 2 * text, grid.size(2)}, -1.0f);
  for (size_t i = 0; i < lines.size(); ++i) {
    draw_text(band.narrow(1, 2 * text + static_cast<int64_t>(i) * line, kGlyphHeight * text)
                  .narrow(2, text, band.size(2) - text),
              render_text(lines[i], text));
  }
  return torch::cat({grid, band}, 1);
}

}  // namespace

torch::Tensor render_image_grid(const torch::Tensor& images, const ImageGridOptions& options) {
  TORCH_CHECK(images.dim() == 4, "image grid: expected [N, C, H, W], got ", images.sizes());
  const int64_t tile = std::max(images.size(2), images.size(3));
  size_t longest = 0;
  for (const auto& label : options.column_labels) longest = std::max(longest, label.size());
  // Automatic magnification also makes every label fit its column at the legible text size.
  const int64_t text = ImageGridOptions::kTextScale;
  const int64_t wanted =
      std::max<int64_t>(ImageGridOptions::kReadableTile,
                        static_cast<int64_t>(longest) * (kGlyphWidth + 1) * text + 2);
  const int64_t scale =
      options.scale > 0 ? options.scale : std::max<int64_t>(1, (wanted + tile - 1) / tile);
  auto scaled = images.detach().to(torch::kCPU, torch::kFloat32);
  if (scale > 1) scaled = scaled.repeat_interleave(scale, 2).repeat_interleave(scale, 3);
  auto grid = make_image_grid(scaled, options.columns, /*separator=*/0.0);
  draw_tile_labels(grid, scaled, options);
  grid = with_caption(grid, options.caption);
  if (options.column_labels.empty()) return grid;

  // A header band above the grid: each label starts at its column, in the largest text size
  // (2 or 1) at which every label fits its column.
  const int64_t width = scaled.size(3);
  const int64_t text_scale =
      static_cast<int64_t>(longest) * (kGlyphWidth + 1) * 2 <= width - 2 ? 2 : 1;
  const int64_t band = (kGlyphHeight + 4) * text_scale;
  auto header = torch::full({grid.size(0), band, grid.size(2)}, -1.0f);
  for (size_t i = 0; i < options.column_labels.size(); ++i) {
    const int64_t left = 1 + static_cast<int64_t>(i) * (width + 1) + text_scale;
    if (left >= header.size(2)) break;
    auto mask = render_text(options.column_labels[i], text_scale);
    const int64_t w = std::min({mask.size(1), width - text_scale, header.size(2) - left});
    if (w <= 0) continue;
    mask = mask.narrow(1, 0, w);
    auto region = header.narrow(1, 2 * text_scale, mask.size(0)).narrow(2, left, w);
    region.copy_(torch::where(mask > 0, torch::ones_like(mask), region[0]).expand_as(region));
  }
  return torch::cat({header, grid}, 1);
}

torch::Tensor picture_channels(const torch::Tensor& images) {
  const int64_t c = images.size(1);
  return c == 1 || c == 3 ? images : images.slice(1, 0, 1);
}

void write_image_grid(const torch::Tensor& images, const std::string& path,
                      const ImageGridOptions& options) {
  const auto grid = render_image_grid(images, options);
  const auto bytes = ((grid + 1.0) * 127.5)
                         .round()
                         .clamp(0, 255)
                         .to(torch::kUInt8)
                         .permute({1, 2, 0})
                         .contiguous();
  const int height = static_cast<int>(bytes.size(0)), width = static_cast<int>(bytes.size(1));
  const int channels = static_cast<int>(bytes.size(2));
  if (stbi_write_png(path.c_str(), width, height, channels, bytes.data_ptr<uint8_t>(),
                     width * channels) == 0) {
    throw std::runtime_error("cannot write PNG '" + path + "'");
  }
}

}  // namespace wsd
