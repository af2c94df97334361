#include "infer/baselines/tikhonov_cg.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "infer/gaussian/cg_gaussian_posterior.hpp"

namespace wsd {

torch::Tensor tikhonov_cg(LinearOperatorImpl& op, const torch::Tensor& y,
                          const GaussianMeasurementModel& model, int64_t iterations) {
  const auto m = model.to(y.device());
  const auto dtype = y.scalar_type();
  // A fixed number of iterations (tolerance 0): the loop never waits for the device. The residual
  // is looked at once, after it.
  const CgGaussianPosterior posterior(op, dtype, m.prior_power, m.noise_power,
                                      shift_invariant_gain(op, dtype, y.device()),
                                      CgOptions{iterations, 0.0});
  const auto solution = posterior.mean(m.prior_mean.unsqueeze(0), y);
  const double residual = solution.relative_residual;
  if (!(residual <= kTikhonovTolerance)) {
    // Typically a measurement noise with almost no power at some frequencies (a pure GRF): the
    // model calls those frequencies noiseless, and without a Fourier-diagonal operator to
    // precondition with, conjugate gradients cannot reach the precision that asks for.
    spdlog::warn(
        "tikhonov: conjugate gradients ended {} iterations with relative residual {:.2e} (> "
        "{:.0e}): the result is not the posterior mean; a noise model with some white share "
        "(noise.family mixture) makes the normal equations solvable",
        solution.iterations, residual, kTikhonovTolerance);
  }
  return solution.x.to(dtype);
}

}  // namespace wsd
