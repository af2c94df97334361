#include "core/noise/structured_noise.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/config/config_types.hpp"
#include "core/util/errors.hpp"
#include "tests/support/noise_configs.hpp"

// Spectral checks use radial bands of |f| = sqrt(fx^2 + fy^2) in cycles/pixel: band b < 8 holds
// b/16 <= |f| < (b+1)/16 and band 8 the corners |f| >= 1/2. A band's value is the mean of the
// power spectrum over the FULL H x W grid bins it contains (rfft2 bins weighted by how many
// full-grid frequencies they stand for), so a band mean is a variance share per frequency.

namespace wsd {
namespace {

using test::edited;
using test::grf_noise;
using test::noise_of;

constexpr double kPi = 3.14159265358979323846;
constexpr int kBands = 8;

torch::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

// fftfreq / rfftfreq written out independently of torch::fft.
torch::Tensor row_frequencies(int64_t h) {
  std::vector<double> f(static_cast<size_t>(h));
  for (int64_t r = 0; r < h; ++r) f[r] = static_cast<double>(r <= (h - 1) / 2 ? r : r - h) / h;
  return torch::tensor(f, torch::kFloat64);
}

torch::Tensor column_multiplicity(int64_t w) {
  auto m = torch::full({w / 2 + 1}, 2.0, torch::kFloat64);
  m[0] = 1.0;
  if (w % 2 == 0) m[w / 2] = 1.0;
  return m;
}

torch::Tensor band_index(int64_t h, int64_t w) {
  const auto fy = row_frequencies(h).view({h, 1});
  const auto fx =
      (torch::arange(w / 2 + 1, torch::kFloat64) / static_cast<double>(w)).view({1, -1});
  const auto radius = torch::sqrt(fy.square() + fx.square());
  return (radius * (2.0 * kBands)).floor().clamp_max(kBands).to(torch::kLong);
}

std::vector<double> band_means(const torch::Tensor& power, int64_t h, int64_t w) {
  const auto index = band_index(h, w);
  const auto weight = column_multiplicity(w).view({1, -1}).expand({h, w / 2 + 1});
  std::vector<double> means;
  for (int b = 0; b <= kBands; ++b) {
    const auto mask = (index == b).to(torch::kFloat64) * weight;
    means.push_back(((power * mask).sum() / mask.sum()).item<double>());
  }
  return means;
}

// Mean |rfft2_ortho|^2 over samples and channels.
torch::Tensor empirical_psd(const torch::Tensor& noise) {
  const auto spectrum =
      torch::fft::rfft2(noise.to(torch::kFloat64), c10::nullopt, {-2, -1}, "ortho");
  return spectrum.abs().square().mean(std::vector<int64_t>{0, 1});
}

double full_grid_mean(const torch::Tensor& power, int64_t w) {
  const int64_t h = power.size(-2);
  return ((power * column_multiplicity(w)).sum({-2, -1}) / static_cast<double>(h * w))
      .max()
      .item<double>();
}

// Worst relative band error; prints every band so the measured margins are visible.
double worst_band_error(const std::string& label, const torch::Tensor& empirical,
                        const torch::Tensor& analytic, int64_t h, int64_t w) {
  const auto e = band_means(empirical, h, w);
  const auto a = band_means(analytic, h, w);
  double worst = 0.0;
  std::string line;
  for (size_t b = 0; b < e.size(); ++b) {
    const double error = std::abs(e[b] / a[b] - 1.0);
    worst = std::max(worst, error);
    line += " " + std::to_string(error).substr(0, 6);
  }
  std::printf("[ spectrum ] %-28s worst %.4f | bands%s\n", label.c_str(), worst, line.c_str());
  return worst;
}

// Independent reference for the normalised GRF k^2 of parameter sets (float64 [M] each): built
// on the FULL H x W grid (fftfreq on both axes), Nyquist aliases averaged, normalised by a plain
// mean, and only then cut to the rfft2 half grid. Returns [M, H, W/2+1].
torch::Tensor reference_grf_power(const torch::Tensor& sx, const torch::Tensor& sy,
                                  const torch::Tensor& angle, int64_t h, int64_t w) {
  const auto fy = row_frequencies(h).view({1, h, 1});
  const auto fx = row_frequencies(w).view({1, 1, w});
  const auto c = torch::cos(angle).view({-1, 1, 1});
  const auto s = torch::sin(angle).view({-1, 1, 1});
  const auto sx2 = sx.square().view({-1, 1, 1});
  const auto sy2 = sy.square().view({-1, 1, 1});
  const auto evaluate = [&](const torch::Tensor& gy, const torch::Tensor& gx) {
    const auto u = c * gx + s * gy;
    const auto v = c * gy - s * gx;
    return torch::exp(-4.0 * kPi * kPi * (sx2 * u.square() + sy2 * v.square()));
  };
  const auto flip = [](const torch::Tensor& f, int64_t n) {  // -1/2 -> +1/2 at Nyquist
    return n % 2 == 0 ? torch::where(f == -0.5, 0.5, f) : f;
  };
  const auto power = 0.25 * (evaluate(fy, fx) + evaluate(flip(fy, h), fx) +
                             evaluate(fy, flip(fx, w)) + evaluate(flip(fy, h), flip(fx, w)));
  return (power / power.mean({-2, -1}, true)).slice(2, 0, w / 2 + 1);
}

torch::Tensor reference_grf_power(double sx, double sy, double angle, int64_t h, int64_t w) {
  const auto t = [](double v) { return torch::tensor({v}, torch::kFloat64); };
  return reference_grf_power(t(sx), t(sy), t(angle), h, w)[0];
}

torch::Tensor reference_power_law(double exponent, double cutoff, int64_t h, int64_t w) {
  const auto fy = row_frequencies(h).view({h, 1});
  const auto fx = row_frequencies(w).view({1, w});
  const auto power = torch::pow(torch::sqrt(fy.square() + fx.square()) + cutoff, -exponent);
  return (power / power.mean()).slice(1, 0, w / 2 + 1);
}

// `config` with independent kernel stds along two axes at a random angle.
NoiseConfig anisotropic_rotated(NoiseConfig config) {
  config.anisotropic = true;
  config.rotate = true;
  return config;
}

TEST(StructuredNoise, TransferFunctionMatchesReferenceFormulas) {
  for (const auto& [h, w] :
       std::vector<std::pair<int64_t, int64_t>>{{32, 32}, {37, 31}, {24, 32}}) {
    auto gen = make_generator(7);
    const StructuredNoise rotated(anisotropic_rotated(grf_noise(0.7, 3.0)));
    const auto params = rotated.draw_params(4, gen, torch::kCPU);
    const auto k2 = rotated.transfer_function(params, h, w).square();
    ASSERT_EQ(k2.sizes(), (std::vector<int64_t>{4, 1, h, w / 2 + 1}));
    for (int64_t i = 0; i < 4; ++i) {
      const auto reference =
          reference_grf_power(params.sigma_x[i].item<double>(), params.sigma_y[i].item<double>(),
                              params.angle[i].item<double>(), h, w);
      EXPECT_LT((k2[i][0] - reference).abs().max().item<double>(),
                1e-10 * reference.max().item<double>())
          << h << "x" << w << " sample " << i;
    }
    // Mixture: k^2 = (1 - w) k_grf^2 + w with the same GRF draw.
    const StructuredNoise mixture(edited(grf_noise(1.0, 2.0), [&](NoiseConfig& c) {
      c.family = NoiseFamily::kMixture;
      c.white_fraction = 0.3;
    }));
    auto gen2 = make_generator(8);
    const auto mix_params = mixture.draw_params(2, gen2, torch::kCPU);
    const auto mix = mixture.transfer_function(mix_params, h, w).square();
    for (int64_t i = 0; i < 2; ++i) {
      const double s = mix_params.sigma_x[i].item<double>();
      EXPECT_LT((mix[i][0] - (0.7 * reference_grf_power(s, s, 0.0, h, w) + 0.3))
                    .abs()
                    .max()
                    .item<double>(),
                1e-10);
    }
    const StructuredNoise power_law(edited(noise_of(NoiseFamily::kPowerLaw), [&](NoiseConfig& c) {
      c.power_exponent = 1.5;
      c.power_cutoff = 0.02;
    }));
    NoiseParams none;
    none.batch = 3;
    const auto pl = power_law.transfer_function(none, h, w).square();
    ASSERT_EQ(pl.size(0), 3);
    EXPECT_LT((pl[2][0] - reference_power_law(1.5, 0.02, h, w)).abs().max().item<double>(), 1e-9);
  }
}

TEST(StructuredNoise, UnitVarianceNormalisationIsExactForEveryFamily) {
  const std::vector<NoiseConfig> families = {
      noise_of(NoiseFamily::kWhite), grf_noise(1.0, 4.0), anisotropic_rotated(grf_noise(0.5, 6.0)),
      noise_of(NoiseFamily::kPowerLaw),
      edited(noise_of(NoiseFamily::kMixture), [&](NoiseConfig& c) { c.white_fraction = 0.25; })};
  for (const auto& options : families) {
    const StructuredNoise noise(options);
    for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{32, 32}, {37, 31}}) {
      auto gen = make_generator(3);
      const auto k2 =
          noise.transfer_function(noise.draw_params(16, gen, torch::kCPU), h, w).square();
      const auto per_sample =
          (k2 * column_multiplicity(w)).sum({-2, -1}) / static_cast<double>(h * w);
      EXPECT_LT((per_sample - 1.0).abs().max().item<double>(), 1e-12) << enum_name(options.family);
      EXPECT_NEAR(full_grid_mean(noise.psd(h, w), w), 1.0, 1e-10) << enum_name(options.family);
    }
  }
}

