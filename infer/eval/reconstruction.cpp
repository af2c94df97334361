#include "infer/eval/reconstruction.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "core/model/gaussian_prior_model.hpp"
#include "core/model/prior_loader.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"
#include "core/util/seeds.hpp"
#include "data/gaussian_statistics.hpp"
#include "infer/baselines/tikhonov_cg.hpp"
#include "infer/baselines/wiener_filter.hpp"
#include "infer/solve/posterior_solver.hpp"
#include "operators/measurement_noise.hpp"
#include "operators/operator_factory.hpp"

namespace wsd {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Probe measurements of the automatic lambda search.
constexpr int64_t kLambdaProbes = 4;

// The statistics of the unknown: images of the training split; for IDT with absorption the
// absorption channel follows the same law scaled by 0.5 (as simulate_measurements makes it).
GaussianStatistics estimate_statistics(const Config& config, int64_t limit) {
  DataConfig data = config.data;
  const bool idt = config.task.operator_name == OperatorType::kIdt;
  if (idt) data.channels = 1;
  auto statistics = *estimate_gaussian_statistics(data, DataSplit::kTrain, limit);
  if (idt && config.task.absorption) {
    statistics.mean = torch::cat({0.5 * statistics.mean, statistics.mean});
    auto power = statistics.power_spectrum.dim() == 2 ? statistics.power_spectrum.unsqueeze(0)
                                                      : statistics.power_spectrum;
    statistics.power_spectrum = torch::cat({0.25 * power, power});
  }
  spdlog::info("Gaussian prior statistics from {} training images", statistics.count);
  return statistics;
}

}  // namespace

struct Reconstructor::State {
  std::optional<GaussianStatistics> statistics;
};

Reconstructor::Reconstructor(Config config, torch::Device device, ProgressFn progress)
    : config_(std::move(config)),
      device_(device),
      progress_(std::move(progress)),
      state_(std::make_unique<State>()) {}

Reconstructor::~Reconstructor() = default;

const GaussianStatistics& Reconstructor::statistics() {
  if (!state_->statistics) {
    state_->statistics = estimate_statistics(config_, config_.eval.statistics_images);
  }
  return *state_->statistics;
}

namespace {

struct PriorUnderTest {
  Prior& prior;
  StructuredNoise noise;  // the prior's own noise family
  double t_eps;
};

GaussianMeasurementModel measurement_model(const GaussianStatistics& statistics,
                                           const MeasurementSet& set) {
  const auto noise = MeasurementNoise::from_config(set.config.task);
  const double s2 = noise.level() * noise.level();
  return GaussianMeasurementModel::make(statistics,
                                        s2 * noise.noise().psd(set.y.size(2), set.y.size(3)));
}

// `model` (the data statistics and measurement noise) is needed by the proximal step only.
Reconstruction solve_with_prior(const PriorUnderTest& p, const SamplerConfig& sampler,
                                const MeasurementSet& set,
                                const std::optional<GaussianMeasurementModel>& model,
                                torch::Device device, const ProgressFn& progress,
                                const std::string& label) {
  if (sampler.likelihood == LikelihoodType::kNone) {
    throw InputError(
        "sampler.likelihood is none: nothing ties the samples to the measurements (use ws, "
        "normalised_gradient, dps or proximal)");
  }
  const auto shape = set.image_shape();
  auto op = make_operator(set.config.task, shape);
  op->to(device);
  PosteriorSolver solver{p.prior, p.noise, sampler, p.t_eps, device};
  Reconstruction out;
  out.steps = sampler.steps;
  out.prior = p.prior.describe();
  const bool proximal = sampler.likelihood == LikelihoodType::kProximal;
  // The proximal step's weight is the noise model's own: `auto` means that model as given.
  double lambda = sampler.lambda.value_or(proximal ? 1.0 : 0.0);
  if (!sampler.lambda && !proximal) {
    const int64_t probes = std::min<int64_t>(kLambdaProbes, set.size());
    PosteriorProblem probe{op, set.y.slice(0, 0, probes),
                           consecutive_seeds(sampler.seed, 0, probes), shape, model};
    const auto noise = MeasurementNoise::from_config(set.config.task);
    const auto& y_shape = set.y.sizes();
    const auto psd = noise.noise().psd(y_shape[2], y_shape[3]);
    const double energy = noise.level() * noise.level() * static_cast<double>(y_shape[1]) *
                          (psd * rfft2_multiplicity(y_shape[2], y_shape[3])).sum().item<double>();
    LambdaSearch search;
    search.reconstruct = [&](double l) {
      const auto start = Clock::now();
      auto x = solver.solve(probe, l);
      spdlog::info("{}: lambda {:.3g} on {} probe measurement(s) ({:.1f} s)", label, l, probes,
                   seconds_since(start));
      return x;
    };
    search.residual_energy = [&](const torch::Tensor& x) {
      torch::NoGradGuard no_grad;
      const auto r = probe.y.to(device) - op->forward(x.to(device));
      return r.square().flatten(1).sum(1).to(torch::kCPU);
    };
    search.expected_noise_energy = energy;
    if (set.x_true.defined()) search.truth = set.x_true.slice(0, 0, probes);
    if (sampler.likelihood != LikelihoodType::kWs) search.min_decade = -2, search.max_decade = 2;
    // A margin below the bound: its top singular direction would barely contract.
    if (const auto bound = solver.stability_bound(op)) search.max_lambda = 0.9 * *bound;
    out.lambda_search = select_lambda(search);
    lambda = out.lambda_search->lambda;
    spdlog::info("{}: lambda auto = {:.3g} (residual / expected noise energy {:.3f})", label,
                 lambda, out.lambda_search->chosen().residual_ratio);
  }
  out.lambda = lambda;
  const PosteriorProblem problem{op, set.y, consecutive_seeds(sampler.seed, 0, set.size()), shape,
                                 model};
  const auto start = Clock::now();
  out.x_hat = solver.solve(problem, lambda, [&](int64_t done, int64_t total) {
    if (progress) progress(label, done, total);
  });
  out.seconds = seconds_since(start);
  return out;
}

}  // namespace

