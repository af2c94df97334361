#include "operators/idt.hpp"

#include <cmath>
#include <sstream>

#include "core/util/errors.hpp"
#include "operators/fourier_diagonal_operator.hpp"

namespace wsd {

double idt_led_na_spacing(const IdtOptions& options) {
  if (options.led_na_spacing() > 0 || options.led_grid() == 1) return options.led_na_spacing();
  const double corner_steps = std::sqrt(2.0) * static_cast<double>(options.led_grid() - 1) / 2;
  return 0.9 * options.na() / corner_steps;
}

torch::Tensor idt_led_frequencies(const IdtOptions& options) {
  const int64_t n = options.led_grid();
  const double spacing = idt_led_na_spacing(options);
  const double corner_na = spacing * std::sqrt(2.0) * static_cast<double>(n - 1) / 2;
  if (corner_na > options.na()) {
    std::ostringstream msg;
    msg << "task.led_na_spacing " << spacing << " puts the corner LEDs of the " << n << "x" << n
        << " grid at illumination NA " << corner_na << ", outside the bright field (task.na "
        << options.na() << ")";
    throw InputError(msg.str());
  }
  const auto steps = torch::arange(n, torch::kFloat64) - static_cast<double>(n - 1) / 2;
  const auto na_illum = steps * spacing;
  const auto ux = na_illum.view({1, n}).expand({n, n}).reshape({n * n});
  const auto uy = na_illum.view({n, 1}).expand({n, n}).reshape({n * n});
  return torch::stack({ux, uy}, 1) / options.wavelength();
}

torch::Tensor idt_transfer_functions(const IdtOptions& options, int64_t h, int64_t w) {
  const auto leds = idt_led_frequencies(options);
  const int64_t n_led = leds.size(0);
  const double radius = options.na() / options.wavelength();
  const auto fy = fft_frequencies(h, options.pixel_size()).view({1, h, 1});
  const auto fx = fft_frequencies(w, options.pixel_size()).view({1, 1, w});
  const auto ujx = leds.select(1, 0).view({n_led, 1, 1});
  const auto ujy = leds.select(1, 1).view({n_led, 1, 1});
  const auto pupil = [&](const torch::Tensor& vx, const torch::Tensor& vy) {
    return (vx.square() + vy.square() <= radius * radius).to(torch::kFloat64);
  };
  // Every LED is in the bright field (checked above): P(u_j) = 1.
  const auto plus = pupil(fx + ujx, fy + ujy);   // P(u + u_j)   [n_led, H, W]
  const auto minus = pupil(fx - ujx, fy - ujy);  // P(u - u_j)
  const auto h_a = hermitian_part((-(plus + minus)).to(torch::kComplexDouble));
  const auto h_p = hermitian_part(torch::complex(torch::zeros_like(plus), plus - minus));
  if (options.absorption()) return torch::stack({h_a, h_p}, 1);
  return h_p.unsqueeze(1);
}

std::vector<double> idt_unknown_channel_scales(bool absorption) {
  if (absorption) return {0.5, 1.0};
  return {1.0};
}

LinearOperator make_idt(const IdtOptions& options, const std::vector<int64_t>& input_shape) {
  const int64_t channels = options.absorption() ? 2 : 1;
  if (input_shape[0] != channels) {
    std::ostringstream msg;
    msg << "task.absorption " << (options.absorption() ? "true" : "false") << ": idt needs "
        << channels
        << (options.absorption() ? " input channels [absorption, phase]" : " input channel (phase)")
        << ", got " << input_shape[0];
    throw InputError(msg.str());
  }
  const auto t = idt_transfer_functions(options, input_shape[1], input_shape[2]);
  const auto phase_transfer = t.select(1, channels - 1);
  if (!phase_transfer.abs().gt(0).any().item<bool>()) {
    std::ostringstream msg;
    msg << "task.led_grid " << options.led_grid() << ": no LED gives phase contrast (an "
        << "on-axis LED has none; use led_grid >= 2 or a larger task.led_na_spacing)";
    throw InputError(msg.str());
  }
  MeasurementTraits traits;
  traits.is_image = false;
  traits.separate_exposures = true;  // one exposure per LED
  return make_linear_operator<FourierDiagonalOperatorImpl>("idt", t, input_shape, traits);
}

}  // namespace wsd