struct SpectrumCase {
  std::string label;
  NoiseConfig options;
  int64_t n;
  int64_t h;
  int64_t w;
};

// sample() against psd(): per radial band within 5%. The GRF std ranges here are narrow on
// purpose: the power at high frequencies is dominated by the few draws with the smallest std,
// so with wide ranges the Monte Carlo error of a 4096-sample average exceeds 5% in the outer
// bands whatever the implementation. Wide ranges are covered by the conditional test below
// and the quadrature by PsdQuadratureMatchesIndependentIntegration.
TEST(StructuredNoise, EmpiricalSpectrumMatchesPsd) {
  NoiseConfig narrow_rotated = anisotropic_rotated(grf_noise(1.0, 1.2));
  narrow_rotated.grf_sampling = GrfSampling::kUniform;
  const std::vector<SpectrumCase> cases = {
      {"white", noise_of(NoiseFamily::kWhite), 4096, 32, 32},
      {"grf isotropic", grf_noise(1.0, 1.2), 4096, 32, 32},
      {"grf anisotropic+rotation", narrow_rotated, 4096, 32, 32},
      {"power_law", noise_of(NoiseFamily::kPowerLaw), 2048, 32, 32},
      {"mixture",
       edited(grf_noise(1.0, 2.0),
              [&](NoiseConfig& c) {
                c.family = NoiseFamily::kMixture;
                c.white_fraction = 0.2;
              }),
       4096, 32, 32},
      {"grf aniso+rot 37x31", narrow_rotated, 4096, 37, 31},
      {"power_law 37x31",
       edited(noise_of(NoiseFamily::kPowerLaw), [&](NoiseConfig& c) { c.power_exponent = 3.0; }),
       2048, 37, 31},
  };
  uint64_t seed = 100;
  for (const auto& c : cases) {
    const StructuredNoise noise(c.options);
    auto gen = make_generator(seed++);
    const auto samples = noise.sample(c.n, 1, c.h, c.w, gen);
    ASSERT_EQ(samples.sizes(), (std::vector<int64_t>{c.n, 1, c.h, c.w}));
    ASSERT_EQ(samples.scalar_type(), torch::kFloat32);
    const double worst =
        worst_band_error(c.label, empirical_psd(samples), noise.psd(c.h, c.w), c.h, c.w);
    EXPECT_LT(worst, 0.05) << c.label;
    // Unit variance: the mean of squares (the mean is known to be 0) within 2%.
    EXPECT_NEAR(samples.to(torch::kFloat64).square().mean().item<double>(), 1.0, 0.02) << c.label;
  }
}

