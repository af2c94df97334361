#include "core/network/ddpm_unet.hpp"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include <torch/torch.h>
#include "tests/support/test_data.hpp"

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>

#include "core/io/h5_file.hpp"
#include "core/network/h5_weights.hpp"
#include "core/network/state_dict.hpp"
#include "core/network/time_embedding.hpp"
#include "core/util/errors.hpp"

namespace wsd {
namespace {

std::string fixture_path() { return test::reference_fixture(); }

// The fixture's network with its weights loaded, in eval mode.
DdpmUNet fixture_network() {
  const H5Weights weights = read_h5_weights(fixture_path());
  DdpmUNet net(weights.options);
  load_state_dict(*net, weights.state_dict, fixture_path());
  net->eval();
  return net;
}

// Enables CPU autocast to bf16 for the guard's lifetime.
class CpuAutocastBf16 {
 public:
  CpuAutocastBf16() {
    at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCPU, true);
  }
  ~CpuAutocastBf16() {
    at::autocast::set_autocast_enabled(at::kCPU, false);
    at::autocast::clear_cache();
  }
};

TEST(DdpmUNet, ReproducesReferenceFixture) {
  const h5::File file = h5::File::open_read(fixture_path());
  const H5Weights weights = read_h5_weights(fixture_path());
  EXPECT_EQ(weights.options.image_channels(), 1);
  EXPECT_EQ(weights.options.n_channels(), 32);
  EXPECT_EQ(weights.options.ch_mults(), (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(weights.options.is_attn(), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(weights.options.n_blocks(), 1);
  EXPECT_EQ(weights.state_dict.size(), file.list("/state_dict").size());

  DdpmUNet net(weights.options);
  EXPECT_EQ(parameter_count(*net), 2190977);
  // load_state_dict rejects unexpected keys, so success means every fixture key was consumed;
  // equal counts mean the model has no key the fixture lacks.
  ASSERT_NO_THROW(load_state_dict(*net, weights.state_dict, fixture_path()));
  EXPECT_EQ(state_dict_of(*net).size(), weights.state_dict.size());
  net->eval();

  torch::NoGradGuard no_grad;
  const torch::Tensor y = net(file.read_tensor("/input/x"), file.read_tensor("/input/t"));
  const torch::Tensor expected = file.read_tensor("/output/y");
  ASSERT_EQ(y.sizes(), expected.sizes());
  const double max_error = (y - expected).abs().max().item<double>();
  std::cout << "[ddpm_unet] fixture max abs error " << max_error << " (output max abs "
            << expected.abs().max().item<double>() << ")\n";
  EXPECT_LE(max_error, 1e-4);
}

TEST(DdpmUNet, ScalarTimeBroadcastsOverTheBatch) {
  DdpmUNet net = fixture_network();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({3, 1, 32, 32});
  const torch::Tensor a = net(x, torch::tensor(0.25));
  const torch::Tensor b = net(x, torch::full({3}, 0.25));
  EXPECT_TRUE(torch::allclose(a, b, 0.0, 1e-6));
}

TEST(DdpmUNet, RunsUnderBf16Autocast) {
  DdpmUNet net = fixture_network();
  const h5::File file = h5::File::open_read(fixture_path());
  const torch::Tensor x = file.read_tensor("/input/x");
  const torch::Tensor t = file.read_tensor("/input/t");
  torch::NoGradGuard no_grad;
  torch::Tensor y16;
  {
    CpuAutocastBf16 autocast;
    y16 = net(x, t);
  }
  const torch::Tensor y32 = file.read_tensor("/output/y");
  ASSERT_EQ(y16.sizes(), y32.sizes());
  ASSERT_TRUE(torch::isfinite(y16).all().item<bool>());
  // bf16 keeps ~3 significant digits; the relative error over ~20 layers stays at a few 1e-3.
  const double rel = ((y16.to(torch::kFloat) - y32).norm() / y32.norm()).item<double>();
  std::cout << "[ddpm_unet] bf16 autocast relative L2 error " << rel << "\n";
  EXPECT_LT(rel, 5e-2);

  // A model converted to bf16 outright (no autocast) runs too: the time embedding follows the
  // weights' dtype.
  net->to(torch::kBFloat16);
  const torch::Tensor yb = net(x.to(torch::kBFloat16), t);
  EXPECT_EQ(yb.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::isfinite(yb).all().item<bool>());
}

TEST(DdpmUNet, ShapeAndGradientsForAttentionConfig) {
  torch::manual_seed(3);
  DdpmUNet net(DdpmUNetOptions()
                   .image_channels(3)
                   .n_channels(32)
                   .ch_mults({1, 2, 2, 4})
                   .is_attn({false, false, true, true})
                   .n_blocks(2)
                   .dropout(0.1));
  net->train();
  const torch::Tensor x = torch::randn({2, 3, 32, 32});
  const torch::Tensor t = torch::rand({2});
  const torch::Tensor y = net(x, t);
  EXPECT_EQ(y.sizes(), x.sizes());
  y.sum().backward();

  int attn_norms = 0;
  for (const auto& item : net->named_parameters()) {
    const std::string& name = item.key();
    const torch::Tensor& grad = item.value().grad();
    // The attention blocks' `norm` exists only for state-dict compatibility and is never applied.
    if (name.find(".attn.norm.") != std::string::npos) {
      EXPECT_FALSE(grad.defined()) << name;
      ++attn_norms;
      continue;
    }
    ASSERT_TRUE(grad.defined()) << name;
    EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << name;
  }
  // Attention at the two lowest resolutions (2 down + 3 up blocks each) and in the middle; each
  // unused norm has a weight and a bias.
  EXPECT_EQ(attn_norms, 2 * (2 * 2 + 2 * 3 + 1));
}

TEST(DdpmUNet, AuthorsDefaultConfigParameterCount) {
  const DdpmUNetOptions defaults;
  EXPECT_EQ(defaults.n_channels(), 64);
  EXPECT_EQ(defaults.ch_mults(), (std::vector<int64_t>{1, 2, 2, 4}));
  EXPECT_EQ(defaults.is_attn(), (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(defaults.n_blocks(), 4);
  EXPECT_EQ(defaults.image_channels(), 3);
  DdpmUNet net(defaults);
  const int64_t count = parameter_count(*net);
  std::cout << "[ddpm_unet] authors' default config: " << count << " parameters\n";
  // Counted by hand from the layer list in docs/architecture.md, 'The network (ddpm_unet)'
  // (the same count gives the fixture's 2,190,977); the authors quote "294M".
  EXPECT_EQ(count, 294362435);
}

TEST(DdpmUNet, InvalidOptionsAreInputErrors) {
  EXPECT_THROW(DdpmUNet(DdpmUNetOptions().is_attn({false, true})), InputError);
  EXPECT_THROW(DdpmUNet(DdpmUNetOptions().n_channels(48)), InputError);
  EXPECT_THROW(DdpmUNet(DdpmUNetOptions().ch_mults({}).is_attn({})), InputError);
  EXPECT_THROW(DdpmUNet(DdpmUNetOptions().n_blocks(0)), InputError);
  try {
    DdpmUNet(DdpmUNetOptions().n_channels(48));
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("n_channels"), std::string::npos) << e.what();
  }
}

TEST(DdpmUNet, SinusoidalFeaturesFollowTheFormula) {
  const torch::Tensor t = torch::tensor({0.0, 0.5}, torch::kDouble);
  const torch::Tensor f = sinusoidal_features(t, 8, kDdpmTimeScale);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{2, 8}));
  for (int64_t i = 0; i < 4; ++i) {
    const double phase = 500.0 * std::exp(-std::log(10000.0) * double(i) / 3.0);
    EXPECT_NEAR(f[0][i].item<double>(), 0.0, 1e-12);
    EXPECT_NEAR(f[0][4 + i].item<double>(), 1.0, 1e-12);
    EXPECT_NEAR(f[1][i].item<double>(), std::sin(phase), 1e-9);
    EXPECT_NEAR(f[1][4 + i].item<double>(), std::cos(phase), 1e-9);
  }
  // float32 (and lower) inputs are computed in float32, never in the input's precision.
  EXPECT_EQ(sinusoidal_features(t.to(torch::kBFloat16), 8, 1.0).scalar_type(), torch::kFloat);
}

}  // namespace
}  // namespace wsd
