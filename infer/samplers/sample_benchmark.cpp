#include "infer/samplers/sample_benchmark.hpp"

#include <torch/torch.h>

#include "core/model/score_model.hpp"
#include "core/network/bf16_autocast.hpp"
#include "core/network/state_dict.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "infer/samplers/sampler.hpp"
#include "infer/samplers/trajectory.hpp"

namespace wsd {

SampleBenchResult bench_sample(const SampleBenchRequest& request) {
  const BenchSettings& s = request.settings;
  s.check();
  request.network.check(s.device);
  if (request.steps < 1) throw InputError("--steps must be at least 1");
  if (request.model.process != ProcessType::kDiffusion) {
    throw InputError("bench: the Euler whitened-score sampler needs model.process: diffusion");
  }
  c10::InferenceMode inference;  // as every sampler without DPS runs (posterior_solver.cpp)
  DdpmUNet network = benchmark_network(request.model, s, request.network);
  network->eval();
  ScoreModel model(network, make_forward_process(request.model), StructuredNoise(request.noise),
                   request.model.t_eps);
  const StructuredNoise noise(request.noise);
  torch::Generator gen = make_device_generator(s.seed + 2, s.device);

  const int64_t c = request.model.image_channels, size = request.model.image_size;
  const auto x1 = in_layout(noise.sample(s.batch, c, size, size, gen, s.device), request.network);
  const ScoreFn score = [&](const torch::Tensor& x, const torch::Tensor& t) {
    CudaBf16Autocast autocast(request.network.bf16);
    return model.whitened_score(x, t).to(x.scalar_type());
  };
  SamplerConfig sampler;
  sampler.method = SamplerMethod::kEuler;
  sampler.time_grid = TimeGrid::kUniform;
  sampler.steps = static_cast<int>(request.steps);
  const Trajectory runner(model.schedule(), score, sampler, model.t_eps());
  torch::Tensor last;
  SampleBenchResult result;
  result.request = request;
  result.per_trajectory =
      time_calls([&] { last = runner.integrate(x1, {}); }, s.warmup, s.repeats, s.device);
  const double trajectory = result.per_trajectory.median();
  result.seconds_per_step = trajectory / static_cast<double>(request.steps + 1);
  result.seconds_per_image = trajectory / static_cast<double>(s.batch);
  result.parameters = parameter_count(*network);
  return result;
}

nlohmann::ordered_json SampleBenchResult::to_json() const {
  const BenchSettings& s = request.settings;
  auto out = network_report_head(request.model, request.noise, s.batch, &request.network);
  out["sampler"] = "euler";
  out["steps"] = request.steps;
  out["parameters"] = parameters;
  out["s_per_step"] = seconds_per_step;
  out["s_per_image"] = seconds_per_image;
  // Extrapolated to the authors' 1000-step sampler.
  out["s_per_image_1000_steps"] = seconds_per_step * 1000.0 / static_cast<double>(s.batch);
  out["s_per_batch_1000_steps"] = seconds_per_step * 1000.0;
  per_trajectory.add_to(out, "trajectory");
  return out;
}

}  // namespace wsd