// apply() colours each sample with its own k: over the default wide ranges the empirical
// spectrum matches the mean of the drawn samples' k^2 (no parameter Monte Carlo error left).
TEST(StructuredNoise, ColouringMatchesPerSampleSpectrumOverWideRanges) {
  const std::vector<SpectrumCase> cases = {
      {"grf [1,4] log-uniform", grf_noise(1.0, 4.0), 2048, 32, 32},
      {"grf [0.5,6] aniso+rot", anisotropic_rotated(grf_noise(0.5, 6.0)), 2048, 32, 32},
      {"mixture [1,4]", noise_of(NoiseFamily::kMixture), 2048, 32, 32},
  };
  for (const auto& c : cases) {
    auto options = c.options;
    const StructuredNoise noise(options, torch::kFloat64);
    auto gen = make_generator(11);
    const auto params = noise.draw_params(c.n, gen, torch::kCPU);
    const auto e = torch::randn({c.n, 1, c.h, c.w}, gen, torch::kFloat64);
    const auto coloured = noise.apply(e, params);
    const auto conditional =
        noise.transfer_function(params, c.h, c.w).square().mean(std::vector<int64_t>{0, 1});
    EXPECT_LT(
        worst_band_error(c.label + " | params", empirical_psd(coloured), conditional, c.h, c.w),
        0.05);
  }
}

