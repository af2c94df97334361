#pragma once

// Fourier-diagonal (circulant, shift-invariant) operators, defined only by their transfer
// function T: fft2(A x)[o](f) = sum_i T[o, i](f) fft2(x)[i](f), with the orthonormal 2D DFT on
// the full H x W grid of the input (frequencies fftfreq(H) x fftfreq(W) in cycles/pixel). The
// adjoint is the conjugate transpose T^H[i, o] = conj(T[o, i]).
//
// T must be Hermitian (T(-f) = conj(T(f)) on the discrete torus, f and -f taken modulo the
// grid) so that real images map to real images; then A = irfft2 T rfft2 exactly, which is how
// forward/adjoint run (half the work of the full grid). `hermitian_part` makes a transfer
// function Hermitian; at a Nyquist frequency of an even size (where f and -f coincide) it keeps
// the real part only, which the real operator on real images does anyway.
//
// T is [1, 1, H, W] for a channel-wise filter (broadcast over any number of channels, output
// shape = input shape) or [C', Cin, H, W] for a channel-mixing one (IDT). It is held as a
// registered real buffer [.., H, W, 2] (view_as_real), float64 as built, so that module.to(dtype)
// and .to(device) convert it; inputs of another dtype get it cast per call.

#include <string>
#include <vector>

#include "operators/linear_operator.hpp"

namespace wsd {

class FourierDiagonalOperatorImpl : public LinearOperatorImpl {
 public:
  // `transfer`: complex [C', Cin, H, W] (see above); `input_shape`: [C, H, W] with C = Cin, or
  // any C when the filter is channel-wise; `traits` as LinearOperatorImpl says.
  FourierDiagonalOperatorImpl(std::string kind, const torch::Tensor& transfer,
                              std::vector<int64_t> input_shape, MeasurementTraits traits = {});

  std::string kind() const override { return kind_; }
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::Tensor adjoint(const torch::Tensor& y) override;
  std::vector<int64_t> input_shape() const override { return input_shape_; }
  std::vector<int64_t> output_shape() const override { return output_shape_; }
  std::optional<torch::Tensor> transfer_function() const override;
  MeasurementTraits measurement_traits() const override { return traits_; }

 private:
  torch::Tensor apply(const torch::Tensor& x, bool adjoint) const;

  std::string kind_;
  std::vector<int64_t> input_shape_;
  std::vector<int64_t> output_shape_;
  torch::Tensor transfer_;  // real view [C', Cin, H, W, 2]
  MeasurementTraits traits_;
};
TORCH_MODULE(FourierDiagonalOperator);

// fftfreq(n) / spacing as float64 [n]: cycles per unit of `spacing` (cycles/pixel for 1).
torch::Tensor fft_frequencies(int64_t n, double spacing = 1.0);

// (T + conj(T(-f))) / 2 over the last two axes: the Hermitian part of a transfer function.
torch::Tensor hermitian_part(const torch::Tensor& transfer);

// Reference application of a transfer function on the full fft2 grid, independent of the
// operators' half-grid path: real(ifft2(sum_i T[o, i] fft2(x)[i])) for x [N, Cin, H, W] and T
// [C', Cin, H, W] (or [1, 1, H, W], broadcast over channels). Computed in x's precision.
torch::Tensor apply_transfer_function(const torch::Tensor& x, const torch::Tensor& transfer);

}  // namespace wsd
