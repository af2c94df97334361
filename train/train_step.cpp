#include "train/train_step.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <spdlog/spdlog.h>
#ifdef WSD_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

#include <cmath>
#include <limits>

#include "core/network/bf16_autocast.hpp"
#include "core/noise/noise_power_filter.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "core/util/seeds.hpp"
#include "train/optimizer_state.hpp"

namespace wsd {
namespace {

// The initial weights depend only on the seed, so every rank and every rerun starts alike.
DdpmUNet seeded_network(const Config& config) {
  torch::manual_seed(config.train.seed);
  return make_network(config.model);
}

// Global L2 norm of all gradients and, when clip > 0, scaling to at most `clip`, computed on the
// device: unlike torch::nn::utils::clip_grad_norm_ it never reads the norm back to the host.
torch::Tensor clip_gradients(std::vector<torch::Tensor>& grads, double clip) {
  const auto norms = torch::_foreach_norm(grads);
  const auto total = torch::stack(norms).to(torch::kFloat32).norm();
  if (clip > 0) {
    const auto scale = (clip / (total + 1e-6)).clamp_max(1.0);
    torch::_foreach_mul_(grads, scale);
  }
  return total;
}

std::vector<uint8_t> generator_state(const torch::Generator& gen) {
  const auto state = gen.get_state().contiguous();
  const auto* p = state.data_ptr<uint8_t>();
  return std::vector<uint8_t>(p, p + state.numel());
}

void set_generator_state(torch::Generator& gen, const std::vector<uint8_t>& bytes) {
  gen.set_state(torch::from_blob(const_cast<uint8_t*>(bytes.data()),
                                 {static_cast<int64_t>(bytes.size())}, torch::kUInt8)
                    .clone());
}

}  // namespace

TrainStep::TrainStep(const Config& config, torch::Device device,
                     std::shared_ptr<Communicator> communicator)
    : config_(config),
      device_(device),
      communicator_(std::move(communicator)),
      network_(seeded_network(config_)),
      loss_(make_forward_process(config_.model)),
      noise_(config_.noise),
      generator_(make_device_generator(config_.train.seed, device)),
      global_batch_(static_cast<int64_t>(config_.train.batch_size) * config_.train.grad_accum *
                    communicator_->world_size()),
      bf16_(config_.train.precision == Precision::kBf16) {
  const TrainConfig& tc = config_.train;
  if (bf16_ && !device_.is_cuda()) {
    // bf16 autocast on the CPU is slow and numerically untested here: refuse rather than pretend.
    throw InputError("train.precision: bf16 needs a CUDA device, but this run uses " +
                     device_.str() + "; set train.precision: fp32");
  }
  if (device_.is_cuda()) {
    at::globalContext().setAllowTF32CuBLAS(tc.tf32);
    at::globalContext().setAllowTF32CuDNN(tc.tf32);
    at::globalContext().setBenchmarkCuDNN(tc.cudnn_benchmark);
  }
  network_->to(device_);
  if (tc.channels_last) {
    torch::NoGradGuard no_grad;
    for (auto& p : network_->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  reducer_ = std::make_unique<GradientReducer>(
      communicator_, *network_, static_cast<int64_t>(std::llround(tc.bucket_mb * 1024 * 1024)));
  reducer_->broadcast_parameters(*network_);
  GatedAdamOptions adam;
  adam.weight_decay = tc.weight_decay;
  adam.decoupled = tc.optimizer == OptimizerType::kAdamW;
  optimizer_ = std::make_unique<GatedAdam>(network_->parameters(), adam);
  for (auto& p : network_->parameters()) grads_.push_back(p.mutable_grad());
  ema_ = std::make_unique<Ema>(*network_, tc.ema_decay);

  if (tc.loss_weighting != LossWeighting::kUniform) {
    const int64_t s = config_.model.image_size;
    const double exponent = tc.loss_weighting == LossWeighting::kNoisePower ? 1.0 : 0.5;
    frequency_filter_ = noise_power_filter(noise_, s, s, exponent).to(device_, torch::kFloat32);
  }
  const int64_t b = tc.batch_size, w = communicator_->world_size();
  const int64_t r = communicator_->rank();
  for (int64_t a = 0; a < tc.grad_accum; ++a) {
    rows_.push_back(
        (torch::arange(b, torch::TensorOptions().dtype(torch::kInt64)) * w + (a * w * b + r))
            .to(device_));
  }
}

torch::Tensor TrainStep::forward(const torch::Tensor& x_t, const torch::Tensor& t) {
  const auto scaled = loss_.process().network_input(x_t, t).to(x_t.scalar_type());
  const auto input =
      config_.train.channels_last ? scaled.contiguous(torch::MemoryFormat::ChannelsLast) : scaled;
  CudaBf16Autocast autocast(bf16_);
  return network_->forward(input, t.to(torch::kFloat32));
}

StepResult TrainStep::run(const std::function<torch::Tensor()>& next_micro_batch, int64_t step,
                          double lr) {
  const TrainConfig& tc = config_.train;
  const int rank = communicator_->rank();
  // Dropout draws from the default generators: reseeding them per (rank, step) keeps a resumed
  // run on exactly the same masks without storing their state.
  torch::manual_seed(dropout_seed(tc.seed, step, rank));
  const int64_t c = config_.model.image_channels, s = config_.model.image_size;
  const auto t_all = loss_.process().sample_t(global_batch_, generator_, device_);
  const auto n_all = noise_.sample(global_batch_, c, s, s, generator_, device_);
  const bool inject = tc.inject_nan_at_step > 0 && rank == 0 && step + 1 >= tc.inject_nan_at_step &&
                      step + 1 < tc.inject_nan_at_step + tc.inject_nan_steps;

  const WhitenedScoreLoss::Model model = [this](const torch::Tensor& x_t, const torch::Tensor& t) {
    return forward(x_t, t);
  };
  optimizer_->zero_grad();
  torch::Tensor loss_sum;
  for (int64_t a = 0; a < tc.grad_accum; ++a) {
    const auto x0 = next_micro_batch().to(device_, /*non_blocking=*/true);
    const auto t = t_all.index_select(0, rows_[static_cast<size_t>(a)]);
    const auto n = n_all.index_select(0, rows_[static_cast<size_t>(a)]);
    auto loss = loss_(model, x0, n, t, frequency_filter_).loss;
    if (inject) loss = loss * std::numeric_limits<double>::quiet_NaN();
    if (a + 1 == tc.grad_accum) reducer_->arm();
    (tc.grad_accum > 1 ? loss / static_cast<double>(tc.grad_accum) : loss).backward();
    loss_sum = a == 0 ? loss.detach() : loss_sum + loss.detach();
  }
  reducer_->finish();

  StepResult result;
  result.loss = tc.grad_accum > 1 ? loss_sum / static_cast<double>(tc.grad_accum) : loss_sum;
  result.grad_norm = clip_gradients(grads_, tc.grad_clip);
  // The norm is computed from the averaged gradients, identical on every rank: all ranks agree
  // on skipping.
  result.applied = torch::isfinite(result.grad_norm).to(torch::kFloat32);
  optimizer_->step(lr, result.applied);
  ema_->update(*network_, result.applied);
  return result;
}

TrainStepState TrainStep::state() {
  TrainStepState state;
  state.model = state_dict_of(*network_);
  state.ema = ema_->state_dict();
  state.optimizer = optimizer_state_of(*optimizer_, *network_);
  state.generator = generator_state(generator_);
  return state;
}

void TrainStep::load_state(const TrainStepState& state, const std::string& source) {
  load_state_dict(*network_, state.model, source);
  if (!state.ema.empty()) {
    ema_->load_state_dict(state.ema, source);
  } else {
    // A shipped prior holds its average as its model: fine-tuning it averages from there, not
    // from the network's random initialisation.
    spdlog::info("{} holds no EMA of its own: the average starts from its weights", source);
    ema_->load_state_dict(state.model, source);
  }
  load_optimizer_state(*optimizer_, *network_, state.optimizer, source);
  if (!state.generator.empty()) {
    set_generator_state(generator_, state.generator);
  } else {
    spdlog::warn("{} holds no generator state: noise draws differ from the original run", source);
  }
}

}  // namespace wsd
