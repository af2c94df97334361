#include "infer/gaussian/conjugate_gradients.hpp"

#include <torch/torch.h>

namespace wsd {
namespace {

// Per-image inner product of two batches [N, ...] as [N, 1, ..., 1].
torch::Tensor image_dot(const torch::Tensor& a, const torch::Tensor& b) {
  std::vector<int64_t> shape(a.dim(), 1);
  shape[0] = -1;
  return (a * b).flatten(1).sum(1).view(shape);
}

double worst_relative(const torch::Tensor& r, const torch::Tensor& b_norm) {
  return (image_dot(r, r).sqrt() / b_norm).max().item<double>();
}

}  // namespace

CgResult conjugate_gradients(const TensorMap& apply, const torch::Tensor& b,
                             const TensorMap& precondition, torch::Tensor z0,
                             const CgOptions& options) {
  const auto m_inv = [&](const torch::Tensor& r) { return precondition ? precondition(r) : r; };
  CgResult result;
  result.z = z0.defined() ? z0.clone() : torch::zeros_like(b);
  auto r = z0.defined() ? b - apply(result.z) : b.clone();
  // An image whose right-hand side is zero is solved by zero; its norm only avoids 0 / 0.
  const auto b_norm = image_dot(b, b).sqrt().clamp_min(1e-300);
  const bool check = options.tolerance > 0;
  if (check) {
    result.relative_residual = worst_relative(r, b_norm);
    if (result.relative_residual <= options.tolerance) return result;
  }
  auto w = m_inv(r);
  auto p = w.clone();
  auto rw = image_dot(r, w);
  while (result.iterations < options.max_iterations) {
    const auto hp = apply(p);
    // A converged image has rw = 0: its steps become 0 instead of 0/0.
    const auto alpha = rw / image_dot(p, hp).clamp_min(1e-300);
    result.z = result.z + alpha * p;
    r = r - alpha * hp;
    ++result.iterations;
    if (check) {
      result.relative_residual = worst_relative(r, b_norm);
      if (result.relative_residual <= options.tolerance) break;
    }
    w = m_inv(r);
    const auto rw_next = image_dot(r, w);
    p = w + (rw_next / rw.clamp_min(1e-300)) * p;
    rw = rw_next;
  }
  // Without a tolerance the residual is looked at once, after the loop, and recomputed: on an
  // ill-conditioned system the recursively updated one drifts to zero while b - H z does not.
  if (!check) result.relative_residual = worst_relative(b - apply(result.z), b_norm);
  return result;
}

}  // namespace wsd
