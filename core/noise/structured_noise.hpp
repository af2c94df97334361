#pragma once

// Structured (spectrally shaped) Gaussian noise n = K e, e ~ N(0, I), the noise of the WS
// forward process. K is a real, non-negative Fourier multiplier k(f) applied circularly:
// n = irfft2(k * rfft2(e)) with the orthonormal FFT, so Cov(n) = F^-1 diag(k^2) F.
//
// Units and conventions used throughout:
// - frequencies are in cycles/pixel on the rfft2 grid: fy = fftfreq(H) along rows and
//   fx = rfftfreq(W) along columns, shape [H, W/2 + 1];
// - a power spectrum is the expected |rfft2_ortho(n)|^2 per frequency ("per-pixel variance
//   units"): the mean of the PSD over the FULL H x W grid is the pixel variance. On the half
//   grid, columns 1 .. (W-1)/2 stand for two frequencies (f and -f), column 0 and, for even W,
//   the Nyquist column W/2 for one (see rfft2_multiplicity);
// - per-sample parameters (GRF stds, angle) are float64; noise is in the dtype given to the
// constructor.
//
// Families (k before normalisation):
// - white:     k = 1;
// - grf:       k(f) = exp(-2 pi^2 (sx^2 u^2 + sy^2 v^2)), (u, v) = R(angle) (fx, fy), the spectrum
//              of a Gaussian kernel with std (sx, sy) px rotated by `angle`. At a Nyquist
//              coordinate (fx = 1/2 for even W, fy = -1/2 for even H) the two aliases +-1/2 are
//              averaged in k^2, which keeps k^2 even on the discrete torus (irfft2 then sees a
//              Hermitian spectrum) when the kernel is rotated;
// - power_law: k(f) = (|f| + f0)^(-a/2);
// - mixture:   k^2 = (1 - w) k_grf^2 + w, i.e. n has the law of sqrt(1-w) n_grf + sqrt(w) n_white
//              for independent unit-variance GRF and white noise, realised with a single e so that
//              K stays one Fourier multiplier (what the whitened score and Gaussian prior use).
// - measured:  k^2 = (1 - w) P + w with P the power of `spectrum_file` (written by `wsdiff noise
//              fit`) scaled to unit pixel variance and w = spectrum_white_fraction: any stationary
//              spectrum, anisotropic ones (stripes, row/column noise) included. P is defined on
//              one H x W grid only; other sizes are an InputError naming the file.
// Normalisation:
// - unit_variance (default): each sample's k is scaled so that mean_{full grid}(k^2) = 1, i.e.
//   every pixel of K e has variance exactly 1;
// - kernel_sum (the authors' convention, white and grf only): the spatial Gaussian kernel is
//   sampled on integer offsets |dx|, |dy| <= R = ceil(4 grf_sigma_max), normalised to sum 1 and
//   applied by zero-padded LINEAR convolution. Its pixel variance is sum(g^2) ~ 1/(4 pi sx sy),
//   not 1, and it falls towards the borders; transfer_function/psd report the stationary
//   (interior) spectrum |DFT of the kernel|^2, which ignores that border fall-off.

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config/config_types.hpp"

namespace wsd {

// Per-sample parameters of a batch. sigma_x/sigma_y/angle are float64 [batch] and undefined
// for families without random parameters (white, power_law); angle is undefined without
// rotation.
struct NoiseParams {
  int64_t batch = 0;
  torch::Tensor sigma_x;
  torch::Tensor sigma_y;
  torch::Tensor angle;

  NoiseParams to(torch::Device device) const;
  static NoiseParams cat(const std::vector<NoiseParams>& parts);
};

// The measured family's spectrum as a StructuredNoise holds it: float64 [H, W/2+1] on CPU,
// scaled to unit pixel variance (mean over the full H x W grid = 1), before any white share.
struct MeasuredPower {
  torch::Tensor power;  // undefined for the other families
  int64_t width = 0;    // W (the half grid alone does not tell an odd W from an even one)
  std::string source;   // the file it came from, for errors
};

class StructuredNoise {
 public:
  // The `noise` section itself (core/config/config_types.hpp) describes the family; its value
  // rules are the schema's (validate_noise_section), so a section built in code is held to the
  // same rules as one loaded from YAML. `dtype` (float32 or float64) is the samples' type.
  // The measured family reads config.spectrum_file here (InputError naming it when missing or
  // malformed).
  explicit StructuredNoise(const NoiseConfig& config = {}, torch::Dtype dtype = torch::kFloat32);
  // The measured family with its spectrum given instead of read (a prior's embedded copy, so a
  // shipped prior needs no spectrum file); `measured` is ignored by the other families, and an
  // undefined power falls back to reading the file.
  StructuredNoise(const NoiseConfig& config, MeasuredPower measured,
                  torch::Dtype dtype = torch::kFloat32);

