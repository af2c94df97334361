#include "core/io/png_writer.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/io/bitmap_font.hpp"

namespace wsd {
namespace {

// The glyph of '1' as drawn in core/io/bitmap_font.cpp, row by row.
TEST(BitmapFont, DrawsTheGlyphRowsAndScales) {
  const auto one = render_text("1");
  ASSERT_EQ(one.sizes(), (std::vector<int64_t>{kGlyphHeight, kGlyphWidth + 1}));
  const std::vector<std::vector<float>> expected = {
      {0, 0, 1, 0, 0, 0}, {0, 1, 1, 0, 0, 0}, {0, 0, 1, 0, 0, 0}, {0, 0, 1, 0, 0, 0},
      {0, 0, 1, 0, 0, 0}, {0, 0, 1, 0, 0, 0}, {0, 1, 1, 1, 0, 0}};
  for (int64_t r = 0; r < kGlyphHeight; ++r) {
    for (int64_t c = 0; c <= kGlyphWidth; ++c) {
      EXPECT_EQ(one[r][c].item<float>(), expected[r][c]) << r << "," << c;
    }
  }
  const auto big = render_text("1", 3);
  EXPECT_TRUE(torch::equal(big, one.repeat_interleave(3, 0).repeat_interleave(3, 1)));
  // Upper case is drawn as lower case; unknown characters are blank.
  EXPECT_TRUE(torch::equal(render_text("Ws"), render_text("ws")));
  EXPECT_EQ(render_text("#").sum().item<float>(), 0.0f);
  EXPECT_GT(render_text("ws_prior").sum().item<float>(), 0.0f);
  // Letters with descenders sit on the x-height: "gaussian_prior" never reads "9aussian_prior".
  EXPECT_FALSE(torch::equal(render_text("g"), render_text("9")));
  EXPECT_EQ(render_text("g").narrow(0, 0, 2).sum().item<float>(), 0.0f);
  EXPECT_GT(render_text("psnr: 24.1 db [-1, +1]").sum().item<float>(),
            render_text("psnr  24.1 db  -1   1 ").sum().item<float>());
}

ImageGridOptions two_columns() {
  ImageGridOptions options;
  options.columns = 2;
  return options;
}

TEST(ImageGrid, ScalesSmallTilesUpAndLabelsColumns) {
  // Two 32x32 images in one row: auto scale 3 (96 px tiles), so the grid is 2*97+1 wide.
  auto images = torch::full({2, 1, 32, 32}, 0.5f);
  images[1].fill_(-0.5f);
  const auto plain = render_image_grid(images, two_columns());
  ASSERT_EQ(plain.sizes(), (std::vector<int64_t>{1, 98, 195}));
  // Nearest-neighbour: every pixel of a tile keeps its image's value.
  EXPECT_TRUE((plain[0].narrow(0, 1, 96).narrow(1, 1, 96) == 0.5f).all().item<bool>());
  EXPECT_TRUE((plain[0].narrow(0, 1, 96).narrow(1, 98, 96) == -0.5f).all().item<bool>());
  // Mid-grey separators, visible against the images' dark backgrounds.
  EXPECT_TRUE((plain[0].select(1, 97) == 0.0f).all().item<bool>());
  EXPECT_TRUE((plain[0].select(0, 0) == 0.0f).all().item<bool>());

  ImageGridOptions labelled = two_columns();
  labelled.scale = 3;
  labelled.column_labels = {"truth", "ws_prior"};
  const auto grid = render_image_grid(images, labelled);
  const int64_t band = grid.size(1) - plain.size(1);
  EXPECT_GT(band, kGlyphHeight);
  // The images are unchanged below the band, and each column's header holds white text.
  EXPECT_TRUE(torch::equal(grid.narrow(1, band, plain.size(1)), plain));
  const auto header = grid[0].narrow(0, 0, band);
  EXPECT_GT((header.narrow(1, 0, 97) == 1.0f).sum().item<int64_t>(), 10);
  EXPECT_GT((header.narrow(1, 98, 97) == 1.0f).sum().item<int64_t>(), 10);
  // A label longer than a 96 px column magnifies the tiles until it fits at the legible size
  // (18 glyphs of 6 px, twice).
  labelled.scale = 0;
  labelled.column_labels = {"truth", "conventional_prior"};
  EXPECT_EQ(render_image_grid(images, labelled).size(2), 2 * (7 * 32 + 1) + 1);
  // An explicit scale wins.
  ImageGridOptions one = two_columns();
  one.scale = 1;
  EXPECT_EQ(render_image_grid(images, one).size(2), 2 * 33 + 1);
}

// A tile label (e.g. a PSNR) is drawn white on black in its own tile's lower left corner and
// nowhere else; a caption adds a band below the grid.
TEST(ImageGrid, TileLabelsAndCaption) {
  const auto images = torch::zeros({2, 1, 32, 32});
  ImageGridOptions options = two_columns();
  options.scale = 3;
  const auto plain = render_image_grid(images, options);
  options.tile_labels = {"", "24.1"};
  const auto labelled = render_image_grid(images, options);
  ASSERT_EQ(labelled.sizes(), plain.sizes());
  const auto changed = (labelled != plain)[0];
  EXPECT_EQ(changed.narrow(1, 0, 97).sum().item<int64_t>(), 0);  // the first tile
  const auto corner = labelled[0].narrow(0, 97 - 20, 20).narrow(1, 98, 60);
  EXPECT_GT((corner == 1.0f).sum().item<int64_t>(), 20);              // white text
  EXPECT_GT((corner == -1.0f).sum().item<int64_t>(), 20);             // on black
  EXPECT_EQ(changed.narrow(0, 0, 97 - 20).sum().item<int64_t>(), 0);  // top of the tiles
  options.tile_labels.clear();
  options.caption = "intensity: -1 black, +1 white";
  const auto captioned = render_image_grid(images, options);
  ASSERT_GT(captioned.size(1), plain.size(1));
  EXPECT_TRUE(torch::equal(captioned.narrow(1, 0, plain.size(1)), plain));
  EXPECT_GT((captioned.narrow(1, plain.size(1), captioned.size(1) - plain.size(1)) == 1.0f)
                .sum()
                .item<int64_t>(),
            50);
}

}  // namespace
}  // namespace wsd