Reconstruction Reconstructor::run_checkpoint(const std::string& path, EvalMethod method,
                                             const MeasurementSet& set,
                                             const SamplerConfig& sampler) {
  const Checkpoint checkpoint = load_checkpoint(path);
  const Config prior_config = parse_config(checkpoint.config_yaml, path + " (embedded config)");
  const auto shape = set.image_shape();
  if (checkpoint.model_info.type != ModelType::kGaussian &&
      (prior_config.model.image_channels != shape[0] || prior_config.model.image_size != shape[1] ||
       prior_config.model.image_size != shape[2])) {
    throw InputError("prior '" + path + "' models " +
                     std::to_string(prior_config.model.image_channels) + " x " +
                     std::to_string(prior_config.model.image_size) + " x " +
                     std::to_string(prior_config.model.image_size) +
                     " images, but the task's unknowns are " + std::to_string(shape[0]) + " x " +
                     std::to_string(shape[1]) + " x " + std::to_string(shape[2]));
  }
  torch::NoGradGuard no_grad;
  auto prior = load_prior(checkpoint, path, sampler.use_ema, device_);
  const PriorUnderTest p{*prior, StructuredNoise(prior_config.noise), prior_config.model.t_eps};
  auto out = solve_with_prior(p, sampler, set, proximal_model(sampler, set), device_, progress_,
                              std::string(enum_name(method)));
  out.method = method;
  return out;
}

std::optional<GaussianMeasurementModel> Reconstructor::proximal_model(const SamplerConfig& sampler,
                                                                      const MeasurementSet& set) {
  if (sampler.likelihood != LikelihoodType::kProximal) return std::nullopt;
  return measurement_model(statistics(), set);
}

Reconstruction Reconstructor::run(EvalMethod method, const MeasurementSet& set) {
  return run(method, set, config_.sampler);
}

Reconstruction Reconstructor::run(EvalMethod method, const MeasurementSet& set,
                                  const SamplerConfig& sampler) {
  switch (method) {
    case EvalMethod::kWsPrior:
    case EvalMethod::kConventionalPrior: {
      const bool ws = method == EvalMethod::kWsPrior;
      const std::string& path = ws ? config_.eval.checkpoint : config_.eval.conventional_checkpoint;
      if (path.empty()) {
        throw InputError(std::string("eval.") + (ws ? "checkpoint" : "conventional_checkpoint") +
                         " is empty: method " + std::string(enum_name(method)) +
                         " needs a prior checkpoint");
      }
      return run_checkpoint(path, method, set, sampler);
    }
    case EvalMethod::kGaussianPrior: {
      // The same structured noise as the WS prior when one is given, so the comparison isolates
      // the prior itself.
      Config prior_config = config_;
      if (!config_.eval.checkpoint.empty()) {
        // Only the embedded config is needed: the summary leaves the weights on disk.
        const auto summary = inspect_checkpoint(config_.eval.checkpoint);
        prior_config =
            parse_config(summary.config_yaml, config_.eval.checkpoint + " (embedded config)");
      }
      prior_config.model.image_channels = set.image_shape()[0];
      prior_config.model.image_size = set.image_shape()[1];
      GaussianPriorModel prior(make_gaussian_prior(statistics(), prior_config, device_));
      const PriorUnderTest p{prior, StructuredNoise(prior_config.noise), prior_config.model.t_eps};
      auto out = solve_with_prior(p, sampler, set, proximal_model(sampler, set), device_, progress_,
                                  "gaussian_prior");
      out.method = method;
      return out;
    }
    case EvalMethod::kWiener:
    case EvalMethod::kTikhonov: {
      auto op = make_operator(set.config.task, set.image_shape());
      op->to(device_);
      const auto model = measurement_model(statistics(), set);
      torch::NoGradGuard no_grad;
      const auto start = Clock::now();
      const auto y = set.y.to(device_, torch::kFloat64);
      Reconstruction out;
      out.method = method;
      out.x_hat = (method == EvalMethod::kWiener ? wiener_filter(*op, y, model)
                                                 : tikhonov_cg(*op, y, model))
                      .to(torch::kCPU, torch::kFloat32);
      out.seconds = seconds_since(start);
      out.prior = "gaussian statistics of the training split";
      return out;
    }
  }
  throw InputError("unknown eval method");
}

}  // namespace wsd
