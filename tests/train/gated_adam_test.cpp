// GatedAdam against LibTorch's own Adam / AdamW, and the skip gate.
#include "train/gated_adam.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "train/ema.hpp"

namespace wsd {
namespace {

std::vector<torch::Tensor> make_parameters(uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({4, 3}).requires_grad_(), torch::randn({5}).requires_grad_(),
          torch::randn({2, 2, 3, 3}).requires_grad_()};
}

std::vector<torch::Tensor> gradients(int step) {
  torch::manual_seed(1000 + step);
  return {torch::randn({4, 3}), torch::randn({5}) * 10, torch::randn({2, 2, 3, 3}) * 0.01};
}

// Five steps with changing learning rates: parameters agree to float32 rounding.
void expect_matches_torch(bool decoupled, double weight_decay) {
  auto ours = make_parameters(7), theirs = make_parameters(7);
  GatedAdamOptions options;
  options.decoupled = decoupled;
  options.weight_decay = weight_decay;
  GatedAdam gated(ours, options);
  std::unique_ptr<torch::optim::Optimizer> reference;
  if (decoupled) {
    reference = std::make_unique<torch::optim::AdamW>(
        theirs, torch::optim::AdamWOptions(1e-2).weight_decay(weight_decay));
  } else {
    reference = std::make_unique<torch::optim::Adam>(
        theirs, torch::optim::AdamOptions(1e-2).weight_decay(weight_decay));
  }
  const auto one = torch::ones({});
  for (int step = 0; step < 5; ++step) {
    const double lr = 1e-2 * (step + 1);
    for (auto& group : reference->param_groups()) group.options().set_lr(lr);
    const auto g = gradients(step);
    gated.zero_grad();
    reference->zero_grad();
    for (size_t i = 0; i < g.size(); ++i) {
      ours[i].mutable_grad().copy_(g[i]);
      theirs[i].mutable_grad() = g[i].clone();
    }
    gated.step(lr, one);
    reference->step();
  }
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-5, 1e-6))
        << "parameter " << i << " differs by " << (ours[i] - theirs[i]).abs().max().item<double>();
  }
  EXPECT_EQ(gated.step_count().item<double>(), 5.0);
}

TEST(GatedAdam, MatchesTorchAdam) { expect_matches_torch(false, 0.0); }
TEST(GatedAdam, MatchesTorchAdamWithL2) { expect_matches_torch(false, 0.1); }
TEST(GatedAdam, MatchesTorchAdamW) { expect_matches_torch(true, 0.1); }

// A step with apply = 0 changes nothing, bit for bit, even with NaN and Inf gradients; the next
// applied step is Adam's first step (bias corrections use the applied-step count).
TEST(GatedAdam, GatedStepLeavesEverythingUntouched) {
  auto ours = make_parameters(3), theirs = make_parameters(3);
  GatedAdamOptions options;
  options.decoupled = true;
  options.weight_decay = 0.05;
  GatedAdam gated(ours, options);
  std::vector<torch::Tensor> before;
  for (const auto& p : ours) before.push_back(p.detach().clone());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < ours.size(); ++i) ours[i].mutable_grad().copy_(gradients(0)[i]);
  ours[0].mutable_grad()[0][0] = nan;
  ours[1].mutable_grad()[2] = inf;
  gated.step(1e-2, torch::zeros({}));
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::equal(ours[i], before[i])) << i;
    EXPECT_TRUE(torch::equal(gated.exp_avg()[i], torch::zeros_like(before[i]))) << i;
    EXPECT_TRUE(torch::equal(gated.exp_avg_sq()[i], torch::zeros_like(before[i]))) << i;
  }
  EXPECT_EQ(gated.step_count().item<double>(), 0.0);

  torch::optim::AdamW reference(theirs, torch::optim::AdamWOptions(1e-2).weight_decay(0.05));
  gated.zero_grad();
  const auto g = gradients(1);
  for (size_t i = 0; i < g.size(); ++i) {
    ours[i].mutable_grad().copy_(g[i]);
    theirs[i].mutable_grad() = g[i].clone();
  }
  gated.step(1e-2, torch::ones({}));
  reference.step();
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-5, 1e-6)) << i;
  }
}

// shadow <- shadow + (1 - decay)(p - shadow) when applied; untouched when not.
TEST(Ema, GatedUpdateClosedForm) {
  torch::nn::Linear layer(3, 2);
  Ema ema(*layer, 0.9);
  const auto shadow0 = ema.shadow()[0].clone();
  {
    torch::NoGradGuard no_grad;
    layer->weight.add_(1.0);
  }
  ema.update(*layer, torch::zeros({}));
  EXPECT_TRUE(torch::equal(ema.shadow()[0], shadow0));
  ema.update(*layer, torch::ones({}));
  EXPECT_TRUE(torch::allclose(ema.shadow()[0], shadow0 + 0.1 * (layer->weight.detach() - shadow0),
                              1e-6, 1e-7));
}

}  // namespace
}  // namespace wsd
