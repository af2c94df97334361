#pragma once

// A linear-Gaussian inverse problem small enough for exact answers: Gaussian "images" with a
// smooth power spectrum, a structured-noise prior, an operator from the registry and measurement
// noise with the prior's own noise covariance shape (Sigma_y proportional to K K^T, the setting
// the WS likelihood step assumes).

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <memory>

#include "core/config/config_types.hpp"
#include "core/diffusion/gaussian_prior.hpp"
#include "core/diffusion/schedule.hpp"
#include "core/model/gaussian_prior_model.hpp"
#include "core/noise/structured_noise.hpp"
#include "infer/gaussian/gaussian_measurement_model.hpp"
#include "operators/measurement_noise.hpp"
#include "operators/operator_factory.hpp"
#include "tests/support/noise_configs.hpp"

namespace wsd::test {

struct GaussianProblem {
  int64_t h, w;
  StructuredNoise noise;  // the prior's K
  StructuredNoise measurement_noise;
  GaussianStatistics statistics;
  std::shared_ptr<const DiffusionSchedule> schedule;
  std::unique_ptr<GaussianPriorModel> prior;
  LinearOperator op;
  double level;
  torch::Tensor x_true, y;
  std::vector<uint64_t> seeds;

  GaussianMeasurementModel measurement_model() const {
    const auto out = op->output_shape();
    return GaussianMeasurementModel::make(statistics,
                                          level * level * measurement_noise.psd(out[1], out[2]));
  }
};

// GRF noise of one correlation length with a white part, so that no frequency is noiseless.
inline NoiseConfig fixed_grf(double sigma) {
  return edited(noise_of(NoiseFamily::kMixture), [&](NoiseConfig& c) {
    c.white_fraction = 0.1;
    c.grf_sigma_min = sigma;
    c.grf_sigma_max = sigma;
  });
}

// n images [n, 1, h, w] drawn from the prior, measured through `task`'s operator with GRF noise.
// `measurement_noise` defaults to the prior's own K (Sigma_y proportional to K K^T).
inline GaussianProblem make_gaussian_problem(const TaskConfig& task, int64_t n, int64_t h,
                                             int64_t w, double level, uint64_t seed = 7,
                                             NoiseConfig measurement_noise = fixed_grf(2.0)) {
  GaussianProblem p{h,
                    w,
                    StructuredNoise(fixed_grf(2.0), torch::kFloat64),
                    StructuredNoise(measurement_noise),
                    {},
                    make_schedule("vp", 0.1, 20.0),
                    nullptr,
                    nullptr,
                    level,
                    {},
                    {},
                    {}};
  const auto [fy, fx] = rfft2_frequencies(h, w);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  p.statistics.mean = 0.1 * torch::randn({1, h, w}, gen, torch::kFloat64);
  p.statistics.power_spectrum =
      (0.3 / (1.0 + 60.0 * (fy.square() + fx.square()))).expand({h, w / 2 + 1}).clone();
  p.statistics.count = 1000;
  p.prior = std::make_unique<GaussianPriorModel>(
      GaussianPrior(p.statistics, p.noise.psd(h, w), p.schedule), p.noise, 1e-3);
  p.x_true = p.prior->prior().sample(n, gen);
  p.op = make_operator(task, {1, h, w});
  const MeasurementNoise measurement(measurement_noise, level);
  p.seeds = measurement_seeds(seed, 0, n);
  p.y = measure(*p.op, p.x_true, measurement, p.seeds);
  return p;
}

inline NoiseConfig white_noise() { return noise_of(NoiseFamily::kWhite); }

inline TaskConfig blur_task(double sigma = 1.5) {
  TaskConfig task;
  task.operator_name = OperatorType::kGaussianBlur;
  task.blur_sigma = sigma;
  task.kernel_size = 9;
  task.boundary = Boundary::kCircular;
  return task;
}

}  // namespace wsd::test
