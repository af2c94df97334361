#include "core/diffusion/schedule.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

constexpr double kPi = 3.14159265358979323846;

TEST(Schedule, VpMatchesClosedForms) {
  const VpSchedule schedule(0.1, 20.0);
  for (const double t : {1e-3, 0.1, 0.5, 0.9, 1.0}) {
    const double integrated = 0.1 * t + 0.5 * (20.0 - 0.1) * t * t;
    EXPECT_NEAR(schedule.beta(t), 0.1 + 19.9 * t, 1e-12) << t;
    EXPECT_NEAR(schedule.integrated_beta(t), integrated, 1e-12) << t;
    EXPECT_NEAR(schedule.alpha(t), std::exp(-0.5 * integrated), 1e-14) << t;
    EXPECT_NEAR(schedule.sigma(t), std::sqrt(1.0 - std::exp(-integrated)), 1e-12) << t;
  }
  // Values a reader can check by hand: B(1) = 0.1 + 9.95, alpha(1) = exp(-5.025).
  EXPECT_NEAR(schedule.alpha(1.0), 6.5715865e-3, 1e-10);
  EXPECT_NEAR(schedule.sigma(0.5), std::sqrt(1.0 - std::exp(-2.5375)), 1e-12);
}

TEST(Schedule, TensorOverloadsAgreeWithDoubleAndReturnFloat64) {
  for (const auto& schedule : {make_schedule("vp"), make_schedule("cosine")}) {
    const auto t = torch::tensor(std::vector<float>{1e-3f, 0.25f, 0.5f, 0.95f, 1.0f});
    const auto alpha = schedule->alpha(t);
    const auto sigma = schedule->sigma(t);
    const auto beta = schedule->beta(t);
    ASSERT_EQ(alpha.scalar_type(), torch::kFloat64);
    ASSERT_EQ(beta.scalar_type(), torch::kFloat64);
    const auto td = t.to(torch::kFloat64);
    for (int64_t i = 0; i < t.size(0); ++i) {
      const double ti = td[i].item<double>();
      EXPECT_NEAR(alpha[i].item<double>(), schedule->alpha(ti), 1e-14) << schedule->name();
      EXPECT_NEAR(sigma[i].item<double>(), schedule->sigma(ti), 1e-14) << schedule->name();
      EXPECT_NEAR(beta[i].item<double>(), schedule->beta(ti), 1e-12) << schedule->name();
    }
  }
}

TEST(Schedule, AlphaSquaredPlusSigmaSquaredIsOne) {
  const auto t = torch::linspace(0.0, 1.0, 1001, torch::kFloat64);
  for (const auto& schedule : {make_schedule("vp"), make_schedule("cosine", 0.1, 100.0)}) {
    const auto total = schedule->alpha(t).square() + schedule->sigma(t).square();
    EXPECT_LT((total - 1.0).abs().max().item<double>(), 1e-14) << schedule->name();
    // Near t = 0, sigma ~ sqrt(beta(0) t) must not collapse to 0 by cancellation.
    EXPECT_GT(schedule->sigma(1e-9), 0.0) << schedule->name();
  }
}

// B(t) >= 0 in exact arithmetic, so alpha <= 1 and sigma real: both must hold in floating point
// at the boundary t -> 0, on the scalar and the vectorised path alike, whatever the rounding of
// the CPU's vectorised log and cos (the path must not rely on bit equality between the two).
TEST(Schedule, NearZeroTimesKeepAlphaAtMostOneAndSigmaReal) {
  const std::vector<double> tiny = {0.0, 1e-300, 1e-30, 1e-17, 1e-12, 1e-9, 1e-6, 1e-3};
  const auto t = torch::tensor(tiny, torch::kFloat64);
  for (const auto& schedule : {make_schedule("vp"), make_schedule("cosine", 0.1, 20.0),
                               make_schedule("cosine", 0.1, 100.0)}) {
    const auto b = schedule->integrated_beta(t);
    const auto sigma = schedule->sigma(t);
    EXPECT_TRUE(torch::isfinite(sigma).all().item<bool>()) << schedule->name();
    EXPECT_GE(b.min().item<double>(), 0.0) << schedule->name();
    EXPECT_LE(schedule->alpha(t).max().item<double>(), 1.0) << schedule->name();
    EXPECT_EQ(schedule->sigma(0.0), 0.0) << schedule->name();
    for (size_t i = 0; i < tiny.size(); ++i) {
      const double scalar = schedule->integrated_beta(tiny[i]);
      EXPECT_GE(scalar, 0.0) << schedule->name() << " t=" << tiny[i];
      EXPECT_TRUE(std::isfinite(schedule->sigma(tiny[i]))) << schedule->name();
      // For small t, B = beta(0) t (1 + O(beta'(0) t / beta(0))); the relative second-order
      // term stays below 1e-6 for t <= 1e-9 on these schedules (beta'(0)/beta(0) <= 200).
      if (tiny[i] > 0.0 && tiny[i] <= 1e-9) {
        const double expected = schedule->beta(0.0) * tiny[i];
        EXPECT_NEAR(scalar / expected, 1.0, 1e-6) << schedule->name() << " t=" << tiny[i];
        EXPECT_NEAR(b[static_cast<int64_t>(i)].item<double>() / expected, 1.0, 1e-6)
            << schedule->name() << " t=" << tiny[i];
      }
    }
  }
}

