#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config_types.hpp"
#include "core/diffusion/forward_process.hpp"
#include "core/diffusion/whitened_score_loss.hpp"
#include "core/model/score_model.hpp"
#include "core/network/state_dict.hpp"
#include "core/noise/structured_noise.hpp"
#include "train/distributed/communicator.hpp"
#include "train/distributed/gradient_reducer.hpp"
#include "train/ema.hpp"
#include "train/gated_adam.hpp"

namespace wsd {

// What one optimizer step leaves on the device (nothing is read back to the host).
struct StepResult {
  torch::Tensor loss;       // this rank's mean loss over its micro-batches, float32 0-dim
  torch::Tensor grad_norm;  // global gradient norm before clipping (NaN/Inf on a skipped step)
  torch::Tensor applied;    // float32 0/1: the update was applied (loss and gradients finite)
};

// What a training step carries from one step to the next, as stored in a checkpoint: weights,
// their EMA, the optimizer's moments (keys "<parameter>/<slot>") and the noise generator's state
// (shared by all ranks: the global batch's draws).
struct TrainStepState {
  StateDict model;
  StateDict ema;
  StateDict optimizer;
  std::vector<uint8_t> generator;
};

// The arithmetic of one data-parallel training step, shared by the trainer and `wsdiff bench`:
// draw t and structured noise -> WhitenedScoreLoss of the network (bf16 autocast on request) ->
// backward over train.grad_accum micro-batches (gradients reduced across ranks, bucketed and
// overlapped with the last micro-batch's backward) -> clip -> gated Adam/AdamW -> gated EMA.
//
// Randomness belongs to the GLOBAL batch: every rank draws t and noise for all
// grad_accum x world x batch samples of the step from a generator seeded identically on every
// rank, and takes the rows of its own samples. With BatchLoader's interleaved sharding, local
// sample j of micro-batch a on rank r is global sample a*W*B + j*W + r, so a run's trajectory does
// not depend on how the global batch is split over ranks and micro-batches.
class TrainStep {
 public:
  TrainStep(const Config& config, torch::Device device, std::shared_ptr<Communicator> communicator);

  // One optimizer step; `next_micro_batch` returns x0 [B, C, S, S] (any device). `step` is the
  // 0-based step index (dropout seeds, fault injection), `lr` its learning rate.
  StepResult run(const std::function<torch::Tensor()>& next_micro_batch, int64_t step, double lr);

  TrainStepState state();
  // Restores a state written by state(); `source` names it in errors. An empty generator state
  // (older checkpoints) keeps the fresh generator, with a warning.
  void load_state(const TrainStepState& state, const std::string& source);

  DdpmUNet& network() { return network_; }
  const ForwardProcess& process() const { return loss_.process(); }
  const WhitenedScoreLoss& loss() const { return loss_; }
  const StructuredNoise& noise() const { return noise_; }
  GatedAdam& optimizer() { return *optimizer_; }
  Ema& ema() { return *ema_; }
  GradientReducer& reducer() { return *reducer_; }
  Communicator& communicator() { return *communicator_; }
  int64_t global_batch() const { return global_batch_; }
  torch::Device device() const { return device_; }
  bool bf16() const { return bf16_; }
  // The network's forward pass in the run's precision and layout (eval/validation use it too).
  torch::Tensor forward(const torch::Tensor& x_t, const torch::Tensor& t);

 private:
  Config config_;
  torch::Device device_;
  std::shared_ptr<Communicator> communicator_;
  DdpmUNet network_;
  WhitenedScoreLoss loss_;
  StructuredNoise noise_;
  torch::Generator generator_;
  std::unique_ptr<GradientReducer> reducer_;
  std::unique_ptr<GatedAdam> optimizer_;
  std::unique_ptr<Ema> ema_;
  std::vector<torch::Tensor> grads_;
  std::vector<torch::Tensor> rows_;  // per micro-batch: this rank's rows of the global draw
  torch::Tensor frequency_filter_;   // train.loss_weighting; undefined = uniform
  int64_t global_batch_;
  bool bf16_;
};

}  // namespace wsd
