#include "operators/linear_operator.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "core/util/errors.hpp"
#include "core/util/shape_text.hpp"

namespace wsd {

void LinearOperatorImpl::check_shape(const torch::Tensor& x, const std::vector<int64_t>& shape,
                                     const char* what) const {
  const bool ok = x.dim() == static_cast<int64_t>(shape.size()) + 1 &&
                  std::equal(shape.begin(), shape.end(), x.sizes().begin() + 1);
  if (!ok) {
    throw InputError(kind() + " operator: " + what + " must be [N, " + shape_text(shape).substr(1) +
                     ", got " + shape_text(x.sizes()));
  }
}

double operator_norm_squared(LinearOperatorImpl& op) {
  const auto transfer = op.transfer_function();
  // Power iteration approaches from below, slowly where the top singular values cluster (a
  // blur with zero boundaries): many iterations and a 1% margin keep the value an upper bound.
  if (!transfer) return 1.01 * operator_norm_squared_by_power_iteration(op, 500);
  // fft2 is orthonormal, so A is block-diagonal in frequency with blocks T[:, :, h, w].
  const auto blocks = transfer->to(torch::kComplexDouble).permute({2, 3, 0, 1});
  return torch::linalg_svdvals(blocks).max().square().item<double>();
}

double operator_norm_squared_by_power_iteration(LinearOperatorImpl& op, int64_t iterations) {
  torch::NoGradGuard no_grad;
  const auto buffers = op.buffers();
  const auto device = buffers.empty() ? torch::Device(torch::kCPU) : buffers.front().device();
  const auto in = op.input_shape();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0x6e6f726dULL);
  auto v = torch::randn({1, in[0], in[1], in[2]}, gen, torch::kFloat64).to(device);
  double rayleigh = 0.0;
  for (int64_t i = 0; i < iterations; ++i) {
    v = v / v.norm().clamp_min(1e-30);
    const auto w = op.adjoint(op.forward(v));
    rayleigh = (v.to(torch::kFloat64) * w.to(torch::kFloat64)).sum().item<double>();
    v = w;
  }
  return std::max(rayleigh, 0.0);
}

}  // namespace wsd
