#pragma once

// 2D intensity diffraction tomography (IDT) under the weak-object approximation (conventions of
// Tian & Waller 2015, real pupil). A thin object with absorption mu and phase phi, illuminated
// by a tilted plane wave of spatial frequency u_j (LED j) and imaged through a circular pupil
// P(u) = [|u| <= NA / wavelength], gives an intensity image whose background-subtracted,
// linearised Fourier transform is
//   I_j(u) = H_A,j(u) mu(u) + H_P,j(u) phi(u),
//   H_A,j(u) = -[P(u_j) P(u + u_j) + P(u_j) P(u - u_j)]      (real, even in u),
//   H_P,j(u) = i [P(u_j) P(u + u_j) - P(u_j) P(u - u_j)]     (imaginary, odd in u).
// Units: u on the fft2 grid of the image in cycles/um, u = fftfreq / pixel_size (pixel_size in
// um, the object-plane pixel), pupil radius NA / wavelength in cycles/um.
//
// LEDs: a led_grid x led_grid square grid, LED j = row * led_grid + col, with illumination NA
// (col - (n-1)/2, row - (n-1)/2) * led_na_spacing along (x = columns, y = rows) and
// u_j = NA_illum / wavelength. led_na_spacing 0 chooses the spacing that puts the corner LEDs
// at 0.9 NA; every LED must lie in the bright field (|NA_illum| <= NA), where P(u_j) = 1.
// An on-axis LED gives no phase contrast (H_P = 0), so phase-only IDT needs off-axis LEDs.
//
// The operator maps the unknown [1, H, W] (phase) or [2, H, W] (absorption, phase) to
// [led_grid^2, H, W], one intensity image per LED. It is Fourier-diagonal with the transfer
// functions [n_led, Cin, H, W]; they are made Hermitian on the discrete grid (which zeroes the
// odd H_P at an even size's Nyquist frequency), so images stay real.

#include <torch/arg.h>

#include <vector>

#include "operators/linear_operator.hpp"

namespace wsd {

struct IdtOptions {
  TORCH_ARG(double, wavelength) = 0.515;  // um
  TORCH_ARG(double, na) = 0.4;
  TORCH_ARG(double, pixel_size) = 0.325;  // um
  TORCH_ARG(int64_t, led_grid) = 5;
  TORCH_ARG(double, led_na_spacing) = 0.0;  // 0 = automatic
  TORCH_ARG(bool, absorption) = false;
};

// The spacing actually used (resolves 0 = automatic).
double idt_led_na_spacing(const IdtOptions& options);

// u_j as float64 [n_led, 2] = (u_x, u_y) in cycles/um. Throws InputError naming
// task.led_na_spacing if an LED falls outside the bright field.
torch::Tensor idt_led_frequencies(const IdtOptions& options);

// complex128 [n_led, Cin, H, W], Cin = 2 ([H_A, H_P]) with absorption, else 1 ([H_P]).
torch::Tensor idt_transfer_functions(const IdtOptions& options, int64_t h, int64_t w);

// What IDT's unknown is made of when measurements are simulated from single-channel images:
// [phase], or [absorption, phase] with the absorption another image scaled by 0.5 (a weak
// absorber beside a phase of full range), the two independent.
std::vector<double> idt_unknown_channel_scales(bool absorption);

// Throws InputError for an input channel count other than Cin and when no LED gives phase
// contrast.
LinearOperator make_idt(const IdtOptions& options, const std::vector<int64_t>& input_shape);

}  // namespace wsd
