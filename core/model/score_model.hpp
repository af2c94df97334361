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
// output means (parameterisation, score sign, schedule).
class ScoreModel final : public Prior {
 public:
  ScoreModel(DdpmUNet network, ForwardProcess process);

  DdpmUNet& network() { return network_; }
  const ForwardProcess& process() const { return process_; }

  // The raw network output for x_t [N, C, H, W] at times t (float64 [N] or scalar).
  torch::Tensor output(const torch::Tensor& x_t, const torch::Tensor& t);
  // s_W(x_t, t) = G G^T grad log p_t(x_t), whatever the parameterisation.
  torch::Tensor whitened_score(const torch::Tensor& x_t, const torch::Tensor& t) override;
  // E[x_0 | x_t].
  torch::Tensor x0_estimate(const torch::Tensor& x_t, const torch::Tensor& t) override;
  const DiffusionSchedule& schedule() const override { return process_.schedule(); }
  std::string describe() const override;

 private:
  DdpmUNet network_;
  ForwardProcess process_;
};

// The network a model config describes (ddpm_unet), freshly initialised.
DdpmUNet make_network(const ModelConfig& config);

// The forward process a model config describes.
ForwardProcess make_forward_process(const ModelConfig& config);

// What a checkpoint records about a model config.
ModelInfo model_info_of(const ModelConfig& config);

// Loads a checkpoint's network (EMA weights when `use_ema` and present) on `device`, in eval
// mode. The parameterisation and sign recorded in the checkpoint override those of its config.
// Throws InputError for a checkpoint that holds no network (a gaussian prior: use load_prior).
ScoreModel load_score_model(const Checkpoint& checkpoint, const std::string& source, bool use_ema,
                            torch::Device device);

}  // namespace wsd
