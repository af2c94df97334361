#include "core/model/prior_loader.hpp"

#include "core/model/gaussian_prior_model.hpp"
#include "core/model/score_model.hpp"
#include "core/util/errors.hpp"

namespace wsd {

std::unique_ptr<Prior> load_prior(const Checkpoint& checkpoint, const std::string& source,
                                  bool use_ema, torch::Device device) {
  if (checkpoint.model_info.type == ModelType::kGaussian) {
    return load_gaussian_prior(checkpoint, source, device);
  }
  return std::make_unique<ScoreModel>(load_score_model(checkpoint, source, use_ema, device));
}

}  // namespace wsd
