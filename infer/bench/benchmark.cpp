#include "infer/bench/benchmark.hpp"

#include <ATen/CPUGeneratorImpl.h>
#ifdef WSD_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "core/diffusion/whitened_score_loss.hpp"
#include "core/model/score_model.hpp"
#include "core/network/state_dict.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "infer/bench/autocast_guard.hpp"
#include "infer/samplers/sampler.hpp"

namespace wsd {
namespace {

using Clock = std::chrono::steady_clock;

void synchronise(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

void check_settings(const BenchSettings& s, const NetworkSettings* network) {
  if (s.batch < 1) throw InputError("bench: batch must be at least 1");
  if (s.repeats < 1) throw InputError("bench: repeats must be at least 1");
  if (s.warmup < 0) throw InputError("bench: warmup must not be negative");
  if (network && network->bf16 && !s.device.is_cuda()) {
    throw InputError("bench: bf16 autocast needs a CUDA device (use fp32 on " + s.device.str() +
                     ")");
  }
}

// A freshly initialised network (weights from `seed`) on the device, in the requested layout.
DdpmUNet benchmark_network(const ModelConfig& model, const BenchSettings& s,
                           const NetworkSettings& n) {
  torch::manual_seed(s.seed);
  DdpmUNet network = make_network(model);
  network->to(s.device);
  if (n.channels_last) {
    torch::NoGradGuard no_grad;
    for (auto& p : network->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  return network;
}

torch::Tensor in_layout(const torch::Tensor& x, const NetworkSettings& n) {
  return n.channels_last ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
}

}  // namespace

double Timings::median() const {
  if (seconds.empty()) return 0.0;
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const size_t mid = sorted.size() / 2;
  return sorted.size() % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

double Timings::min() const {
  return seconds.empty() ? 0.0 : *std::min_element(seconds.begin(), seconds.end());
}

Timings time_calls(const std::function<void()>& fn, int64_t warmup, int64_t repeats,
                   torch::Device device) {
  if (repeats < 1) throw std::invalid_argument("time_calls: repeats must be at least 1");
  for (int64_t i = 0; i < warmup; ++i) fn();
  synchronise(device);
  Timings timings;
  timings.seconds.reserve(static_cast<size_t>(repeats));
  for (int64_t i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    fn();
    synchronise(device);
    timings.seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return timings;
}

NoiseBenchResult bench_noise(const NoiseBenchRequest& request) {
  const BenchSettings& s = request.settings;
  check_settings(s, nullptr);
  if (request.channels < 1 || request.height < 1 || request.width < 1) {
    throw InputError("bench: the noise shape needs positive channels, height and width");
  }
  const StructuredNoise noise(StructuredNoiseOptions::from_config(request.noise));
  torch::Generator gen = make_device_generator(s.seed, s.device);
  torch::NoGradGuard no_grad;
  torch::Tensor last;
  NoiseBenchResult result;
  result.per_batch = time_calls(
      [&] {
        last =
            noise.sample(s.batch, request.channels, request.height, request.width, gen, s.device);
      },
      s.warmup, s.repeats, s.device);
  result.samples_per_s = static_cast<double>(s.batch) / result.per_batch.median();
  return result;
}

TrainStepBenchResult bench_train_step(const TrainStepBenchRequest& request) {
  const BenchSettings& s = request.settings;
  check_settings(s, &request.network);
  DdpmUNet network = benchmark_network(request.model, s, request.network);
  network->train();
  const ForwardProcess process = make_forward_process(request.model);
  const WhitenedScoreLoss loss_fn(process);
  const StructuredNoise noise(StructuredNoiseOptions::from_config(request.noise));
  torch::optim::Adam optimizer(network->parameters(), torch::optim::AdamOptions(request.lr));
  torch::Generator gen = make_device_generator(s.seed + 1, s.device);

  const int64_t b = s.batch, c = request.model.image_channels, size = request.model.image_size;
  const auto x0 = in_layout(
      torch::rand({b, c, size, size}, gen, torch::TensorOptions().device(s.device)) * 2.0 - 1.0,
      request.network);
  torch::Tensor last_loss;
  const auto step = [&] {
    const auto t = process.sample_t(b, gen, s.device);
    const auto n = noise.sample(b, c, size, size, gen, s.device);
    const WhitenedScoreLoss::Model model = [&](const torch::Tensor& x_t, const torch::Tensor& tt) {
      const auto input = in_layout(process.network_input(x_t, tt), request.network);
      CudaBf16Autocast autocast(request.network.bf16);
      return network->forward(input, tt.to(torch::kFloat32));
    };
    const auto loss = loss_fn(model, x0, n, t).loss;
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    last_loss = loss.detach();
  };

  TrainStepBenchResult result;
  result.per_step = time_calls(step, s.warmup, s.repeats, s.device);
  result.images_per_s = static_cast<double>(b) / result.per_step.median();
  result.parameters = parameter_count(*network);
  result.last_loss = last_loss.item<double>();
  return result;
}

SampleBenchResult bench_sample(const SampleBenchRequest& request) {
  const BenchSettings& s = request.settings;
  check_settings(s, &request.network);
  if (request.steps < 1) throw InputError("bench: steps must be at least 1");
  if (request.model.process != ProcessType::kDiffusion) {
    throw InputError("bench: the Euler whitened-score sampler needs model.process: diffusion");
  }
  torch::NoGradGuard no_grad;
  DdpmUNet network = benchmark_network(request.model, s, request.network);
  network->eval();
  ScoreModel model(network, make_forward_process(request.model));
  const StructuredNoise noise(StructuredNoiseOptions::from_config(request.noise));
  torch::Generator gen = make_device_generator(s.seed + 2, s.device);

  const int64_t c = request.model.image_channels, size = request.model.image_size;
  const auto x1 = in_layout(noise.sample(s.batch, c, size, size, gen, s.device), request.network);
  const ScoreFn score = [&](const torch::Tensor& x, const torch::Tensor& t) {
    CudaBf16Autocast autocast(request.network.bf16);
    return model.whitened_score(x, t).to(x.scalar_type());
  };
  const auto grid = uniform_time_grid(request.steps, request.model.t_eps);
  torch::Tensor last;
  SampleBenchResult result;
  result.per_trajectory =
      time_calls([&] { last = sample_euler(model.process().schedule(), score, x1, grid); },
                 s.warmup, s.repeats, s.device);
  const double trajectory = result.per_trajectory.median();
  result.seconds_per_step = trajectory / static_cast<double>(request.steps);
  result.seconds_per_image = trajectory / static_cast<double>(s.batch);
  result.parameters = parameter_count(*network);
  return result;
}

}  // namespace wsd
