#include "core/noise/structured_noise.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>

#include "core/config/config_error.hpp"
#include "core/config/config_validation.hpp"
#include "core/noise/noise_spectrum_file.hpp"
#include "core/util/errors.hpp"

namespace wsd {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kFourPiSq = 4.0 * kPi * kPi;

// Quadrature sizes of psd(). Gauss-Legendre converges geometrically once the node count exceeds
// about e/4 times the decay rate of k^2 in the quantile variable (~55 for stds from 1 px at the
// corner frequencies), and the midpoint rule in a periodic angle does too.
constexpr int64_t kIsotropicNodes = 256;
constexpr int64_t kAnisotropicNodes = 64;
constexpr int64_t kAngleNodes = 64;
// kernel_sum kernels are not separable, so their psd evaluates every node directly.
constexpr int64_t kKernelStdNodes = 32;
constexpr int64_t kKernelAngleNodes = 32;
constexpr int64_t kQuadratureChunk = 4096;

namespace F = torch::fft;

torch::Tensor view_batch(const torch::Tensor& v) { return v.view({-1, 1, 1, 1}); }

// exp(-4 pi^2 q) for the Gaussian spectra. Exponents are clamped at -300: k^2 below ~1e-130 is
// zero for every use, and exp's underflow path is several times slower than its normal one.
constexpr double kMinExponent = -300.0;
torch::Tensor gaussian_power(const torch::Tensor& q) {
  return torch::exp((-kFourPiSq * q).clamp_min(kMinExponent));
}

// Gauss-Legendre nodes and weights mapped to [0, 1] (weights sum to 1), by Newton iteration on
// the Legendre polynomial from the usual cosine initial guesses.
std::pair<torch::Tensor, torch::Tensor> gauss_legendre_unit(int64_t n) {
  auto nodes = torch::empty({n}, torch::kFloat64);
  auto weights = torch::empty({n}, torch::kFloat64);
  auto* x_out = nodes.data_ptr<double>();
  auto* w_out = weights.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    double x = std::cos(kPi * (static_cast<double>(i) + 0.75) / (static_cast<double>(n) + 0.5));
    double derivative = 1.0;
    for (int iteration = 0; iteration < 100; ++iteration) {
      double p_prev = 1.0;
      double p = x;
      for (int64_t k = 2; k <= n; ++k) {
        const double p_next = ((2.0 * static_cast<double>(k) - 1.0) * x * p -
                               (static_cast<double>(k) - 1.0) * p_prev) /
                              static_cast<double>(k);
        p_prev = p;
        p = p_next;
      }
      derivative = static_cast<double>(n) * (x * p - p_prev) / (x * x - 1.0);
      const double step = p / derivative;
      x -= step;
      if (std::abs(step) < 1e-15) break;
    }
    x_out[i] = 0.5 * (1.0 - x);
    w_out[i] = 1.0 / ((1.0 - x * x) * derivative * derivative);
  }
  return {nodes, weights};
}

// Periodises centred kernels [N, 1, K, K] (offsets -R..R) onto an a x b torus, summing taps
// that land on the same bin, so its DFT equals the kernel's DTFT at the torus frequencies.
torch::Tensor wrap_kernel(const torch::Tensor& g, int64_t a, int64_t b) {
  const int64_t size = g.size(-1);
  const int64_t radius = (size - 1) / 2;
  const auto offsets =
      torch::arange(-radius, radius + 1, torch::TensorOptions(torch::kLong).device(g.device()));
  auto rows =
      torch::zeros({g.size(0), 1, a, size}, g.options()).index_add_(2, offsets.remainder(a), g);
  return torch::zeros({g.size(0), 1, a, b}, g.options()).index_add_(3, offsets.remainder(b), rows);
}