// psd()'s Gauss-Legendre quadrature against plain midpoint integration written here.
TEST(StructuredNoise, PsdQuadratureMatchesIndependentIntegration) {
  const auto midpoints = [](int64_t n) { return (torch::arange(n, torch::kFloat64) + 0.5) / n; };
  const auto report = [](const std::string& label, const torch::Tensor& psd,
                         const torch::Tensor& reference, const torch::Tensor& mask) {
    const double relative =
        ((psd - reference).abs() / reference).masked_select(mask).max().item<double>();
    std::printf("[ psd quad ] %-34s max relative difference %.2e\n", label.c_str(), relative);
    return relative;
  };
  // Isotropic, both samplings, default range: 1-D midpoint with 4096 nodes, every bin.
  for (const auto sampling : {GrfSampling::kLogUniform, GrfSampling::kUniform}) {
    const int64_t h = 32, w = 32;
    const StructuredNoise noise(
        edited(grf_noise(1.0, 4.0), [&](NoiseConfig& c) { c.grf_sampling = sampling; }));
    const auto u = midpoints(4096);
    const auto s =
        sampling == GrfSampling::kUniform ? 1.0 + 3.0 * u : torch::exp(std::log(4.0) * u);
    const auto reference = reference_grf_power(s, s, torch::zeros_like(s), h, w).mean(0);
    const auto all = torch::ones({h, w / 2 + 1}, torch::kBool);
    EXPECT_LT(
        report("isotropic " + std::string(enum_name(sampling)), noise.psd(h, w), reference, all),
        1e-4);
  }
  // Anisotropic without rotation, log-uniform [1, 4]: the normalised k^2 is a product of an
  // fx factor (sx) and an fy factor (sy), each normalised over its own axis, so the average is a
  // product of two 1-D midpoint integrals with 20000 nodes.
  {
    const int64_t h = 16, w = 20;
    const StructuredNoise noise(
        edited(grf_noise(1.0, 4.0), [&](NoiseConfig& c) { c.anisotropic = true; }));
    const auto s = torch::exp(std::log(4.0) * midpoints(20000)).view({-1, 1});
    const auto axis_average = [&](int64_t n, int64_t keep) {
      const auto f = row_frequencies(n).view({1, -1});
      const auto g = torch::exp(-4.0 * kPi * kPi * s.square() * f.square());
      return (g / g.mean(1, true)).mean(0).slice(0, 0, keep);
    };
    // Columns keep fftfreq's -1/2 at Nyquist where rfft2 has +1/2: the factor is even in f.
    const auto reference =
        axis_average(h, h).view({h, 1}) * axis_average(w, w / 2 + 1).view({1, w / 2 + 1});
    const auto all = torch::ones({h, w / 2 + 1}, torch::kBool);
    EXPECT_LT(report("anisotropic log-uniform", noise.psd(h, w), reference, all), 1e-6);
  }
  // Rotated anisotropic, uniform [1, 2], 12 x 12: brute-force average of the reference k^2 over
  // a Gauss-Legendre rule built here by Golub-Welsch (48 nodes per std) and 32 midpoint angles,
  // compared on the bins with |f| < 3/8, where 48 nodes have converged.
  {
    const int64_t h = 12, w = 12;
    const StructuredNoise noise(edited(grf_noise(1.0, 2.0), [&](NoiseConfig& c) {
      c.grf_sampling = GrfSampling::kUniform;
      c.anisotropic = true;
      c.rotate = true;
    }));
    const int64_t n = 48;
    auto jacobi = torch::zeros({n, n}, torch::kFloat64);
    for (int64_t k = 1; k < n; ++k) {
      const double b = static_cast<double>(k) / std::sqrt(4.0 * k * k - 1.0);
      jacobi[k - 1][k] = b;
      jacobi[k][k - 1] = b;
    }
    const auto [eigenvalues, eigenvectors] = torch::linalg_eigh(jacobi, "L");
    const auto s = 1.0 + 0.5 * (eigenvalues + 1.0);
    const auto ws = eigenvectors[0].square();  // 2 v0^2 on [-1, 1], halved for [0, 1]
    const auto theta = kPi * midpoints(32);
    const auto grid = torch::meshgrid({s, theta}, "ij");
    const auto sy = grid[0].flatten();
    const auto angle = grid[1].flatten();
    const auto wy = ws.view({-1, 1}).expand({n, theta.size(0)}).flatten() / theta.size(0);
    auto reference = torch::zeros({h, w / 2 + 1}, torch::kFloat64);
    for (int64_t i = 0; i < n; ++i) {
      const auto power = reference_grf_power(s[i].expand_as(sy), sy, angle, h, w);
      reference += ws[i].item<double>() * (power * wy.view({-1, 1, 1})).sum(0);
    }
    EXPECT_LT(
        report("anisotropic+rotation uniform", noise.psd(h, w), reference, band_index(h, w) < 6),
        1e-6);
  }
}

