#include "core/util/seeds.hpp"

#include <gtest/gtest.h>

#include <set>

namespace wsd {
namespace {

// SplitMix64 from state 0 emits 0xE220A8397B1DCDAF, then 0x6E789E6AA1B965F4 (the generator's
// published reference outputs): mix64 is one step of it.
TEST(Seeds, Mix64IsTheSplitMix64Step) {
  EXPECT_EQ(mix64(0), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(mix64(kSplitMix64Gamma), 0x6E789E6AA1B965F4ULL);
}

TEST(Seeds, ConsecutiveSeedsAreBasePlusImageIndex) {
  EXPECT_EQ(consecutive_seeds(40, 3, 3), (std::vector<uint64_t>{43, 44, 45}));
  EXPECT_TRUE(consecutive_seeds(40, 3, 0).empty());
  // Wraps like the unsigned seed it is.
  EXPECT_EQ(consecutive_seeds(~0ULL, 1, 1), (std::vector<uint64_t>{0}));
}

// The determinism guarantee: an image's seed depends on the image, not on the batch it is in.
TEST(Seeds, AnImagesSeedDoesNotDependOnItsBatch) {
  // measurement_seed(base, i) is the image's whole derivation: no batch position enters it.
  EXPECT_EQ(measurement_seed(7, 3), mix64(mix64(7) ^ 3));
  EXPECT_EQ(consecutive_seeds(5, 4, 2)[1], consecutive_seeds(5, 0, 6)[5]);
}

TEST(Seeds, OnePosteriorSampleIsThePlainSolve) {
  EXPECT_EQ(posterior_sample_seed(1234, 0), 1234u);
  EXPECT_NE(posterior_sample_seed(1234, 1), 1234u);
  EXPECT_NE(posterior_sample_seed(1234, 1), posterior_sample_seed(1234, 2));
}

// Nearby inputs give distinct seeds across every derivation a run uses at once.
TEST(Seeds, NearbyKeysGiveDistinctSeeds) {
  std::set<uint64_t> seen;
  for (uint64_t image = 0; image < 32; ++image) {
    for (int64_t step = 0; step < 32; ++step) seen.insert(sampler_step_seed(image, step));
  }
  EXPECT_EQ(seen.size(), 32u * 32u);
  seen.clear();
  for (int64_t step = 0; step < 64; ++step) {
    for (int rank = 0; rank < 8; ++rank) seen.insert(dropout_seed(0, step, rank));
  }
  EXPECT_EQ(seen.size(), 64u * 8u);
  EXPECT_NE(keyed_seed(1, 2), keyed_seed(2, 1));
  EXPECT_NE(sample_key(0, 0, 1), sample_key(0, 1, 0));
}

}  // namespace
}  // namespace wsd
