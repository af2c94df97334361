#pragma once

// The closed-form Gaussian prior (docs/maths.md, 'Closed-form Gaussian prior') as a Prior and as
// a checkpoint: "training" it means estimating the data's mean image and power spectrum in one
// pass; its whitened score is then exact for the configured structured noise, with no network.
//
// Checkpoint layout (the ordinary wsdiff checkpoint; model_info type "gaussian",
// parameterisation "exact", score_sign +1):
//   /model/mean            float64 [C, H, W]
//   /model/power_spectrum  float64 [H, W/2+1] (or [C, H, W/2+1] with per-channel spectra)
//   /model/count           int64 scalar, the number of images the statistics come from
// The noise power k^2 is not stored: it follows from the embedded config's noise section, like
// the schedule from its model section.

#include <torch/types.h>

#include <memory>
#include <string>

#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_types.hpp"
#include "core/diffusion/gaussian_prior.hpp"
#include "core/model/prior.hpp"

namespace wsd {

class GaussianPriorModel final : public Prior {
 public:
  // `noise` must be the family whose power spectrum `prior` was built with.
  GaussianPriorModel(GaussianPrior prior, StructuredNoise noise, double t_eps);

  torch::Tensor whitened_score(const torch::Tensor& x_t, const torch::Tensor& t) override;
  torch::Tensor x0_estimate(const torch::Tensor& x_t, const torch::Tensor& t) override;
  const DiffusionSchedule& schedule() const override { return prior_.schedule(); }
  std::string describe() const override { return "gaussian (exact)"; }

  const GaussianPrior& prior() const { return prior_; }

 private:
  GaussianPrior prior_;
};

// The prior that `statistics` define under `config`'s noise (k^2 = StructuredNoise::psd) and
// schedule, with every tensor on `device` so that sampling steps move nothing between host and
// device. Throws InputError when the statistics do not fit model.image_channels/image_size or
// when the model is a flow process (the closed form is the VP whitened score).
GaussianPrior make_gaussian_prior(const GaussianStatistics& statistics, const Config& config,
                                  torch::Device device = torch::kCPU);
// The same with the noise family given (a checkpoint's, whose measured spectrum is embedded).
GaussianPrior make_gaussian_prior(const GaussianStatistics& statistics, const Config& config,
                                  const StructuredNoise& noise, torch::Device device);

// The same as a Prior, with config's noise family and model.t_eps.
GaussianPriorModel make_gaussian_prior_model(const GaussianStatistics& statistics,
                                             const Config& config,
                                             torch::Device device = torch::kCPU);
GaussianPriorModel make_gaussian_prior_model(const GaussianStatistics& statistics,
                                             const Config& config, StructuredNoise noise,
                                             torch::Device device);

// The checkpoint of statistics estimated under `config` (its model.type should be gaussian).
Checkpoint gaussian_prior_checkpoint(const GaussianStatistics& statistics, const Config& config);

// The statistics a gaussian checkpoint stores; InputError naming `source` when tensors are
// missing or malformed.
GaussianStatistics gaussian_statistics_of(const Checkpoint& checkpoint, const std::string& source);

// The Gaussian prior of a checkpoint under `config`, its embedded config, on `device`.
std::unique_ptr<GaussianPriorModel> load_gaussian_prior(const Checkpoint& checkpoint,
                                                        const Config& config,
                                                        const std::string& source,
                                                        torch::Device device);

}  // namespace wsd
