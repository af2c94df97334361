#include "core/model/gaussian_prior_model.hpp"

#include <torch/torch.h>

#include <utility>

#include "core/config/config_loader.hpp"
#include "core/config/config_writer.hpp"
#include "core/model/prior_noise.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"

namespace wsd {
namespace {

std::string shape_of(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

const torch::Tensor* find_tensor(const StateDict& dict, const std::string& name) {
  for (const auto& [key, tensor] : dict) {
    if (key == name) return &tensor;
  }
  return nullptr;
}

// Shapes are checked here, as input errors naming the file, before GaussianPrior's own checks
// (which report programming errors) can see them.
void check_fits(const GaussianStatistics& s, const ModelConfig& model, const std::string& source) {
  const int64_t c = model.image_channels, size = model.image_size;
  const auto fail = [&](const std::string& what) {
    throw InputError(source + ": gaussian prior " + what);
  };
  if (!s.mean.defined() || s.mean.dim() != 3 || s.mean.size(0) != c || s.mean.size(1) != size ||
      s.mean.size(2) != size) {
    fail("mean " + (s.mean.defined() ? shape_of(s.mean) : std::string("(missing)")) +
         " does not fit model.image_channels " + std::to_string(c) + " and model.image_size " +
         std::to_string(size));
  }
  const auto& p = s.power_spectrum;
  const bool spectrum_ok = p.defined() && (p.dim() == 2 || (p.dim() == 3 && p.size(0) == c)) &&
                           p.size(-2) == size && p.size(-1) == size / 2 + 1;
  if (!spectrum_ok) {
    fail("power spectrum " + (p.defined() ? shape_of(p) : std::string("(missing)")) +
         " is not [H, W/2+1] or [C, H, W/2+1] for " + std::to_string(size) + " px images");
  }
  if (!torch::isfinite(s.mean).all().item<bool>() || !torch::isfinite(p).all().item<bool>() ||
      (p < 0).any().item<bool>()) {
    fail("holds non-finite values or a negative power spectrum");
  }
  if (s.count < 2) fail("statistics come from " + std::to_string(s.count) + " images (need 2)");
}

}  // namespace

GaussianPriorModel::GaussianPriorModel(GaussianPrior prior, StructuredNoise noise, double t_eps)
    : Prior(std::move(noise), t_eps), prior_(std::move(prior)) {}

torch::Tensor GaussianPriorModel::whitened_score(const torch::Tensor& x_t, const torch::Tensor& t) {
  return prior_.whitened_score(x_t, t);
}

torch::Tensor GaussianPriorModel::x0_estimate(const torch::Tensor& x_t, const torch::Tensor& t) {
  return prior_.tweedie(x_t, t);
}

GaussianPrior make_gaussian_prior(const GaussianStatistics& statistics, const Config& config,
                                  torch::Device device) {
  return make_gaussian_prior(statistics, config, StructuredNoise(config.noise), device);
}

GaussianPrior make_gaussian_prior(const GaussianStatistics& statistics, const Config& config,
                                  const StructuredNoise& noise, torch::Device device) {
  if (config.model.process != ProcessType::kDiffusion) {
    throw InputError(
        "model.type gaussian needs model.process diffusion: its closed form is the VP whitened "
        "score");
  }
  check_fits(statistics, config.model, "model.type gaussian");
  const int64_t size = config.model.image_size;
  return GaussianPrior(
      statistics.mean.to(device, torch::kFloat64),
      statistics.power_spectrum.to(device, torch::kFloat64), noise.psd(size, size).to(device),
      make_schedule(config.model.schedule, config.model.beta_min, config.model.beta_max));
}

GaussianPriorModel make_gaussian_prior_model(const GaussianStatistics& statistics,
                                             const Config& config, torch::Device device) {
  return make_gaussian_prior_model(statistics, config, StructuredNoise(config.noise), device);
}

GaussianPriorModel make_gaussian_prior_model(const GaussianStatistics& statistics,
                                             const Config& config, StructuredNoise noise,
                                             torch::Device device) {
  auto prior = make_gaussian_prior(statistics, config, noise, device);
  return GaussianPriorModel(std::move(prior), std::move(noise), config.model.t_eps);
}

Checkpoint gaussian_prior_checkpoint(const GaussianStatistics& statistics, const Config& config) {
  Checkpoint checkpoint;
  checkpoint.config_yaml = to_yaml(config);
  checkpoint.model_info.type = ModelType::kGaussian;
  checkpoint.model_info.score_sign = 1;
  checkpoint.model = {
      {"count", torch::tensor(statistics.count, torch::kInt64)},
      {"mean", statistics.mean.to(torch::kCPU, torch::kFloat64)},
      {"power_spectrum", statistics.power_spectrum.to(torch::kCPU, torch::kFloat64)},
  };
  checkpoint.state.epoch = 1;  // one full pass over the data
  checkpoint.state.images_seen = statistics.count;
  embed_measured_noise(checkpoint, StructuredNoise(config.noise));
  return checkpoint;
}

GaussianStatistics gaussian_statistics_of(const Checkpoint& checkpoint, const std::string& source) {
  GaussianStatistics statistics;
  for (const char* name : {"mean", "power_spectrum", "count"}) {
    if (find_tensor(checkpoint.model, name) == nullptr) {
      throw InputError(source + ": gaussian prior lacks /model/" + name);
    }
  }
  const torch::Tensor& count = *find_tensor(checkpoint.model, "count");
  if (count.numel() != 1) throw InputError(source + ": /model/count is not a scalar");
  statistics.mean = find_tensor(checkpoint.model, "mean")->to(torch::kFloat64);
  statistics.power_spectrum = find_tensor(checkpoint.model, "power_spectrum")->to(torch::kFloat64);
  statistics.count = count.to(torch::kInt64).item<int64_t>();
  return statistics;
}

std::unique_ptr<GaussianPriorModel> load_gaussian_prior(const Checkpoint& checkpoint,
                                                        const Config& config,
                                                        const std::string& source,
                                                        torch::Device device) {
  const GaussianStatistics statistics = gaussian_statistics_of(checkpoint, source);
  check_fits(statistics, config.model, source);
  return std::make_unique<GaussianPriorModel>(make_gaussian_prior_model(
      statistics, config, prior_noise_of(checkpoint, config.noise, source), device));
}

}  // namespace wsd
