#pragma once

// Preconditioned conjugate gradients on a batch: every image [N, ...] solves its own symmetric
// positive-definite system H z = b with its own step sizes, so unrelated images of a batch never
// influence each other. The one CG of the code base (the Tikhonov baseline and the proximal
// likelihood step's solve for operators that are not Fourier-diagonal use it through
// CgGaussianPosterior).

#include <torch/types.h>

#include <cstdint>
#include <functional>

namespace wsd {

using TensorMap = std::function<torch::Tensor(const torch::Tensor&)>;

struct CgOptions {
  int64_t max_iterations = 200;
  // Stop once every image's residual ||b - H z|| is at most tolerance ||b||. 0 runs all
  // max_iterations without looking at the residual, so the loop never waits for the device.
  double tolerance = 0.0;
};

struct CgResult {
  torch::Tensor z;
  int64_t iterations = 0;
  // max over images of ||b - H z|| / ||b||: of the recursively updated residual with a
  // tolerance; with tolerance 0, of b - H z itself, computed once after the last iteration.
  double relative_residual = -1.0;
};

// Solves H z = b from the initial guess z0 (undefined: zeros) with the preconditioner M^-1
// (`precondition`, symmetric positive definite; an undefined function = identity).
CgResult conjugate_gradients(const TensorMap& apply, const torch::Tensor& b,
                             const TensorMap& precondition, torch::Tensor z0,
                             const CgOptions& options);

}  // namespace wsd
