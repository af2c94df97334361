#include "infer/baselines/wiener_filter.hpp"

#include <torch/torch.h>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

torch::Tensor fft2(const torch::Tensor& x) {
  return torch::fft::fft2(x, c10::nullopt, {-2, -1}, "ortho");
}

// A spectrum floor: a zero prior power (or noise power) would make the system singular.
torch::Tensor floored(const torch::Tensor& power) {
  return power.clamp_min(1e-12 * power.max().item<double>() + 1e-300);
}

}  // namespace

torch::Tensor wiener_filter(LinearOperatorImpl& op, const torch::Tensor& y,
                            const GaussianMeasurementModel& model) {
  const auto transfer = op.transfer_function();
  if (!transfer) {
    throw InputError("the Wiener filter needs a Fourier-diagonal operator; " + op.kind() +
                     " is not (use tikhonov)");
  }
  const auto in_shape = op.input_shape();
  const int64_t c = in_shape[0], h = in_shape[1], w = in_shape[2];
  const auto device = y.device();
  const auto m = model.to(device);
  const auto mean = m.prior_mean.unsqueeze(0);  // [1, C, H, W]
  const auto y_hat =
      fft2(y.to(torch::kFloat64) - op.forward(mean.to(y.scalar_type())).to(torch::kFloat64));
  const auto t = transfer->to(device, torch::kComplexDouble);  // [C', Cin, H, W]
  const auto prior =
      floored(full_grid_spectrum(m.prior_power, w)).expand(std::vector<int64_t>{c, h, w});
  auto noise = floored(full_grid_spectrum(m.noise_power, w));
  if (noise.dim() == 2) noise = noise.unsqueeze(0);

  torch::Tensor x_hat;
  if (t.size(0) == 1 && t.size(1) == 1) {
    // The same filter on every channel.
    const auto t0 = t[0][0];
    x_hat = torch::conj(t0) * prior / (t0.abs().square() * prior + noise) * y_hat;
  } else {
    // Per frequency: (T^H N^-1 T + P^-1) x = T^H N^-1 y, frequencies as the batch dimension.
    const auto tf = t.permute({2, 3, 0, 1});  // [H, W, C', Cin]
    const auto inv_noise = (1.0 / noise)
                               .expand(std::vector<int64_t>{t.size(0), h, w})
                               .permute({1, 2, 0});                              // [H, W, C']
    const auto th_ninv = tf.conj().transpose(-2, -1) * inv_noise.unsqueeze(-2);  // [H, W, Cin, C']
    auto system = torch::matmul(th_ninv, tf);                                    // [H, W, Cin, Cin]
    system = system + torch::diag_embed((1.0 / prior).permute({1, 2, 0})).to(torch::kComplexDouble);
    const auto rhs = torch::matmul(th_ninv.unsqueeze(0), y_hat.permute({0, 2, 3, 1}).unsqueeze(-1));
    x_hat = torch::linalg_solve(system.unsqueeze(0), rhs).squeeze(-1).permute({0, 3, 1, 2});
  }
  const auto x = torch::real(torch::fft::ifft2(x_hat, c10::nullopt, {-2, -1}, "ortho")) + mean;
  return x.to(y.scalar_type());
}

}  // namespace wsd