// E[k^2] of the unit-variance anisotropic GRF over independent stds with quantile nodes `s` and
// weights `ws` (and uniform angles when rotated). For a fixed angle, k^2_ij(f) = A_i(f) B_j(f)
// factorises over (sx_i, sy_j), so the normalisers Z_ij (full-grid means) and the weighted sum
// over all (i, j) are two matrix products instead of n^2 spectra. Rotated kernels average the
// Nyquist aliases like spectral_power: those bins enter four times with weight 1/4.
torch::Tensor anisotropic_grf_power(const torch::Tensor& s, const torch::Tensor& ws, bool rotated,
                                    int64_t h, int64_t w) {
  const auto grids = rfft2_frequencies(h, w);
  const auto fy = grids.first.expand({h, w / 2 + 1}).flatten();
  const auto fx = grids.second.expand({h, w / 2 + 1}).flatten();
  const auto multiplicity = rfft2_multiplicity(h, w).expand({h, w / 2 + 1}).flatten();
  const auto nyquist = (fy == -0.5).logical_or(fx == 0.5);
  torch::Tensor bin_y = fy, bin_x = fx, bin_index = torch::arange(fy.size(0));
  torch::Tensor bin_weight = torch::ones_like(fy);
  if (rotated && nyquist.any().item<bool>()) {
    const auto regular = torch::nonzero(nyquist.logical_not()).flatten();
    const auto edge = torch::nonzero(nyquist).flatten();
    const auto ey = fy.index_select(0, edge);
    const auto ex = fx.index_select(0, edge);
    const auto ey_alias = torch::where(ey == -0.5, 0.5, ey);
    const auto ex_alias = torch::where(ex == 0.5, -0.5, ex);
    bin_y = torch::cat({fy.index_select(0, regular), ey, ey, ey_alias, ey_alias});
    bin_x = torch::cat({fx.index_select(0, regular), ex, ex_alias, ex, ex_alias});
    bin_index = torch::cat({regular, edge, edge, edge, edge});
    bin_weight = torch::cat({torch::ones({regular.size(0)}, torch::kFloat64),
                             torch::full({4 * edge.size(0)}, 0.25, torch::kFloat64)});
  }
  const auto bin_mass = multiplicity.index_select(0, bin_index) * bin_weight;
  // Many angles at once ([angles, nodes, bins] and batched matrix products): a handful of large
  // operations rather than a loop of small ones, in chunks of about 8M elements.
  const int64_t n_angle = rotated ? kAngleNodes : 1;
  const auto theta =
      rotated ? kPi * (torch::arange(n_angle, torch::kFloat64) + 0.5) / static_cast<double>(n_angle)
              : torch::zeros({1}, torch::kFloat64);
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 23) / (s.size(0) * bin_y.size(0)));
  const auto s2 = s.square().view({1, -1, 1});
  const auto pair_weight = torch::outer(ws, ws);
  auto contribution = torch::zeros_like(bin_y);
  for (int64_t start = 0; start < n_angle; start += chunk) {
    const auto angle = theta.slice(0, start, std::min(n_angle, start + chunk));
    const auto c = torch::cos(angle).view({-1, 1});
    const auto sn = torch::sin(angle).view({-1, 1});
    const auto u = (c * bin_x + sn * bin_y).unsqueeze(1);  // [angles, 1, bins]
    const auto v = (c * bin_y - sn * bin_x).unsqueeze(1);
    const auto along_x = gaussian_power(s2 * u.square());  // [angles, nodes, bins]
    const auto along_y = gaussian_power(s2 * v.square());
    const auto normaliser =
        torch::bmm(along_x * bin_mass, along_y.transpose(1, 2)) / static_cast<double>(h * w);
    contribution +=
        (along_x * torch::bmm(pair_weight / normaliser, along_y)).sum(std::vector<int64_t>{0, 1});
  }
  contribution *= bin_weight / static_cast<double>(n_angle);
  auto total = torch::zeros_like(fy).index_add_(0, bin_index, contribution);
  return total.view({h, w / 2 + 1});
}

}  // namespace

torch::Tensor rfft2_multiplicity(int64_t h, int64_t w, torch::TensorOptions options) {
  (void)h;  // Multiplicity depends on the column only; h keeps the call self-describing.
  const int64_t columns = w / 2 + 1;
  auto m = torch::full({1, columns}, 2.0, options.dtype(torch::kFloat64));
  m.index_put_({0, 0}, 1.0);
  if (w % 2 == 0) m.index_put_({0, columns - 1}, 1.0);
  return m;
}

std::pair<torch::Tensor, torch::Tensor> rfft2_frequencies(int64_t h, int64_t w,
                                                          torch::TensorOptions options) {
  options = options.dtype(torch::kFloat64);
  return {F::fftfreq(h, options).view({h, 1}), F::rfftfreq(w, options).view({1, w / 2 + 1})};
}