TEST(Schedule, BetaIsMinusTwiceLogAlphaDerivative) {
  const CosineSchedule cosine(20.0);
  const VpSchedule vp;
  const double h = 1e-5;
  std::vector<double> times = {0.01, 0.2, 0.5, 0.8, 0.99};
  times.push_back(cosine.t_clip() - 0.05);  // Just before the clip...
  times.push_back(cosine.t_clip() + 0.05);  // ...and on the clipped branch.
  for (const DiffusionSchedule* schedule : {static_cast<const DiffusionSchedule*>(&vp),
                                            static_cast<const DiffusionSchedule*>(&cosine)}) {
    for (const double t : times) {
      const double derivative =
          (std::log(schedule->alpha(t + h)) - std::log(schedule->alpha(t - h))) / (2.0 * h);
      const double beta = schedule->beta(t);
      EXPECT_NEAR(-2.0 * derivative, beta, 1e-6 * std::max(1.0, beta))
          << schedule->name() << " t=" << t;
    }
  }
}

TEST(Schedule, CosineMatchesClosedFormAndClipsContinuously) {
  const double s = 0.008;
  const CosineSchedule schedule(20.0, s);
  const auto raw_alpha = [&](double t) {
    return std::cos(0.5 * kPi * (t + s) / (1.0 + s)) / std::cos(0.5 * kPi * s / (1.0 + s));
  };
  for (const double t : {0.0, 0.1, 0.5, 0.85}) {
    ASSERT_LT(t, schedule.t_clip());
    EXPECT_NEAR(schedule.alpha(t), raw_alpha(t), 1e-13) << t;
    EXPECT_NEAR(schedule.beta(t), kPi / (1.0 + s) * std::tan(0.5 * kPi * (t + s) / (1.0 + s)),
                1e-11)
        << t;
  }
  EXPECT_NEAR(schedule.alpha(0.0), 1.0, 1e-15);
  // The clip starts where the raw beta reaches 20, and beta is constant afterwards.
  EXPECT_GT(schedule.t_clip(), 0.85);
  EXPECT_LT(schedule.t_clip(), 0.95);
  EXPECT_NEAR(schedule.beta(schedule.t_clip() - 1e-9), 20.0, 1e-5);
  EXPECT_DOUBLE_EQ(schedule.beta(0.97), 20.0);
  EXPECT_NEAR(schedule.alpha(schedule.t_clip() + 1e-9), raw_alpha(schedule.t_clip()), 1e-8);
  EXPECT_GT(schedule.alpha(1.0), 0.0);
  EXPECT_LT(schedule.alpha(1.0), raw_alpha(schedule.t_clip()));
  EXPECT_NEAR(schedule.integrated_beta(1.0),
              -2.0 * std::log(raw_alpha(schedule.t_clip())) + 20.0 * (1.0 - schedule.t_clip()),
              1e-10);
}

TEST(Schedule, FactoryParsesNamesAndRejectsBadInput) {
  EXPECT_EQ(make_schedule("vp", 0.1, 20.0)->name(), "vp");
  EXPECT_EQ(make_schedule(NoiseSchedule::kCosine)->name(), "cosine");
  const auto vp = make_schedule("vp", 0.5, 10.0);
  EXPECT_DOUBLE_EQ(vp->beta(0.0), 0.5);
  EXPECT_DOUBLE_EQ(vp->beta(1.0), 10.0);
  const auto cosine = make_schedule("cosine", 0.1, 100.0);
  EXPECT_DOUBLE_EQ(cosine->beta(1.0), 100.0);
  EXPECT_THROW(make_schedule("linear"), InputError);
  EXPECT_THROW(make_schedule("vp", 2.0, 1.0), InputError);
  EXPECT_THROW(make_schedule("cosine", 0.1, 0.01), InputError);  // Clip below beta(0).
}

TEST(Schedule, PerSampleBroadcastsOverTrailingAxes) {
  const auto x = torch::zeros({3, 2, 4, 5}, torch::kFloat32);
  const auto coefficient = torch::tensor({1.0, 2.0, 3.0}, torch::kFloat64);
  const auto column = per_sample(coefficient, x);
  EXPECT_EQ(column.sizes(), (std::vector<int64_t>{3, 1, 1, 1}));
  EXPECT_EQ(column.scalar_type(), torch::kFloat32);
  EXPECT_EQ((x + column).select(0, 2).min().item<float>(), 3.0f);
  EXPECT_EQ(per_sample(torch::tensor(2.0, torch::kFloat64), x).dim(), 0);
  EXPECT_ANY_THROW(per_sample(torch::ones({2}, torch::kFloat64), x));
}

}  // namespace
}  // namespace wsd
