#pragma once

// Which sign does an imported network's output carry? The authors' released training script
// regresses onto +(beta/sigma) K e while their sampler assumes s_W = -(beta/sigma) K e
// (docs/maths.md, 'Sign of imported networks'), so a network from their code may be negated.
// The test: noise clean images at a few times and compare the Tweedie estimate's MSE to the
// clean images under either sign. A trained prior's estimate beats the noised input itself for
// the right sign; when neither sign does (untrained or broken weights) the check says nothing
// and the configured sign stays.

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/diffusion/forward_process.hpp"
#include "core/model/score_model.hpp"
#include "core/noise/structured_noise.hpp"

namespace wsd {

// The raw network output for x_t and t (float64 [N]), before sign or parameterisation apply.
using OutputFn = std::function<torch::Tensor(const torch::Tensor& x_t, const torch::Tensor& t)>;

struct SignCheckOptions {
  // Times at which the images are noised; each time draws fresh noise for every image.
  TORCH_ARG(std::vector<double>, times) = {0.1, 0.3, 0.5};
  // Image i at time k takes its noise from seed + k * N + i alone (StructuredNoise's per-image
  // seeds): the check is reproducible and independent of batch_size and device.
  TORCH_ARG(uint64_t, seed) = 0x5167;
  // Images per network evaluation.
  TORCH_ARG(int64_t, batch_size) = 32;
};

struct SignCheck {
  std::vector<double> times;
  // Per time, MSE per pixel against the clean images of: the noised input x_t, the Tweedie
  // estimate with sign +1 and with sign -1.
  std::vector<double> mse_input, mse_plus, mse_minus;
  // The same averaged over the times: what the decision compares.
  double mean_input = 0.0, mean_plus = 0.0, mean_minus = 0.0;
  int configured_sign = 1;
  int sign = 1;             // the sign to record
  bool conclusive = false;  // the better sign's estimate beats the noised input

  bool flipped() const { return sign != configured_sign; }
  const char* decision() const { return flipped() ? "flipped" : "kept"; }
};

// Runs the check for a network given by its raw `output`, interpreted by `process` (whose
// score_sign is the configured sign), on clean `images` [N, C, H, W] in [-1, 1] noised with
// `noise`. Works on the images' device; reads back to the host once, at the end.
SignCheck check_score_sign(const OutputFn& output, const ForwardProcess& process,
                           const torch::Tensor& images, const StructuredNoise& noise,
                           const SignCheckOptions& options = {});

// The same for a loaded model; the images move to the network's device.
SignCheck check_score_sign(ScoreModel& model, const torch::Tensor& images,
                           const StructuredNoise& noise, const SignCheckOptions& options = {});

}  // namespace wsd