NoiseParams NoiseParams::to(torch::Device device) const {
  NoiseParams out = *this;
  if (sigma_x.defined()) out.sigma_x = sigma_x.to(device);
  if (sigma_y.defined()) out.sigma_y = sigma_y.to(device);
  if (angle.defined()) out.angle = angle.to(device);
  return out;
}

NoiseParams NoiseParams::cat(const std::vector<NoiseParams>& parts) {
  NoiseParams out;
  std::vector<torch::Tensor> sx, sy, angle;
  for (const auto& part : parts) {
    out.batch += part.batch;
    if (part.sigma_x.defined()) sx.push_back(part.sigma_x);
    if (part.sigma_y.defined()) sy.push_back(part.sigma_y);
    if (part.angle.defined()) angle.push_back(part.angle);
  }
  if (!sx.empty()) out.sigma_x = torch::cat(sx);
  if (!sy.empty()) out.sigma_y = torch::cat(sy);
  if (!angle.empty()) out.angle = torch::cat(angle);
  return out;
}

struct StructuredNoise::DeviceCopies {
  std::mutex mutex;
  std::vector<std::pair<torch::Device, torch::Tensor>> copies;
};

StructuredNoise::StructuredNoise(const NoiseConfig& config, torch::Dtype dtype)
    : StructuredNoise(config, MeasuredPower{}, dtype) {}

StructuredNoise::StructuredNoise(const NoiseConfig& config, MeasuredPower measured,
                                 torch::Dtype dtype)
    : config_(config), dtype_(dtype) {
  if (dtype_ != torch::kFloat32 && dtype_ != torch::kFloat64) {
    throw InputError("structured noise dtype must be float32 or float64");
  }
  try {
    validate_noise_section(config_);
  } catch (const ConfigError& e) {
    throw InputError(e.what());
  }
  if (config_.family != NoiseFamily::kMeasured) return;
  if (!measured.power.defined()) {
    const NoiseSpectrum spectrum = read_noise_spectrum(config_.spectrum_file);
    measured = {spectrum.power, spectrum.width, config_.spectrum_file};
  }
  const auto& power = measured.power;
  if (power.dim() != 2 || power.size(1) != measured.width / 2 + 1 ||
      !torch::isfinite(power).all().item<bool>() || (power < 0).any().item<bool>()) {
    throw InputError(measured.source +
                     ": the measured noise power is not a finite, "
                     "non-negative [H, W/2+1] spectrum");
  }
  const double variance = full_grid_mean(power, measured.width);
  if (!(variance > 0)) throw InputError(measured.source + ": the measured noise power is 0");
  measured.power = (power.to(torch::kCPU, torch::kFloat64) / variance).contiguous();
  measured_ = std::move(measured);
  device_copies_ = std::make_shared<DeviceCopies>();
}

torch::Tensor StructuredNoise::measured_power(int64_t h, int64_t w, torch::Device device) const {
  const int64_t fitted_h = measured_.power.size(0);
  if (h != fitted_h || w != measured_.width) {
    throw InputError(measured_.source + ": the measured noise spectrum is " +
                     std::to_string(fitted_h) + " x " + std::to_string(measured_.width) +
                     " but the noise is drawn on " + std::to_string(h) + " x " + std::to_string(w) +
                     " images (fit it from frames of that size)");
  }
  const double white = config_.spectrum_white_fraction;
  // A fresh tensor on the CPU (callers may scale what psd returns in place), one shared copy
  // per accelerator, which only the colouring multiplies by.
  if (device.is_cpu()) return (1.0 - white) * measured_.power + white;
  const std::lock_guard<std::mutex> lock(device_copies_->mutex);
  for (const auto& [on, power] : device_copies_->copies) {
    if (on == device) return power;
  }
  auto power = ((1.0 - white) * measured_.power + white).to(device);
  device_copies_->copies.emplace_back(device, power);
  return power;
}

bool StructuredNoise::has_grf() const {
  return config_.family == NoiseFamily::kGrf || config_.family == NoiseFamily::kMixture;
}

int64_t StructuredNoise::kernel_radius() const {
  if (!has_grf()) return 0;
  return static_cast<int64_t>(std::ceil(4.0 * config_.grf_sigma_max));
}

