#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsd {

// The candidate closest to a misspelt `word` (case-insensitive edit distance counting a swap of
// two neighbouring letters as one edit), or nullopt when nothing is close enough to be a
// plausible typo. Used for "did you mean" hints on keys and enum values.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

}  // namespace wsd