  const NoiseConfig& config() const { return config_; }
  // The measured family's normalised spectrum (power undefined for the other families).
  const MeasuredPower& measured() const { return measured_; }
  torch::Dtype dtype() const { return dtype_; }

  // Draws `n` samples' parameters with `gen`, in this order: sigma_x, sigma_y (anisotropic),
  // angle (rotate); each a single [n] draw, on the generator's device, then moved to `device`.
  NoiseParams draw_params(int64_t n, torch::Generator& gen, torch::Device device) const;

  // A batch [n, c, h, w] in dtype() on `device`: parameters, then white noise
  // [n, 1 (gray) or c, h, w] from `gen`, coloured in one batched FFT. Draws happen on the
  // generator's device (pass a generator of `device`'s type to avoid a host-device copy).
  torch::Tensor sample(int64_t n, int64_t c, int64_t h, int64_t w, torch::Generator& gen,
                       torch::Device device = torch::kCPU) const;

  // Image i draws its parameters and white noise from a CPU generator seeded with seeds[i]
  // alone, so results depend neither on the batch composition nor on the device; the
  // colouring runs batched on `device`. With one seed it equals sample(1, ...) on a CPU
  // generator with that seed.
  torch::Tensor sample_per_image(const std::vector<uint64_t>& seeds, int64_t c, int64_t h,
                                 int64_t w, torch::Device device = torch::kCPU) const;

  // Colours white noise e [N, C, H, W] (every channel with its sample's filter). Gray mode is a
  // property of how e is drawn (one channel, expanded), not of apply.
  torch::Tensor apply(const torch::Tensor& e, const NoiseParams& params) const;

  // k(f) per sample, float64 [N, 1, H, W/2+1] on the parameters' device (CPU when the family
  // has no parameters), normalisation included. For kernel_sum it is the kernel's DFT.
  torch::Tensor transfer_function(const NoiseParams& params, int64_t h, int64_t w) const;

  // E|rfft2_ortho(n)|^2 per frequency averaged over the parameter distribution, float64
  // [H, W/2+1] on CPU. Deterministic tensor-product quadrature over the parameters' quantiles:
  // Gauss-Legendre in each std (256 nodes isotropic, 64 per axis anisotropic) and the midpoint
  // rule in the angle (64 nodes; geometric convergence for a smooth periodic integrand). The
  // anisotropic sum factorises per angle into matrix products, so it costs little more than
  // the isotropic one; kernel_sum evaluates 32 x 32 (x 32 angles) kernels directly.
  torch::Tensor psd(int64_t h, int64_t w) const;

  // kernel_sum: the spatial kernels [N, 1, 2R+1, 2R+1] (float64, sum 1) and their radius R.
  torch::Tensor spatial_kernel(const NoiseParams& params) const;
  int64_t kernel_radius() const;

 private:
  bool has_grf() const;
  // Normalised k^2 [N, 1, H, W/2+1] of the Fourier-multiplier families (unit_variance).
  torch::Tensor spectral_power(const NoiseParams& params, int64_t h, int64_t w,
                               torch::Device device) const;
  torch::Tensor convolve_linear(const torch::Tensor& e, const NoiseParams& params) const;

  // k^2 of the measured family [H, W/2+1]; InputError naming the file for another size.
  torch::Tensor measured_power(int64_t h, int64_t w, torch::Device device) const;

  NoiseConfig config_;
  torch::Dtype dtype_;
  MeasuredPower measured_;
  // Device copies of the measured k^2, made once per device and shared by copies of this noise:
  // a host-to-device copy per batch would make the host wait for the device at every step.
  struct DeviceCopies;
  std::shared_ptr<DeviceCopies> device_copies_;
};

// How many full-grid frequencies each rfft2 bin stands for: [1, W/2+1] float64 with 1 for
// column 0 (and the Nyquist column W/2 when W is even) and 2 elsewhere. Its sum times H is H*W.
torch::Tensor rfft2_multiplicity(int64_t h, int64_t w,
                                 torch::TensorOptions options = torch::kFloat64);

// fy = fftfreq(H) as [H, 1] and fx = rfftfreq(W) as [1, W/2+1], cycles/pixel.
std::pair<torch::Tensor, torch::Tensor> rfft2_frequencies(
    int64_t h, int64_t w, torch::TensorOptions options = torch::kFloat64);

}  // namespace wsd