NoiseParams StructuredNoise::draw_params(int64_t n, torch::Generator& gen,
                                         torch::Device device) const {
  NoiseParams params;
  params.batch = n;
  if (!has_grf()) return params;
  const auto opts = torch::TensorOptions(torch::kFloat64).device(gen.device());
  const double lo = config_.grf_sigma_min;
  const double hi = config_.grf_sigma_max;
  const auto quantile = [&](const torch::Tensor& u) {
    if (config_.grf_sampling == GrfSampling::kUniform) return lo + (hi - lo) * u;
    return torch::exp(std::log(lo) + std::log(hi / lo) * u);
  };
  params.sigma_x = quantile(torch::rand({n}, gen, opts));
  params.sigma_y = config_.anisotropic ? quantile(torch::rand({n}, gen, opts)) : params.sigma_x;
  if (config_.rotate) params.angle = kPi * torch::rand({n}, gen, opts);
  return params.to(device);
}

torch::Tensor StructuredNoise::spectral_power(const NoiseParams& params, int64_t h, int64_t w,
                                              torch::Device device) const {
  if (params.sigma_x.defined()) device = params.sigma_x.device();
  const auto opts = torch::TensorOptions(torch::kFloat64).device(device);
  const auto [fy, fx] = rfft2_frequencies(h, w, opts);
  const auto multiplicity = rfft2_multiplicity(h, w, opts);
  const auto normalise = [&](const torch::Tensor& power) {
    const auto mean = (power * multiplicity).sum({-2, -1}, true) / static_cast<double>(h * w);
    return power / mean;
  };
  const int64_t batch = std::max<int64_t>(params.batch, 1);

  switch (config_.family) {
    case NoiseFamily::kWhite:
      return torch::ones({batch, 1, h, w / 2 + 1}, opts);
    case NoiseFamily::kPowerLaw: {
      const auto radius = torch::sqrt(fx.square() + fy.square());
      const auto power =
          normalise(torch::pow(radius + config_.power_cutoff, -config_.power_exponent));
      return power.view({1, 1, h, w / 2 + 1}).expand({batch, 1, h, w / 2 + 1});
    }
    case NoiseFamily::kMeasured:
      return measured_power(h, w, device)
          .view({1, 1, h, w / 2 + 1})
          .expand({batch, 1, h, w / 2 + 1});
    case NoiseFamily::kGrf:
    case NoiseFamily::kMixture:
      break;
  }

  TORCH_CHECK(params.sigma_x.defined() && params.sigma_x.size(0) == params.batch,
              "structured noise: GRF parameters missing for a batch of ", params.batch);
  const auto sx2 = view_batch(params.sigma_x.square());
  const auto sy2 = view_batch(params.sigma_y.square());
  const bool rotated = params.angle.defined() && config_.anisotropic;
  torch::Tensor power;
  if (!rotated) {
    power = gaussian_power(sx2 * fx.square() + sy2 * fy.square());
  } else {
    const auto c = view_batch(torch::cos(params.angle));
    const auto s = view_batch(torch::sin(params.angle));
    const auto gaussian = [&](const torch::Tensor& gy, const torch::Tensor& gx) {
      const auto u = c * gx + s * gy;
      const auto v = c * gy - s * gx;
      return gaussian_power(sx2 * u.square() + sy2 * v.square());
    };
    power = gaussian(fy, fx);
    // A Nyquist coordinate is both +1/2 and -1/2 and a rotated kernel is not even in each axis
    // separately: average k^2 over both aliases there, which keeps k^2(f) = k^2(-f) on the
    // torus (irfft2 then sees a Hermitian spectrum). Only the Nyquist row/column change.
    auto fx_alias = fx.clone();
    if (w % 2 == 0) {
      const auto nyquist = fx.narrow(1, w / 2, 1);
      power.narrow(-1, w / 2, 1).copy_(0.5 * (gaussian(fy, nyquist) + gaussian(fy, -nyquist)));
      fx_alias.narrow(1, w / 2, 1).fill_(-0.5);
    }
    if (h % 2 == 0) {
      const auto nyquist = fy.narrow(0, h / 2, 1);
      power.narrow(-2, h / 2, 1)
          .copy_(0.25 * (gaussian(nyquist, fx) + gaussian(-nyquist, fx) +
                         gaussian(nyquist, fx_alias) + gaussian(-nyquist, fx_alias)));
    }
  }
  power = normalise(power);
  if (config_.family == NoiseFamily::kMixture) {
    const double white = config_.white_fraction;
    power = (1.0 - white) * power + white;
  }
  return power;
}

