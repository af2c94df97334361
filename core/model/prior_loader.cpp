#include "core/model/prior_loader.hpp"

#include "core/config/config_loader.hpp"
#include "core/model/gaussian_prior_model.hpp"
#include "core/model/score_model.hpp"
#include "core/util/errors.hpp"

namespace wsd {
namespace {

void check_image_shape(const ModelConfig& model, const std::string& source,
                       const std::vector<int64_t>& shape) {
  if (shape.empty() || (model.image_channels == shape[0] && model.image_size == shape[1] &&
                        model.image_size == shape[2])) {
    return;
  }
  const auto size = std::to_string(model.image_size);
  throw InputError("prior '" + source + "' models " + std::to_string(model.image_channels) + " x " +
                   size + " x " + size + " images, but the task's unknowns are " +
                   std::to_string(shape[0]) + " x " + std::to_string(shape[1]) + " x " +
                   std::to_string(shape[2]));
}

}  // namespace

std::unique_ptr<Prior> load_prior(const Checkpoint& checkpoint, const std::string& source,
                                  bool use_ema, torch::Device device,
                                  const std::vector<int64_t>& image_shape) {
  const Config config = parse_config(checkpoint.config_yaml, source + " (embedded config)");
  if (checkpoint.model_info.type == ModelType::kGaussian) {
    return load_gaussian_prior(checkpoint, config, source, device);
  }
  check_image_shape(config.model, source, image_shape);
  return std::make_unique<ScoreModel>(
      load_score_model(checkpoint, config, source, use_ema, device));
}

}  // namespace wsd
