// The Prior interface: the closed-form Gaussian prior behind it, its checkpoint, the loader's
// dispatch, and the score-sign check with closed-form oracles standing in for networks.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "core/config/config_loader.hpp"
#include "core/config/config_writer.hpp"
#include "core/io/h5_file.hpp"
#include "core/model/gaussian_prior_model.hpp"
#include "core/model/prior_loader.hpp"
#include "core/model/score_model.hpp"
#include "core/model/sign_check.hpp"
#include "core/network/h5_weights.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"
#include "tests/support/noise_configs.hpp"
#include "tests/support/test_data.hpp"

namespace wsd {
namespace {

using test::edited;
using test::noise_of;

namespace fs = std::filesystem;

constexpr int64_t kSize = 16;

torch::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

double max_abs(const torch::Tensor& x) { return x.abs().max().item<double>(); }

// A gaussian-prior config on 16 x 16 gray images with per-sample GRF noise.
Config gaussian_config() {
  Config config = default_config();
  config.model.type = ModelType::kGaussian;
  config.model.image_size = config.data.image_size = kSize;
  config.model.image_channels = config.data.channels = 1;
  config.noise.family = NoiseFamily::kGrf;
  config.noise.grf_sigma_min = 1.0;
  config.noise.grf_sigma_max = 2.0;
  return config;
}

// A natural-image-like spectrum (|f| + 0.05)^-2, pixel variance about 0.25.
GaussianStatistics made_up_statistics(uint64_t seed) {
  auto gen = make_generator(seed);
  const auto fy = torch::fft::fftfreq(kSize, torch::kFloat64).view({kSize, 1});
  const auto fx = torch::fft::rfftfreq(kSize, torch::kFloat64).view({1, -1});
  auto power = torch::pow(torch::sqrt(fy.square() + fx.square()) + 0.05, -2.0);
  power = power * (0.25 / power.mean());
  GaussianStatistics s;
  s.mean = 0.3 * torch::randn({1, kSize, kSize}, gen, torch::kFloat64);
  s.power_spectrum = power;
  s.count = 1000;
  return s;
}

TEST(PriorModel, GaussianPriorModelGivesTheExactScoreThroughTheInterface) {
  const Config config = gaussian_config();
  const GaussianStatistics stats = made_up_statistics(1);
  GaussianPriorModel model = make_gaussian_prior_model(stats, config);
  Prior& prior = model;
  // The oracle, assembled independently from the same ingredients.
  const StructuredNoise noise(config.noise);
  const GaussianPrior exact(stats.mean, stats.power_spectrum, noise.psd(kSize, kSize),
                            make_schedule("vp", config.model.beta_min, config.model.beta_max));
  auto gen = make_generator(2);
  const auto x = torch::randn({5, 1, kSize, kSize}, gen, torch::kFloat64);
  const auto t = torch::tensor({1e-3, 0.1, 0.4, 0.7, 1.0}, torch::kFloat64);
  const auto expected = exact.whitened_score(x, t);
  EXPECT_LT(max_abs(prior.whitened_score(x, t) - expected), 1e-12 * max_abs(expected));
  // Tweedie of the interface against the Wiener filter, computed by a different route.
  EXPECT_LT(max_abs(prior.x0_estimate(x, t) - exact.wiener_x0(x, t)), 1e-10);
  EXPECT_DOUBLE_EQ(prior.schedule().alpha(0.3), exact.schedule().alpha(0.3));
  EXPECT_EQ(prior.describe(), "gaussian (exact)");
  // The prior owns the noise family and end time of its config.
  EXPECT_TRUE(torch::equal(prior.noise().psd(kSize, kSize), noise.psd(kSize, kSize)));
  EXPECT_DOUBLE_EQ(prior.t_eps(), config.model.t_eps);
  // Working precision follows the input, as for networks.
  EXPECT_EQ(prior.whitened_score(x.to(torch::kFloat32), t).scalar_type(), torch::kFloat32);
}

TEST(PriorModel, GaussianCheckpointRoundTrip) {
  const Config config = gaussian_config();
  const GaussianStatistics stats = made_up_statistics(3);
  const auto path = (fs::path(::testing::TempDir()) / "gaussian_prior.h5").string();
  save_checkpoint(gaussian_prior_checkpoint(stats, config), path);

  {  // The layout, readable without project code.
    const h5::File file = h5::File::open_read(path);
    EXPECT_EQ(file.attr_string("/model", "type"), "gaussian");
    EXPECT_EQ(file.attr_string("/model", "parameterisation"), "exact");
    EXPECT_EQ(file.read_tensor("/model/count").item<int64_t>(), 1000);
    EXPECT_TRUE(torch::equal(file.read_tensor("/model/mean"), stats.mean));
    EXPECT_TRUE(torch::equal(file.read_tensor("/model/power_spectrum"), stats.power_spectrum));
  }
  const Checkpoint loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.model_info.type, ModelType::kGaussian);
  EXPECT_EQ(loaded.model_info.score_sign, 1);
  EXPECT_EQ(gaussian_statistics_of(loaded, path).count, 1000);
  const std::unique_ptr<Prior> prior = load_prior(loaded, path, true, torch::kCPU);
  ASSERT_NE(dynamic_cast<GaussianPriorModel*>(prior.get()), nullptr);