torch::Tensor StructuredNoise::spatial_kernel(const NoiseParams& params) const {
  TORCH_CHECK(params.sigma_x.defined(), "spatial_kernel needs GRF parameters");
  const int64_t radius = kernel_radius();
  const auto opts = torch::TensorOptions(torch::kFloat64).device(params.sigma_x.device());
  const auto offsets = torch::arange(-radius, radius + 1, opts);
  auto x = offsets.view({1, 1, 1, -1});
  auto y = offsets.view({1, 1, -1, 1});
  torch::Tensor u = x;
  torch::Tensor v = y;
  if (params.angle.defined() && config_.anisotropic) {
    const auto c = view_batch(torch::cos(params.angle));
    const auto s = view_batch(torch::sin(params.angle));
    u = c * x + s * y;
    v = c * y - s * x;
  }
  const auto g = torch::exp(-0.5 * (u.square() / view_batch(params.sigma_x.square()) +
                                    v.square() / view_batch(params.sigma_y.square())));
  return g / g.sum({-2, -1}, true);
}

torch::Tensor StructuredNoise::transfer_function(const NoiseParams& params, int64_t h,
                                                 int64_t w) const {
  if (config_.normalisation == NoiseNormalisation::kKernelSum && has_grf()) {
    // The kernel is centrally symmetric, so its DFT is real.
    return torch::real(F::rfft2(wrap_kernel(spatial_kernel(params), h, w)));
  }
  return torch::sqrt(spectral_power(params, h, w, torch::kCPU));
}

torch::Tensor StructuredNoise::convolve_linear(const torch::Tensor& e,
                                               const NoiseParams& params) const {
  const int64_t h = e.size(-2);
  const int64_t w = e.size(-1);
  const int64_t radius = kernel_radius();
  // Zero-padding to >= H + R (and >= the kernel size) makes the circular convolution on the
  // padded torus equal the linear one on the cropped H x W window.
  const int64_t ph = std::max(h + radius, 2 * radius + 1);
  const int64_t pw = std::max(w + radius, 2 * radius + 1);
  const auto kernel = wrap_kernel(spatial_kernel(params.to(e.device())), ph, pw);
  const auto spectrum =
      F::rfft2(e, std::vector<int64_t>{ph, pw}) * F::rfft2(kernel.to(e.scalar_type()));
  return F::irfft2(spectrum, std::vector<int64_t>{ph, pw})
      .slice(-2, 0, h)
      .slice(-1, 0, w)
      .contiguous();
}

torch::Tensor StructuredNoise::apply(const torch::Tensor& e, const NoiseParams& params) const {
  TORCH_CHECK(e.dim() == 4, "apply expects white noise [N, C, H, W], got ", e.sizes());
  TORCH_CHECK(params.batch == e.size(0), "apply: ", params.batch, " parameter sets for ", e.size(0),
              " samples");
  if (config_.family == NoiseFamily::kWhite) return e.clone();
  if (config_.normalisation == NoiseNormalisation::kKernelSum) {
    return convolve_linear(e, params);
  }
  const int64_t h = e.size(-2);
  const int64_t w = e.size(-1);
  const auto k =
      torch::sqrt(spectral_power(params.to(e.device()), h, w, e.device())).to(e.scalar_type());
  return F::irfft2(F::rfft2(e, c10::nullopt, {-2, -1}, "ortho") * k, std::vector<int64_t>{h, w},
                   {-2, -1}, "ortho");
}

torch::Tensor StructuredNoise::sample(int64_t n, int64_t c, int64_t h, int64_t w,
                                      torch::Generator& gen, torch::Device device) const {
  const auto params = draw_params(n, gen, device);
  const int64_t drawn_channels = config_.channel_mode == ChannelMode::kGray ? 1 : c;
  auto e = torch::randn({n, drawn_channels, h, w}, gen,
                        torch::TensorOptions(dtype_).device(gen.device()))
               .to(device);
  auto noise = config_.family == NoiseFamily::kWhite ? e : apply(e, params);
  if (drawn_channels != c) noise = noise.expand({n, c, h, w}).contiguous();
  return noise;
}

