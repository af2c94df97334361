#pragma once

// sampler.cuda_graph: a whole reverse trajectory - every sampler step (network evaluation,
// likelihood step, update) and the final Tweedie step - recorded once as one CUDA graph per
// batch shape and replayed for every later batch of that shape. The host then launches one graph
// per batch instead of thousands of kernels, and nothing in the loop waits for the device.
//
// What is recorded must be a fixed sequence of device work with no host synchronisation:
// deterministic samplers (euler, heun, exponential, dpm_solver_2m), likelihood steps without
// host-side randomness or autograd (each step's kind says, LikelihoodKind::graph_obstacle), no
// per-step callback. check_graphable says so for a sampler config. A CPU-only build throws when
// asked to record.

#include <torch/types.h>

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "core/config/config_types.hpp"

namespace wsd {

// Throws InputError naming the setting when `sampler` cannot run as a CUDA graph.
void check_graphable(const SamplerConfig& sampler);

class GraphedTrajectory {
 public:
  // (x_T [N, C, H, W], y [N, ...]) -> x_0; must not synchronise with the host.
  using Run = std::function<torch::Tensor(const torch::Tensor& x_start, const torch::Tensor& y)>;

  // `warm_up` runs the same kinds of steps as `trajectory`, only fewer: it is what runs eagerly
  // before a recording.
  GraphedTrajectory(Run trajectory, Run warm_up);
  ~GraphedTrajectory();
  GraphedTrajectory(const GraphedTrajectory&) = delete;
  GraphedTrajectory& operator=(const GraphedTrajectory&) = delete;

  // The trajectory of (x_start, y), both on one CUDA device, as a new tensor. The first call
  // for a pair of shapes runs the warm-up eagerly (cuBLAS, cuDNN and cuFFT set up their handles
  // and plans then, not while recording), records the trajectory and replays the recording.
  // Recordings live as long as this object: one solve call records once per batch shape.
  torch::Tensor operator()(const torch::Tensor& x_start, const torch::Tensor& y);

  // Graphs recorded so far (one per pair of shapes).
  size_t recordings() const { return recordings_.size(); }

 private:
  struct Recording;
  Run trajectory_;
  Run warm_up_;
  std::map<std::vector<int64_t>, std::unique_ptr<Recording>> recordings_;
};

}  // namespace wsd
