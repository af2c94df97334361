#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_types.hpp"
#include "core/diffusion/forward_process.hpp"
#include "core/model/prior.hpp"
#include "core/network/ddpm_unet.hpp"

namespace wsd {

// A trained prior as samplers see it: the network plus the forward process that says what its
// output means (parameterisation, score sign, schedule), and the noise and t_eps it was trained
// with.
class ScoreModel final : public Prior {
 public:
  ScoreModel(DdpmUNet network, ForwardProcess process, StructuredNoise noise, double t_eps);

  DdpmUNet& network() { return network_; }
  const ForwardProcess& process() const { return process_; }

  // The raw network output for x_t [N, C, H, W] at times t (float64 [N] or scalar), both in the
  // network's own process (a flow network's flow time).
  torch::Tensor output(const torch::Tensor& x_t, const torch::Tensor& t);
  // The Prior methods take the VP state and time of the model's schedule for every process: a
  // flow network is evaluated at the flow state of equal signal-to-noise ratio (flow_state_at).
  // s_W(x_t, t) = G G^T grad log p_t(x_t), whatever the parameterisation.
  torch::Tensor whitened_score(const torch::Tensor& x_t, const torch::Tensor& t) override;
  // E[x_0 | x_t].
  torch::Tensor x0_estimate(const torch::Tensor& x_t, const torch::Tensor& t) override;
  const DiffusionSchedule& schedule() const override { return process_.schedule(); }
  std::string describe() const override;

 private:
  bool is_flow() const;

  DdpmUNet network_;
  ForwardProcess process_;
};

// The one mapping between a model config and the network's constructor arguments, both ways
// (an imported weight file carries the arguments, and they win over its config).
DdpmUNetOptions network_options(const ModelConfig& config);
void set_network_options(ModelConfig& config, const DdpmUNetOptions& options);

// The network a model config describes (ddpm_unet), freshly initialised.
DdpmUNet make_network(const ModelConfig& config);

// The forward process a model config describes.
ForwardProcess make_forward_process(const ModelConfig& config);

// The prior a freshly made or trained network is under `config` (its model and noise sections).
ScoreModel score_model_of(DdpmUNet network, const Config& config);

// What a checkpoint records about a model config.
ModelInfo model_info_of(const ModelConfig& config);

// Loads a checkpoint's network (EMA weights when `use_ema` and present) on `device`, in eval
// mode, under `config`, the checkpoint's embedded config (parsed once by the caller). The
// parameterisation and sign recorded in the checkpoint override those of its config. Throws
// InputError for a checkpoint that holds no network (a gaussian prior: use load_prior).
ScoreModel load_score_model(const Checkpoint& checkpoint, const Config& config,
                            const std::string& source, bool use_ema, torch::Device device);

}  // namespace wsd
