#include "operators/fourier_diagonal_operator.hpp"

#include <utility>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

bool is_channel_wise(const torch::Tensor& transfer) {
  return transfer.size(0) == 1 && transfer.size(1) == 1;
}

torch::ScalarType complex_type_of(const torch::Tensor& x) {
  return x.scalar_type() == torch::kFloat64 ? torch::kComplexDouble : torch::kComplexFloat;
}

}  // namespace

FourierDiagonalOperatorImpl::FourierDiagonalOperatorImpl(std::string kind,
                                                         const torch::Tensor& transfer,
                                                         std::vector<int64_t> input_shape,
                                                         MeasurementTraits traits)
    : kind_(std::move(kind)), input_shape_(std::move(input_shape)), traits_(traits) {
  TORCH_CHECK(transfer.is_complex() && transfer.dim() == 4, kind_,
              ": transfer function must be complex [C', Cin, H, W]");
  TORCH_CHECK(input_shape_.size() == 3, kind_, ": input shape must be [C, H, W]");
  TORCH_CHECK(transfer.size(2) == input_shape_[1] && transfer.size(3) == input_shape_[2], kind_,
              ": transfer function grid ", transfer.sizes(), " does not match the image");
  TORCH_CHECK(is_channel_wise(transfer) || transfer.size(1) == input_shape_[0], kind_,
              ": transfer function expects ", transfer.size(1), " input channels, got ",
              input_shape_[0]);
  output_shape_ = input_shape_;
  if (!is_channel_wise(transfer)) output_shape_[0] = transfer.size(0);
  transfer_ = register_buffer("transfer",
                              torch::view_as_real(transfer.to(torch::kComplexDouble)).contiguous());
}

torch::Tensor FourierDiagonalOperatorImpl::forward(const torch::Tensor& x) {
  check_shape(x, input_shape_, "input");
  return apply(x, /*adjoint=*/false);
}

torch::Tensor FourierDiagonalOperatorImpl::adjoint(const torch::Tensor& y) {
  check_shape(y, output_shape_, "measurement");
  return apply(y, /*adjoint=*/true);
}

std::optional<torch::Tensor> FourierDiagonalOperatorImpl::transfer_function() const {
  return torch::view_as_complex(transfer_.contiguous()).clone();
}

torch::Tensor FourierDiagonalOperatorImpl::apply(const torch::Tensor& x, bool adjoint) const {
  const int64_t h = input_shape_[1];
  const int64_t w = input_shape_[2];
  const auto spectrum = torch::fft::rfft2(x, c10::nullopt, {-2, -1}, "ortho");
  // The half grid of a Hermitian T is all irfft2 needs.
  auto transfer = torch::view_as_complex(transfer_.narrow(3, 0, w / 2 + 1)).to(complex_type_of(x));
  if (adjoint) transfer = transfer.conj().transpose(0, 1);
  torch::Tensor out;
  if (is_channel_wise(transfer)) {
    out = spectrum * transfer[0][0];
  } else {
    // [N, 1, Cin, H, Wh] * [C', Cin, H, Wh] summed over Cin.
    out = (spectrum.unsqueeze(1) * transfer).sum(2);
  }
  return torch::fft::irfft2(out, std::vector<int64_t>{h, w}, {-2, -1}, "ortho");
}

torch::Tensor fft_frequencies(int64_t n, double spacing) {
  return torch::fft::fftfreq(n, spacing, torch::kFloat64);
}

torch::Tensor hermitian_part(const torch::Tensor& transfer) {
  // Index k of the mirrored grid holds T at (-k mod n): flip, then shift by one.
  const auto mirrored = transfer.flip({-2, -1}).roll({1, 1}, {-2, -1});
  return (transfer + mirrored.conj()) / 2;
}

torch::Tensor apply_transfer_function(const torch::Tensor& x, const torch::Tensor& transfer) {
  const auto spectrum = torch::fft::fft2(x, c10::nullopt, {-2, -1}, "ortho");
  const auto t = transfer.to(complex_type_of(x)).to(x.device());
  const auto out = is_channel_wise(t) ? spectrum * t[0][0] : (spectrum.unsqueeze(1) * t).sum(2);
  return torch::real(torch::fft::ifft2(out, c10::nullopt, {-2, -1}, "ortho"));
}

}  // namespace wsd
