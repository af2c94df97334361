#pragma once

#include <cstdint>

namespace wsd {

// splitmix64 finaliser: decorrelates nearby seeds, epochs and indices.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The random bits of one sample's augmentation: a function of (seed, epoch, index) only, so a
// resumed run and any number of loader threads draw the same flips and crops.
inline uint64_t sample_key(uint64_t seed, int64_t epoch, int64_t index) {
  return mix64(seed ^
               mix64(static_cast<uint64_t>(epoch) * 1000003ULL + static_cast<uint64_t>(index)));
}

// A uniform integer in [0, n) from `bits` (n > 0); the modulo bias is below 2^-40 for images.
inline int64_t pick(uint64_t bits, int64_t n) {
  return static_cast<int64_t>(bits % static_cast<uint64_t>(n));
}

}  // namespace wsd
