#include "core/model/score_model.hpp"

#include "core/diffusion/schedule.hpp"
#include "core/model/prior_noise.hpp"
#include "core/network/state_dict.hpp"
#include "core/util/errors.hpp"

namespace wsd {

ScoreModel::ScoreModel(DdpmUNet network, ForwardProcess process, StructuredNoise noise,
                       double t_eps)
    : Prior(std::move(noise), t_eps), network_(std::move(network)), process_(std::move(process)) {}

torch::Tensor ScoreModel::output(const torch::Tensor& x_t, const torch::Tensor& t) {
  // The network takes t in the input's floating dtype; bookkeeping stays in float64 outside.
  const auto input = process_.network_input(x_t, t.to(x_t.device())).to(x_t.scalar_type());
  return network_->forward(input, t.to(x_t.device(), torch::kFloat32));
}

bool ScoreModel::is_flow() const { return process_.output_kind() == OutputKind::kVelocity; }

torch::Tensor ScoreModel::whitened_score(const torch::Tensor& x_t, const torch::Tensor& t) {
  if (is_flow()) return whitened_score_from_x0(schedule(), x_t, x0_estimate(x_t, t), t);
  return process_.whitened_score(output(x_t, t), x_t, t.to(x_t.device()));
}

torch::Tensor ScoreModel::x0_estimate(const torch::Tensor& x_t, const torch::Tensor& t) {
  if (is_flow()) {
    const auto flow = flow_state_at(schedule(), x_t, t.to(x_t.device()));
    return process_.x0_estimate(output(flow.x_t, flow.t), flow.x_t, flow.t);
  }
  return process_.x0_estimate(output(x_t, t), x_t, t.to(x_t.device()));
}

std::string ScoreModel::describe() const {
  const OutputKind k = process_.output_kind();
  const char* kind = k == OutputKind::kVelocity           ? "velocity"
                     : k == OutputKind::kNoise            ? "noise"
                     : k == OutputKind::kPreconditionedX0 ? "edm"
                                                          : "ws";
  return std::string("ddpm_unet (") + kind + ", sign " +
         (process_.options().score_sign() < 0 ? "-1" : "+1") + ")";
}

DdpmUNetOptions network_options(const ModelConfig& config) {
  DdpmUNetOptions options;
  options.image_channels(config.image_channels)
      .n_channels(config.n_channels)
      .ch_mults(std::vector<int64_t>(config.ch_mults.begin(), config.ch_mults.end()))
      .is_attn(config.is_attn)
      .n_blocks(config.n_blocks)
      .dropout(config.dropout);
  return options;
}

void set_network_options(ModelConfig& config, const DdpmUNetOptions& options) {
  config.type = ModelType::kDdpmUnet;
  config.image_channels = static_cast<int>(options.image_channels());
  config.n_channels = static_cast<int>(options.n_channels());
  config.ch_mults.assign(options.ch_mults().begin(), options.ch_mults().end());
  config.is_attn = options.is_attn();
  config.n_blocks = static_cast<int>(options.n_blocks());
  config.dropout = options.dropout();
}

DdpmUNet make_network(const ModelConfig& config) {
  if (config.type != ModelType::kDdpmUnet) {
    throw InputError("model.type '" + std::string(enum_name(config.type)) +
                     "' cannot be trained as a network; use ddpm_unet");
  }
  const DdpmUNetOptions options = network_options(config);
  options.validate();
  return DdpmUNet(options);
}

ForwardProcess make_forward_process(const ModelConfig& config) {
  ForwardProcessOptions options;
  options.process(config.process)
      .parameterisation(config.parameterisation)
      .score_sign(config.score_sign)
      .t_eps(config.t_eps)
      .sigma_data(config.sigma_data);
  return ForwardProcess(make_schedule(config.schedule, config.beta_min, config.beta_max), options);
}

ModelInfo model_info_of(const ModelConfig& config) {
  ModelInfo info;
  info.type = config.type;
  info.process = config.process;
  info.parameterisation = config.parameterisation;
  info.score_sign = config.score_sign;
  return info;
}

ScoreModel score_model_of(DdpmUNet network, const Config& config) {
  return ScoreModel(std::move(network), make_forward_process(config.model),
                    StructuredNoise(config.noise), config.model.t_eps);
}

ScoreModel load_score_model(const Checkpoint& checkpoint, const Config& embedded,
                            const std::string& source, bool use_ema, torch::Device device) {
  if (checkpoint.model_info.type == ModelType::kGaussian) {
    throw InputError("'" + source + "' holds a gaussian prior, not a network");
  }
  Config config = embedded;
  const ModelInfo& info = checkpoint.model_info;
  config.model.process = info.process;
  config.model.parameterisation = info.parameterisation;
  if (info.score_sign == 1 || info.score_sign == -1)
    config.model.score_sign = static_cast<int>(info.score_sign);
  DdpmUNet network = make_network(config.model);
  const StateDict& weights = use_ema && !checkpoint.ema.empty() ? checkpoint.ema : checkpoint.model;
  check_finite(weights, source);
  load_state_dict(*network, weights, source);
  network->to(device);
  network->eval();
  return ScoreModel(std::move(network), make_forward_process(config.model),
                    prior_noise_of(checkpoint, config.noise, source), config.model.t_eps);
}

}  // namespace wsd