torch::Tensor StructuredNoise::sample_per_image(const std::vector<uint64_t>& seeds, int64_t c,
                                                int64_t h, int64_t w, torch::Device device) const {
  TORCH_CHECK(!seeds.empty(), "sample_per_image needs at least one seed");
  const int64_t n = static_cast<int64_t>(seeds.size());
  const int64_t drawn_channels = config_.channel_mode == ChannelMode::kGray ? 1 : c;
  std::vector<NoiseParams> params;
  std::vector<torch::Tensor> white;
  params.reserve(seeds.size());
  white.reserve(seeds.size());
  for (const uint64_t seed : seeds) {
    torch::Generator gen = at::detail::createCPUGenerator(seed);
    params.push_back(draw_params(1, gen, torch::kCPU));
    white.push_back(torch::randn({1, drawn_channels, h, w}, gen, dtype_));
  }
  const auto e = torch::cat(white).to(device);
  auto noise = config_.family == NoiseFamily::kWhite ? e : apply(e, NoiseParams::cat(params));
  if (drawn_channels != c) noise = noise.expand({n, c, h, w}).contiguous();
  return noise;
}

torch::Tensor StructuredNoise::psd(int64_t h, int64_t w) const {
  const bool kernel_sum = config_.normalisation == NoiseNormalisation::kKernelSum;
  const auto power_of = [&](const NoiseParams& params) {
    if (kernel_sum) return transfer_function(params, h, w).square();
    return spectral_power(params, h, w, torch::kCPU);
  };
  if (!has_grf()) {
    NoiseParams single;
    single.batch = 1;
    return power_of(single).view({h, w / 2 + 1}).contiguous();
  }
  const double lo = config_.grf_sigma_min;
  const double hi = config_.grf_sigma_max;
  const auto quantile = [&](const torch::Tensor& u) {
    if (config_.grf_sampling == GrfSampling::kUniform) return lo + (hi - lo) * u;
    return torch::exp(std::log(lo) + std::log(hi / lo) * u);
  };
  const bool rotated = config_.anisotropic && config_.rotate;
  if (config_.anisotropic && !kernel_sum) {
    auto [u, weight] = gauss_legendre_unit(kAnisotropicNodes);
    auto power = anisotropic_grf_power(quantile(u), weight, rotated, h, w);
    if (config_.family == NoiseFamily::kMixture) {
      power = (1.0 - config_.white_fraction) * power + config_.white_fraction;
    }
    return power;
  }

  // Direct tensor-product quadrature: every node's k^2 through the sampling code path.
  const int64_t n_std = !config_.anisotropic ? kIsotropicNodes : kKernelStdNodes;
  auto [u, wu] = gauss_legendre_unit(n_std);
  const auto s = quantile(u);
  torch::Tensor sx, sy, angle, weight;
  if (!config_.anisotropic) {
    sx = sy = s;
    weight = wu;
  } else {
    const int64_t n_angle = rotated ? kKernelAngleNodes : 1;
    const auto theta =
        kPi * (torch::arange(n_angle, torch::kFloat64) + 0.5) / static_cast<double>(n_angle);
    auto grid = torch::meshgrid({s, s, theta}, "ij");
    sx = grid[0].flatten();
    sy = grid[1].flatten();
    if (rotated) angle = grid[2].flatten();
    weight = (torch::outer(wu, wu).unsqueeze(-1) / static_cast<double>(n_angle))
                 .expand({n_std, n_std, n_angle})
                 .flatten();
  }
  auto total = torch::zeros({h, w / 2 + 1}, torch::kFloat64);
  const int64_t nodes = sx.size(0);
  for (int64_t start = 0; start < nodes; start += kQuadratureChunk) {
    const int64_t stop = std::min(nodes, start + kQuadratureChunk);
    NoiseParams chunk;
    chunk.batch = stop - start;
    chunk.sigma_x = sx.slice(0, start, stop);
    chunk.sigma_y = sy.slice(0, start, stop);
    if (angle.defined()) chunk.angle = angle.slice(0, start, stop);
    total += (power_of(chunk) * view_batch(weight.slice(0, start, stop)))
                 .sum(std::vector<int64_t>{0, 1});
  }
  return total;
}

}  // namespace wsd
