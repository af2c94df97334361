#include "infer/baselines/tikhonov_cg.hpp"

#include <torch/torch.h>

#include "infer/gaussian/cg_gaussian_posterior.hpp"

namespace wsd {

torch::Tensor tikhonov_cg(LinearOperatorImpl& op, const torch::Tensor& y,
                          const GaussianMeasurementModel& model, int64_t iterations) {
  const auto m = model.to(y.device());
  const auto dtype = y.scalar_type();
  // A fixed number of iterations (tolerance 0): the loop never waits for the device.
  const CgGaussianPosterior posterior(op, dtype, m.prior_power, m.noise_power,
                                      shift_invariant_gain(op, dtype, y.device()),
                                      CgOptions{iterations, 0.0});
  return posterior.mean(m.prior_mean.unsqueeze(0), y).x.to(dtype);
}

}  // namespace wsd