TEST(StructuredNoise, PixelVarianceIsOneOverDefaultRanges) {
  for (const auto& options : {grf_noise(1.0, 4.0), anisotropic_rotated(grf_noise(1.0, 4.0)),
                              noise_of(NoiseFamily::kMixture)}) {
    const StructuredNoise noise(options);
    auto gen = make_generator(21);
    const auto samples = noise.sample(4096, 1, 32, 32, gen);
    EXPECT_NEAR(samples.to(torch::kFloat64).square().mean().item<double>(), 1.0, 0.02)
        << enum_name(options.family);
  }
}

TEST(StructuredNoise, GrayChannelsAreIdenticalAndPerChannelUncorrelated) {
  auto gen = make_generator(5);
  const StructuredNoise gray(
      edited(grf_noise(1.0, 2.0), [&](NoiseConfig& c) { c.channel_mode = ChannelMode::kGray; }));
  const auto g = gray.sample(64, 3, 32, 32, gen);
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{64, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(g.select(1, 0), g.select(1, 1)));
  EXPECT_TRUE(torch::equal(g.select(1, 0), g.select(1, 2)));

  const StructuredNoise per_channel(edited(
      grf_noise(1.0, 2.0), [&](NoiseConfig& c) { c.channel_mode = ChannelMode::kPerChannel; }));
  const auto p = per_channel.sample(1024, 3, 32, 32, gen).to(torch::kFloat64);
  for (const auto& [a, b] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {0, 2}, {1, 2}}) {
    const auto x = p.select(1, a);
    const auto y = p.select(1, b);
    const double correlation =
        ((x * y).mean() / torch::sqrt(x.square().mean() * y.square().mean())).item<double>();
    // About 38k effectively independent pixels: the standard error is ~0.005.
    EXPECT_LT(std::abs(correlation), 0.03) << a << "," << b;
    EXPECT_NEAR(x.square().mean().item<double>(), 1.0, 0.03);
  }
}

