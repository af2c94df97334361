#pragma once

// Every seed wsdiff derives, in one place. They carry one guarantee (docs/architecture.md,
// "Determinism"): a result never depends on batch size, number of loader workers or number of
// ranks, because every random draw is keyed by what it belongs to (an image, a training step, a
// posterior sample, a loader sample), never by its position in a batch or on a rank. Derived
// seeds are decorrelated with the SplitMix64 finaliser, so nearby inputs (seed, seed + 1) give
// unrelated streams.

#include <cstdint>
#include <vector>

namespace wsd {

// The SplitMix64 increment (2^64 / golden ratio, odd).
inline constexpr uint64_t kSplitMix64Gamma = 0x9E3779B97F4A7C15ULL;

// The SplitMix64 output function: a bijection of 64-bit words with full avalanche.
inline uint64_t splitmix64_finalise(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// One SplitMix64 step from state x: decorrelates nearby seeds, epochs and indices.
inline uint64_t mix64(uint64_t x) { return splitmix64_finalise(x + kSplitMix64Gamma); }

// The seeds of images first .. first + n - 1 when image i is seeded with base + i: what
// `wsdiff sample --seed`, `wsdiff noise --seed`, the trainer's sample grids and the
// reconstructions (sampler.seed) use, so image i draws the same noise whichever batch it is in.
inline std::vector<uint64_t> consecutive_seeds(uint64_t base, int64_t first, int64_t n) {
  std::vector<uint64_t> seeds;
  seeds.reserve(n > 0 ? static_cast<size_t>(n) : 0);
  for (int64_t i = first; i < first + n; ++i) seeds.push_back(base + static_cast<uint64_t>(i));
  return seeds;
}

// The seed of one image's fresh noise at step `step` of a stochastic sampler.
inline uint64_t sampler_step_seed(uint64_t image_seed, int64_t step) {
  return mix64(image_seed + kSplitMix64Gamma * static_cast<uint64_t>(step));
}

// The seed of posterior sample k of an image: the image's own seed for k = 0, so one sample per
// measurement reproduces the plain solve.
inline uint64_t posterior_sample_seed(uint64_t image_seed, int64_t k) {
  if (k == 0) return image_seed;
  return splitmix64_finalise(image_seed ^ (kSplitMix64Gamma * static_cast<uint64_t>(k)));
}

// The seed of random stream `key` under `seed` (an epoch's shuffle, a likelihood step's own
// noise, a patch position): a function of the two only.
inline uint64_t keyed_seed(uint64_t seed, uint64_t key) { return mix64(seed ^ mix64(key)); }

// The measurement-noise seed of image i of a measurement set drawn from `base`.
inline uint64_t measurement_seed(uint64_t base, int64_t i) {
  return mix64(mix64(base) ^ static_cast<uint64_t>(i));
}

// Dropout masks of one training step on one rank: the default generators are reseeded with this
// per (seed, step, rank), so a resumed run draws exactly the same masks without storing them.
inline uint64_t dropout_seed(uint64_t seed, int64_t step, int rank) {
  const uint64_t s = seed ^ static_cast<uint64_t>(step) * 0xD1B54A32D192ED03ULL;
  return s * kSplitMix64Gamma + static_cast<uint64_t>(rank) * 0xBF58476D1CE4E5B9ULL + 1;
}

// The random bits of one loader sample's augmentation: a function of (seed, epoch, index) only,
// so a resumed run and any number of loader threads draw the same flips and crops.
inline uint64_t sample_key(uint64_t seed, int64_t epoch, int64_t index) {
  return mix64(seed ^
               mix64(static_cast<uint64_t>(epoch) * 1000003ULL + static_cast<uint64_t>(index)));
}

// A uniform integer in [0, n) from `bits` (n > 0); the modulo bias is below 2^-40 for images.
inline int64_t pick(uint64_t bits, int64_t n) {
  return static_cast<int64_t>(bits % static_cast<uint64_t>(n));
}

}  // namespace wsd
