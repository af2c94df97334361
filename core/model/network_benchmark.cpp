#include "core/model/network_benchmark.hpp"

#include <torch/torch.h>

#include "core/config/config_json.hpp"
#include "core/diffusion/whitened_score_loss.hpp"
#include "core/model/score_model.hpp"
#include "core/network/bf16_autocast.hpp"
#include "core/network/state_dict.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"

namespace wsd {

void NetworkSettings::check(torch::Device device) const {
  if (bf16 && !device.is_cuda()) {
    throw InputError("--precision bf16 (autocast) needs a CUDA device, not " + device.str() +
                     "; use --precision fp32");
  }
}

nlohmann::ordered_json NetworkSettings::to_json() const {
  return {{"precision", bf16 ? "bf16" : "fp32"}, {"channels_last", channels_last}};
}

nlohmann::ordered_json network_report_head(const ModelConfig& model, const NoiseConfig& noise,
                                           int64_t batch, const NetworkSettings* network) {
  nlohmann::ordered_json out;
  out["model"] = wsd::to_json(model);
  out["noise"] = wsd::to_json(noise);
  if (network) out.update(network->to_json());
  out["shape"] = {batch, model.image_channels, model.image_size, model.image_size};
  return out;
}

DdpmUNet benchmark_network(const ModelConfig& model, const BenchSettings& settings,
                           const NetworkSettings& network) {
  torch::manual_seed(settings.seed);
  DdpmUNet net = make_network(model);
  net->to(settings.device);
  if (network.channels_last) {
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  return net;
}

torch::Tensor in_layout(const torch::Tensor& x, const NetworkSettings& network) {
  return network.channels_last ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
}

NetworkBenchResult bench_network(const NetworkBenchRequest& request) {
  const BenchSettings& s = request.settings;
  s.check();
  request.network.check(s.device);
  DdpmUNet network = benchmark_network(request.model, s, request.network);
  network->train();
  const WhitenedScoreLoss loss(make_forward_process(request.model));
  const ForwardProcess& process = loss.process();
  const StructuredNoise noise(request.noise);
  torch::optim::Adam optimizer(network->parameters(), torch::optim::AdamOptions(request.lr));
  torch::Generator gen = make_device_generator(s.seed + 1, s.device);

  const int64_t b = s.batch, c = request.model.image_channels, size = request.model.image_size;
  const auto x0 = in_layout(
      torch::rand({b, c, size, size}, gen, torch::TensorOptions().device(s.device)) * 2.0 - 1.0,
      request.network);
  const WhitenedScoreLoss::Model model = [&](const torch::Tensor& x_t, const torch::Tensor& t) {
    const auto input = in_layout(process.network_input(x_t, t), request.network);
    CudaBf16Autocast autocast(request.network.bf16);
    return network->forward(input, t.to(torch::kFloat32));
  };
  torch::Tensor last_loss;
  const auto step = [&] {
    const auto t = process.sample_t(b, gen, s.device);
    const auto n = noise.sample(b, c, size, size, gen, s.device);
    const auto value = loss(model, x0, n, t).loss;
    optimizer.zero_grad();
    value.backward();
    optimizer.step();
    last_loss = value.detach();
  };

  NetworkBenchResult result;
  result.request = request;
  result.per_step = time_calls(step, s.warmup, s.repeats, s.device);
  result.images_per_s = static_cast<double>(b) / result.per_step.median();
  result.parameters = parameter_count(*network);
  result.last_loss = last_loss.item<double>();
  return result;
}

nlohmann::ordered_json NetworkBenchResult::to_json() const {
  const BenchSettings& s = request.settings;
  auto out = network_report_head(request.model, request.noise, s.batch, &request.network);
  out["step"] = "t, noise, forward, loss, backward, Adam (no loader, reduction, clip, EMA)";
  out["parameters"] = parameters;
  out["images_per_s"] = images_per_s;
  out["images_per_s_best"] = static_cast<double>(s.batch) / per_step.min();
  per_step.add_to(out, "step");
  out["loss"] = last_loss;
  return out;
}

}  // namespace wsd