TEST(StructuredNoise, SameSeedGivesSameNoise) {
  const StructuredNoise noise(anisotropic_rotated(grf_noise(1.0, 4.0)));
  auto a = make_generator(42);
  auto b = make_generator(42);
  auto c = make_generator(43);
  const auto x = noise.sample(8, 2, 16, 16, a);
  EXPECT_TRUE(torch::equal(x, noise.sample(8, 2, 16, 16, b)));
  EXPECT_FALSE(torch::equal(x, noise.sample(8, 2, 16, 16, c)));
  // The generator advanced: a second draw differs from the first.
  EXPECT_FALSE(torch::equal(x, noise.sample(8, 2, 16, 16, a)));
}

TEST(StructuredNoise, PerImageSeedsDoNotDependOnBatching) {
  for (const auto mode : {ChannelMode::kGray, ChannelMode::kPerChannel}) {
    const StructuredNoise noise(edited(grf_noise(1.0, 4.0), [&](NoiseConfig& c) {
      c.anisotropic = true;
      c.rotate = true;
      c.channel_mode = mode;
    }));
    const std::vector<uint64_t> seeds = {3, 1, 4, 1, 5, 9, 2, 6};
    const auto all = noise.sample_per_image(seeds, 3, 32, 32);
    const auto first =
        noise.sample_per_image(std::vector<uint64_t>(seeds.begin(), seeds.begin() + 4), 3, 32, 32);
    const auto second =
        noise.sample_per_image(std::vector<uint64_t>(seeds.begin() + 4, seeds.end()), 3, 32, 32);
    EXPECT_TRUE(torch::equal(all, torch::cat({first, second})));
    // Equal seeds give equal images, different seeds different ones.
    EXPECT_TRUE(torch::equal(all[1], all[3]));
    EXPECT_FALSE(torch::equal(all[0], all[1]));
    // One seed reproduces sample(1, ...) on a generator with that seed.
    auto gen = make_generator(9);
    EXPECT_TRUE(torch::allclose(all[5], noise.sample(1, 3, 32, 32, gen)[0], 1e-6, 1e-6));
  }
}

TEST(StructuredNoise, KernelSumIsZeroPaddedLinearConvolution) {
  const StructuredNoise noise(edited(grf_noise(1.0, 2.0),
                                     [&](NoiseConfig& c) {
                                       c.anisotropic = true;
                                       c.rotate = true;
                                       c.normalisation = NoiseNormalisation::kKernelSum;
                                     }),
                              torch::kFloat64);
  auto gen = make_generator(17);
  const int64_t n = 3, c = 2, h = 24, w = 21;
  const auto params = noise.draw_params(n, gen, torch::kCPU);
  const auto kernels = noise.spatial_kernel(params);
  const int64_t radius = noise.kernel_radius();
  ASSERT_EQ(radius, 8);
  ASSERT_EQ(kernels.size(-1), 2 * radius + 1);
  EXPECT_LT((kernels.sum({-2, -1}) - 1.0).abs().max().item<double>(), 1e-12);
  // One tap against the rotated-Gaussian formula: offset (dx, dy) = (2, -1).
  for (int64_t i = 0; i < n; ++i) {
    const double sx = params.sigma_x[i].item<double>(), sy = params.sigma_y[i].item<double>();
    const double a = params.angle[i].item<double>();
    const auto g = [&](double dx, double dy) {
      const double u = std::cos(a) * dx + std::sin(a) * dy, v = std::cos(a) * dy - std::sin(a) * dx;
      return std::exp(-0.5 * (u * u / (sx * sx) + v * v / (sy * sy)));
    };
    const double ratio = kernels[i][0][radius - 1][radius + 2].item<double>() /
                         kernels[i][0][radius][radius].item<double>();
    EXPECT_NEAR(ratio, g(2.0, -1.0) / g(0.0, 0.0), 1e-12);
  }
  const auto e = torch::randn({n, c, h, w}, gen, torch::kFloat64);
  const auto coloured = noise.apply(e, params);
  for (int64_t i = 0; i < n; ++i) {
    // conv2d correlates; the kernels are centrally symmetric, so that is the convolution.
    const auto direct =
        torch::conv2d(e[i].unsqueeze(1), kernels[i].unsqueeze(0), {}, 1, radius).squeeze(1);
    EXPECT_LT((coloured[i] - direct).abs().max().item<double>(), 1e-12) << i;
  }
  // Zero padding: a constant field stays 1 in the interior and drops at the corner.
  const auto ones = noise.apply(torch::ones({n, 1, h, w}, torch::kFloat64), params);
  EXPECT_LT((ones.slice(2, radius, h - radius).slice(3, radius, w - radius) - 1.0)
                .abs()
                .max()
                .item<double>(),
            1e-12);
  EXPECT_LT(ones[0][0][0][0].item<double>(), 0.5);
}

