// The validation search for a data weight widens its grid until the best weight is interior,
// and says which bound stopped it otherwise (infer/eval/weight_search.hpp).
#include "infer/eval/weight_search.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/util/errors.hpp"
#include "infer/likelihood/likelihood_step.hpp"

namespace wsd {
namespace {

// Five "images" whose PSNR peaks at `peak` (log-parabola), spread +-0.1 dB around the mean.
std::vector<double> peaked(double lambda, double peak) {
  const double d = std::log2(lambda / peak);
  std::vector<double> out;
  for (const double offset : {-0.1, -0.05, 0.0, 0.05, 0.1}) out.push_back(30.0 - d * d + offset);
  return out;
}

std::vector<double> tried(const WeightChoice& choice) {
  std::vector<double> out;
  for (const auto& t : choice.trials) out.push_back(t.lambda);
  return out;
}

TEST(WeightSearch, AnInteriorBestNeedsNoWidening) {
  WeightSearch search;
  search.grid = {2, 0.5, 1};
  search.evaluate = [](double l) { return peaked(l, 1.0); };
  const auto choice = search_weight(search, "ws_prior");
  EXPECT_EQ(choice.lambda, 1.0);
  EXPECT_TRUE(choice.interior);
  EXPECT_EQ(tried(choice), (std::vector<double>{0.5, 1, 2}));
  // The standard error of the five values' mean: std 0.079 / sqrt(5).
  EXPECT_NEAR(*choice.trials[1].psnr_se, std::sqrt(0.025 / 4.0 / 5.0), 1e-12);
}

// The grid {0.5, 1, 2} stops below an optimum at 4: the search goes on in the grid's own ratio
// until a weight beyond the best is worse.
TEST(WeightSearch, AnEdgeBestWidensUntilItIsInterior) {
  WeightSearch search;
  search.grid = {0.5, 1, 2};
  search.evaluate = [](double l) { return peaked(l, 4.0); };
  const auto up = search_weight(search, "ws_prior");
  EXPECT_EQ(up.lambda, 4.0);
  EXPECT_TRUE(up.interior);
  EXPECT_EQ(tried(up), (std::vector<double>{0.5, 1, 2, 4, 8}));
  search.evaluate = [](double l) { return peaked(l, 0.125); };
  const auto down = search_weight(search, "ws_prior");
  EXPECT_EQ(down.lambda, 0.125);
  EXPECT_TRUE(down.interior);
  EXPECT_EQ(tried(down), (std::vector<double>{0.5, 1, 2, 0.25, 0.125, 0.0625}));
}

// A weight beyond the best that cannot run (the explicit step's stability bound) ends the
// widening, and the choice says so instead of claiming an optimum.
TEST(WeightSearch, AStabilityBoundStopsTheWideningAndIsReported) {
  WeightSearch search;
  search.grid = {1, 2, 4};
  search.evaluate = [](double l) -> std::vector<double> {
    if (l > 10) throw UnstableSettingError("unstable");
    return peaked(l, 100.0);
  };
  const auto choice = search_weight(search, "ws_prior");
  EXPECT_EQ(choice.lambda, 8.0);
  EXPECT_FALSE(choice.interior);
  EXPECT_EQ(tried(choice), (std::vector<double>{1, 2, 4, 8, 16}));
  EXPECT_TRUE(choice.trials.back().unstable);
  EXPECT_NE(choice.stopped_by.find("stability"), std::string::npos) << choice.stopped_by;
  // The range is a bound too.
  search.max_lambda = 6;
  const auto capped = search_weight(search, "ws_prior");
  EXPECT_EQ(capped.lambda, 4.0);
  EXPECT_FALSE(capped.interior);
  EXPECT_NE(capped.stopped_by.find("largest"), std::string::npos) << capped.stopped_by;
}

// A PSNR that keeps creeping up by less than the plateau tolerance stops the widening there.
TEST(WeightSearch, APlateauStopsTheWidening) {
  WeightSearch search;
  search.grid = {0.5, 1, 2};
  search.evaluate = [](double l) {
    return std::vector<double>{30.0 - 1.0 / l, 30.0 - 1.0 / l};  // gains 0.5, 0.25, 0.125, ...
  };
  const auto choice = search_weight(search, "ws_prior");
  EXPECT_FALSE(choice.interior);
  EXPECT_NE(choice.stopped_by.find("plateau"), std::string::npos) << choice.stopped_by;
  // 64 still gains 1/64 dB over 32; 128 gains 1/128 < 0.01 dB over 64: the last weight tried.
  EXPECT_EQ(choice.trials.back().lambda, 128.0);
  EXPECT_EQ(choice.lambda, 128.0);
}

TEST(WeightSearch, NothingStableIsAnInputError) {
  WeightSearch search;
  search.grid = {1, 10};
  search.evaluate = [](double) -> std::vector<double> { throw UnstableSettingError("no"); };
  EXPECT_THROW(search_weight(search, "ws_prior"), InputError);
}

}  // namespace
}  // namespace wsd
