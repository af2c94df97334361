#pragma once

// One reconstruction method applied to a measurement set: the diffusion priors through the
// posterior sampler (WS prior, conventional white-noise prior, closed-form Gaussian prior) and
// the classical baselines (Wiener filter for Fourier-diagonal operators, Tikhonov/CG for any).
// The Gaussian prior's statistics, shared by the Gaussian prior and the classical baselines,
// are estimated once from the training split of config.data.

#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/config/config_types.hpp"
#include "core/diffusion/gaussian_prior.hpp"
#include "core/model/prior.hpp"
#include "infer/eval/measurement_set.hpp"
#include "infer/gaussian/gaussian_measurement_model.hpp"
#include "infer/samplers/sampler.hpp"
#include "infer/solve/lambda_selection.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

struct Reconstruction {
  EvalMethod method{};
  torch::Tensor x_hat;           // float32 [N, C, H, W] on the CPU
  double seconds = 0;            // wall time of the reconstruction (lambda search apart)
  int64_t steps = 0;             // sampler steps (0 for the classical baselines)
  std::optional<double> lambda;  // data weight used by the samplers
  std::optional<LambdaSelection> lambda_search;  // when sampler.lambda is auto
  std::string prior;                             // what the prior was, for reports
};

// Progress of long reconstructions: (images done, images total).
using ProgressFn = std::function<void(const std::string& what, int64_t done, int64_t total)>;

class Reconstructor {
 public:
  // `config` supplies data (training split for the Gaussian statistics), sampler and eval
  // (checkpoints); the measurement set supplies the task.
  Reconstructor(Config config, torch::Device device, ProgressFn progress = {});
  ~Reconstructor();

  Reconstruction run(EvalMethod method, const MeasurementSet& set);
  // The same with other sampler settings (e.g. another lambda) than the config's, and for the
  // classical baselines `op` in place of the task's operator when given.
  Reconstruction run(EvalMethod method, const MeasurementSet& set, const SamplerConfig& sampler,
                     const std::optional<LinearOperator>& op = std::nullopt);
  // A diffusion prior from a checkpoint, by path.
  Reconstruction run_checkpoint(const std::string& checkpoint, EvalMethod method,
                                const MeasurementSet& set, const SamplerConfig& sampler);
  // A prior the caller already holds (the Python package keeps priors loaded between solves),
  // with `op` in place of the operator set.config.task describes when it is given: an operator
  // the caller wrote, whose measurements and noise the set still declares.
  Reconstruction run_prior(Prior& prior, const MeasurementSet& set, const SamplerConfig& sampler,
                           const std::optional<LinearOperator>& op = std::nullopt);

  const GaussianStatistics& statistics();

 private:
  // The measurement model for likelihood steps that need one (nullopt for the others).
  std::optional<GaussianMeasurementModel> measurement_model_for(const SamplerConfig& sampler,
                                                                const MeasurementSet& set);

  struct State;
  Config config_;
  torch::Device device_;
  ProgressFn progress_;
  std::unique_ptr<State> state_;
};

}  // namespace wsd