TEST(StructuredNoise, KernelSumPsdMatchesInteriorVarianceAndIsNotUnit) {
  const StructuredNoise noise(edited(grf_noise(1.0, 1.5), [&](NoiseConfig& c) {
    c.normalisation = NoiseNormalisation::kKernelSum;
  }));
  const int64_t h = 48, w = 48;
  auto gen = make_generator(23);
  const auto samples = noise.sample(2048, 1, h, w, gen).to(torch::kFloat64);
  const int64_t r = noise.kernel_radius();
  const double interior =
      samples.slice(2, r, h - r).slice(3, r, w - r).square().mean().item<double>();
  const double predicted = full_grid_mean(noise.psd(h, w), w);  // E sum(g^2) by Parseval
  EXPECT_NEAR(interior / predicted, 1.0, 0.03);
  EXPECT_LT(predicted, 0.1);  // ~ 1 / (4 pi sigma^2): far from unit variance, as documented.
  EXPECT_LT(samples.select(2, 0).square().mean().item<double>(),
            0.8 * interior);  // border fall-off
}

// The constructor holds a section built in code to the schema's rules
// (core/config/config_schema.hpp): the error names the offending key as a config file would.
TEST(StructuredNoise, RejectsSectionsTheSchemaRejects) {
  const auto message_of = [](const NoiseConfig& config, torch::Dtype dtype = torch::kFloat32) {
    try {
      StructuredNoise noise(config, dtype);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  const auto mentions = [](const std::string& message, const std::string& part) {
    return message.find(part) != std::string::npos;
  };
  EXPECT_PRED2(mentions, message_of(grf_noise(2.0, 1.0)), "noise.grf_sigma_min");
  EXPECT_PRED2(mentions, message_of(grf_noise(0.0, 1.0)), "noise.grf_sigma_min");
  EXPECT_PRED2(mentions,
               message_of(edited(noise_of(NoiseFamily::kPowerLaw),
                                 [](NoiseConfig& c) { c.power_cutoff = 0.0; })),
               "noise.power_cutoff");
  EXPECT_PRED2(mentions,
               message_of(edited(noise_of(NoiseFamily::kMixture),
                                 [](NoiseConfig& c) { c.white_fraction = 1.5; })),
               "noise.white_fraction");
  EXPECT_PRED2(
      mentions,
      message_of(edited(noise_of(NoiseFamily::kPowerLaw),
                        [](NoiseConfig& c) { c.normalisation = NoiseNormalisation::kKernelSum; })),
      "noise.normalisation");
  EXPECT_PRED2(mentions, message_of(NoiseConfig{}, torch::kInt32), "float32 or float64");
  EXPECT_EQ(message_of(grf_noise(1.0, 1.0), torch::kFloat64), "accepted");
}

TEST(StructuredNoise, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const StructuredNoise noise(anisotropic_rotated(grf_noise(1.0, 4.0)));
  const std::vector<uint64_t> seeds = {1, 2, 3, 4};
  const auto gpu = noise.sample_per_image(seeds, 3, 32, 32, torch::kCUDA);
  ASSERT_TRUE(gpu.is_cuda());
  EXPECT_LT((gpu.cpu() - noise.sample_per_image(seeds, 3, 32, 32)).abs().max().item<float>(), 1e-4);
  torch::Generator gen = at::globalContext().defaultGenerator(torch::kCUDA).clone();
  gen.set_current_seed(5);
  const auto batch = noise.sample(4096, 1, 32, 32, gen, torch::kCUDA);
  ASSERT_TRUE(batch.is_cuda());
  EXPECT_NEAR(batch.to(torch::kFloat64).square().mean().item<double>(), 1.0, 0.02);
}

}  // namespace
}  // namespace wsd
