#pragma once

// A 5x7 pixel font for labels on figures (method names, numbers): lowercase letters (upper case
// is drawn as lower case), digits and "_-.():,[]+/=". Other characters (space) are drawn blank.

#include <torch/types.h>

#include <string>

namespace wsd {

inline constexpr int64_t kGlyphWidth = 5;
inline constexpr int64_t kGlyphHeight = 7;

// The text as a mask [kGlyphHeight * scale, (kGlyphWidth + 1) * size * scale] of 0 and 1
// (float32), one blank column after each glyph.
torch::Tensor render_text(const std::string& text, int64_t scale = 1);

}  // namespace wsd