  const GaussianPrior original = make_gaussian_prior(stats, config);
  auto gen = make_generator(4);
  const auto x = torch::randn({3, 1, kSize, kSize}, gen, torch::kFloat64);
  const auto t = torch::tensor({0.05, 0.5, 0.95}, torch::kFloat64);
  EXPECT_TRUE(torch::equal(prior->whitened_score(x, t), original.whitened_score(x, t)));

  // A network loader refuses it by name; a gaussian checkpoint missing a tensor is an input error.
  EXPECT_THROW(load_score_model(loaded, config, path, true, torch::kCPU), InputError);
  Checkpoint broken = loaded;
  broken.model.erase(broken.model.begin());
  EXPECT_THROW(load_prior(broken, path, true, torch::kCPU), InputError);
  // Statistics that do not fit the configured image size are an input error, not a crash.
  Checkpoint resized = loaded;
  Config wrong = config;
  wrong.model.image_size = wrong.data.image_size = 32;
  resized.config_yaml = gaussian_prior_checkpoint(stats, wrong).config_yaml;
  EXPECT_THROW(load_prior(resized, path, true, torch::kCPU), InputError);
}

TEST(PriorModel, LoaderDispatchesNetworksToScoreModel) {
  H5Weights weights = read_h5_weights(test::reference_fixture());
  Config config = default_config();
  set_network_options(config.model, weights.options);
  config.data.channels = config.model.image_channels;
  // The mapping is the same both ways.
  const DdpmUNetOptions back = network_options(config.model);
  EXPECT_EQ(back.image_channels(), weights.options.image_channels());
  EXPECT_EQ(back.n_channels(), weights.options.n_channels());
  EXPECT_EQ(back.ch_mults(), weights.options.ch_mults());
  EXPECT_EQ(back.is_attn(), weights.options.is_attn());
  EXPECT_EQ(back.n_blocks(), weights.options.n_blocks());
  EXPECT_EQ(back.dropout(), weights.options.dropout());
  config.model.parameterisation = Parameterisation::kNoise;
  Checkpoint checkpoint;
  checkpoint.config_yaml = to_yaml(config);
  checkpoint.model_info = model_info_of(config.model);
  checkpoint.model = weights.state_dict;

  torch::NoGradGuard no_grad;
  const std::unique_ptr<Prior> prior = load_prior(checkpoint, "fixture", false, torch::kCPU);
  auto* network = dynamic_cast<ScoreModel*>(prior.get());
  ASSERT_NE(network, nullptr);
  EXPECT_EQ(prior->describe(), "ddpm_unet (noise, sign +1)");
  // The embedded config gives the prior its noise family and end time.
  EXPECT_TRUE(prior->noise().config() == config.noise);
  EXPECT_DOUBLE_EQ(prior->t_eps(), config.model.t_eps);
  // Asked for unknowns of another shape, the loader refuses the network.
  const int64_t c = config.model.image_channels, s = config.model.image_size;
  EXPECT_NO_THROW(load_prior(checkpoint, "fixture", false, torch::kCPU, {c, s, s}));
  EXPECT_THROW(load_prior(checkpoint, "fixture", false, torch::kCPU, {c, 2 * s, 2 * s}),
               InputError);
  const h5::File ref = h5::File::open_read(test::reference_fixture());
  const auto x = ref.read_tensor("/input/x").to(torch::kFloat32);
  const auto t = ref.read_tensor("/input/t").to(torch::kFloat64);
  const auto expected = network->process().whitened_score(network->output(x, t), x, t);
  EXPECT_TRUE(torch::allclose(prior->whitened_score(x, t), expected));
}

// Clean images from a known Gaussian, noised with GRF noise of one fixed std: for that noise the
// Gaussian prior's score is exact, the best any network could learn.
struct SignCheckSetup {
  GaussianPrior prior = make_gaussian_prior(made_up_statistics(5), config());
  StructuredNoise noise{edited(noise_of(NoiseFamily::kGrf), [&](NoiseConfig& c) {
    c.grf_sigma_min = 1.5;
    c.grf_sigma_max = 1.5;
  })};
  torch::Tensor images;

