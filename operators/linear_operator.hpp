#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wsd {

// What the channels of a measurement A x are, for those who draw its noise and show it.
struct MeasurementTraits {
  // A x is an image in the units of x (blurs, masks, downsampling) that a figure can show as it
  // is; false for measurements in other units (a Laplacian, IDT's intensity contrasts), which a
  // figure rescales per image.
  bool is_image = true;
  // Each output channel is an exposure of its own (IDT: one image per LED), so each gets noise
  // of its own; false when the channels are the colour channels of one exposure, which share
  // the noise field of task.noise.channel_mode gray.
  bool separate_exposures = false;
};

// A linear forward model y = A x on image batches with its exact adjoint A^H. An operator is
// built for one input shape [C, H, W] (shapes are fixed per run), maps [N, C, H, W] to
// [N, C', H', W'] (`output_shape`) and works on any batch size, dtype and device. Operators are
// modules so that their buffers (kernels, masks, transfer functions) follow .to(device).
class LinearOperatorImpl : public torch::nn::Module {
 public:
  // Registry name ("gaussian_blur", "idt", ...), for logs and files.
  virtual std::string kind() const = 0;
  // A x.
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  // A^H y.
  virtual torch::Tensor adjoint(const torch::Tensor& y) = 0;
  // Per-image shapes [C, H, W] of x and of A x.
  virtual std::vector<int64_t> input_shape() const = 0;
  virtual std::vector<int64_t> output_shape() const = 0;

  // Fourier-diagonal operators: the transfer function T, complex [C', Cin, H, W] on the full
  // (orthonormal) fft2 grid of the input, so that fft2(A x)[o] = sum_i T[o, i] fft2(x)[i]. A
  // channel-wise operator (the same filter on every channel) returns Cin = C' = 1 and is meant
  // to be broadcast over channels. nullopt for every other operator.
  virtual std::optional<torch::Tensor> transfer_function() const { return std::nullopt; }
  bool is_fourier_diagonal() const { return transfer_function().has_value(); }

  // What the measured channels of A x are (MeasurementTraits).
  virtual MeasurementTraits measurement_traits() const { return {}; }

 protected:
  // Throws InputError naming the operator when x is not [N, shape...].
  void check_shape(const torch::Tensor& x, const std::vector<int64_t>& shape,
                   const char* what) const;
};
TORCH_MODULE(LinearOperator);

// ||A||^2, the largest eigenvalue of A^H A: what bounds the step size of an explicit gradient
// step on ||y - A x||^2 (infer/likelihood/likelihood_step.hpp). Exact for Fourier-diagonal
// operators (the largest singular value of the transfer function over all frequencies);
// otherwise 500 power iterations with a 1% margin, so that it bounds ||A||^2 from above.
double operator_norm_squared(LinearOperatorImpl& op);
// Power iteration on A^H A from a fixed random start, on the operator's device. It approaches
// ||A||^2 from below; the Rayleigh quotient of the last iterate is returned.
double operator_norm_squared_by_power_iteration(LinearOperatorImpl& op, int64_t iterations = 100);

// Builds a concrete operator module and wraps it in the LinearOperator holder (the holder's
// own forwarding constructor would try to construct the abstract base).
template <class Impl, class... Args>
LinearOperator make_linear_operator(Args&&... args) {
  return LinearOperator(
      std::shared_ptr<LinearOperatorImpl>(std::make_shared<Impl>(std::forward<Args>(args)...)));
}

}  // namespace wsd
