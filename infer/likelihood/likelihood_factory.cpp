// The one place that turns a config's sampler.likelihood into what the step is. Adding a step:
// its enum spelling (core/config/config_enums.hpp), its class, and one line in
// likelihood_kind() below (docs/extending.md).
#include <torch/torch.h>

#include "infer/likelihood/dps_step.hpp"
#include "infer/likelihood/likelihood_step.hpp"
#include "infer/likelihood/normalised_gradient_step.hpp"
#include "infer/likelihood/proximal_step.hpp"
#include "infer/likelihood/ws_step.hpp"

namespace wsd {
namespace {

// A step class's static declarations as a LikelihoodKind.
template <typename Step>
class KindOf final : public LikelihoodKind {
 public:
  explicit KindOf(LikelihoodType type) : type_(type) {}

  LikelihoodType type() const override { return type_; }
  std::string weight_meaning() const override { return Step::kWeightMeaning; }
  std::optional<double> natural_weight() const override { return Step::natural_weight(); }
  double min_decade() const override { return Step::kMinDecade; }
  double max_decade() const override { return Step::kMaxDecade; }
  std::optional<double> stability_bound(const StabilityQuery& query) const override {
    return Step::stability_bound(query);
  }
  bool composes_with(SamplerMethod method) const override { return Step::composes_with(method); }
  bool replaces_transition() const override { return Step::kReplacesTransition; }
  bool differentiates_prior() const override { return Step::kDifferentiatesPrior; }
  bool needs_measurement_model() const override { return Step::kNeedsMeasurementModel; }
  std::optional<std::string> graph_obstacle() const override {
    if (Step::kGraphObstacle == nullptr) return std::nullopt;
    return std::string(Step::kGraphObstacle);
  }
  std::shared_ptr<LikelihoodStep> make(const LikelihoodSetup& setup) const override {
    LikelihoodSetup own = setup;
    own.kind = this;
    return std::make_shared<Step>(own);
  }

 private:
  LikelihoodType type_;
};

// `none`: unconditional sampling.
class NoLikelihood final : public LikelihoodKind {
 public:
  LikelihoodType type() const override { return LikelihoodType::kNone; }
  bool uses_measurements() const override { return false; }
  std::string weight_meaning() const override { return "none: no data term"; }
  std::optional<double> natural_weight() const override { return std::nullopt; }
  double min_decade() const override { return 0.0; }
  double max_decade() const override { return 0.0; }
  std::optional<double> stability_bound(const StabilityQuery&) const override {
    return std::nullopt;
  }
  bool composes_with(SamplerMethod) const override { return true; }
  bool replaces_transition() const override { return false; }
  bool differentiates_prior() const override { return false; }
  bool needs_measurement_model() const override { return false; }
  std::optional<std::string> graph_obstacle() const override { return std::nullopt; }
  std::shared_ptr<LikelihoodStep> make(const LikelihoodSetup&) const override { return nullptr; }
};

// One instance per step class, made on first use.
template <typename Step>
const LikelihoodKind& kind_of(LikelihoodType type) {
  static const KindOf<Step> kind(type);
  return kind;
}

}  // namespace

const LikelihoodKind& likelihood_kind(LikelihoodType type) {
  static const NoLikelihood none;
  switch (type) {
    case LikelihoodType::kNone:
      return none;
    case LikelihoodType::kWs:
      return kind_of<WsLikelihoodStep>(type);
    case LikelihoodType::kNormalisedGradient:
      return kind_of<NormalisedGradientStep>(type);
    case LikelihoodType::kDps:
      return kind_of<DpsLikelihoodStep>(type);
    case LikelihoodType::kProximal:
      return kind_of<ProximalLikelihoodStep>(type);
  }
  throw InputError("unknown sampler.likelihood");
}

}  // namespace wsd