  SignCheckSetup() {
    auto gen = make_generator(6);
    images = prior.sample(48, gen).to(torch::kFloat32);
  }
  static Config config() {
    Config c = gaussian_config();
    c.noise.grf_sigma_min = c.noise.grf_sigma_max = 1.5;
    return c;
  }
  ForwardProcess process(Parameterisation parameterisation, int sign) const {
    return ForwardProcess(
        make_schedule("vp"),
        ForwardProcessOptions().parameterisation(parameterisation).score_sign(sign));
  }
  // What a trained network of the parameterisation would output, times `sign`.
  OutputFn oracle(Parameterisation parameterisation, double sign) const {
    return [this, parameterisation, sign](const torch::Tensor& x_t, const torch::Tensor& t) {
      const auto s_w = prior.whitened_score(x_t, t);
      if (parameterisation == Parameterisation::kWs) return sign * s_w;
      // noise: s_W = -(beta/sigma) n  =>  n = -(sigma/beta) s_W.
      const auto& schedule = prior.schedule();
      return -sign * per_sample(schedule.sigma(t) / schedule.beta(t), s_w) * s_w;
    };
  }
};

TEST(PriorModel, SignCheckFindsTheSignOfAnOracleNetwork) {
  const SignCheckSetup s;
  for (auto p : {Parameterisation::kWs, Parameterisation::kNoise}) {
    const SignCheck right = check_score_sign(s.oracle(p, 1.0), s.process(p, 1), s.images, s.noise);
    EXPECT_TRUE(right.conclusive);
    EXPECT_EQ(right.sign, 1);
    EXPECT_STREQ(right.decision(), "kept");
    EXPECT_LT(right.mean_plus, 0.5 * right.mean_input);
    EXPECT_GT(right.mean_minus, right.mean_plus);
    ASSERT_EQ(right.mse_plus.size(), 3u);
    // At every time the exact Tweedie estimate beats the noised image, as the sign check
    // requires (docs/maths.md, 'Sign of imported networks').
    for (size_t k = 0; k < right.times.size(); ++k) {
      EXPECT_LT(right.mse_plus[k], right.mse_input[k]) << right.times[k];
    }

    // A network trained on the negated target (the authors' released script).
    const SignCheck negated =
        check_score_sign(s.oracle(p, -1.0), s.process(p, 1), s.images, s.noise);
    EXPECT_TRUE(negated.conclusive);
    EXPECT_EQ(negated.sign, -1);
    EXPECT_TRUE(negated.flipped());
    EXPECT_STREQ(negated.decision(), "flipped");
    // Same network, same noise: the two checks see mirrored numbers.
    EXPECT_NEAR(negated.mean_minus, right.mean_plus, 1e-6 * right.mean_plus);
    EXPECT_DOUBLE_EQ(negated.mean_input, right.mean_input);

    // Already configured as -1: kept.
    const SignCheck configured =
        check_score_sign(s.oracle(p, -1.0), s.process(p, -1), s.images, s.noise);
    EXPECT_EQ(configured.sign, -1);
    EXPECT_STREQ(configured.decision(), "kept");
  }
}

TEST(PriorModel, SignCheckKeepsTheConfiguredSignForUntrainedOutputs) {
  const SignCheckSetup s;
  for (auto p : {Parameterisation::kWs, Parameterisation::kNoise}) {
    // Untrained weights: outputs unrelated to the noise.
    const OutputFn untrained = [](const torch::Tensor& x_t, const torch::Tensor&) {
      auto gen = make_generator(7);
      return torch::randn(x_t.sizes(), gen, x_t.options());
    };
    for (int configured : {1, -1}) {
      const SignCheck check =
          check_score_sign(untrained, s.process(p, configured), s.images, s.noise);
      EXPECT_FALSE(check.conclusive);
      EXPECT_EQ(check.sign, configured);
      EXPECT_STREQ(check.decision(), "kept");
      EXPECT_GT(std::min(check.mean_plus, check.mean_minus), check.mean_input);
    }
  }
}

TEST(PriorModel, SignCheckDoesNotDependOnTheBatchSize) {
  const SignCheckSetup s;
  const auto fn = s.oracle(Parameterisation::kNoise, -1.0);
  const auto process = s.process(Parameterisation::kNoise, 1);
  const SignCheck a = check_score_sign(fn, process, s.images, s.noise, SignCheckOptions());
  const SignCheck b =
      check_score_sign(fn, process, s.images, s.noise, SignCheckOptions().batch_size(7));
  for (size_t k = 0; k < a.times.size(); ++k) {
    EXPECT_NEAR(a.mse_plus[k], b.mse_plus[k], 1e-9 * a.mse_plus[k]);
    EXPECT_NEAR(a.mse_minus[k], b.mse_minus[k], 1e-9 * a.mse_minus[k]);
    EXPECT_NEAR(a.mse_input[k], b.mse_input[k], 1e-9 * a.mse_input[k]);
  }
}

}  // namespace
}  // namespace wsd
