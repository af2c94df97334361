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
#include "infer/likelihood/likelihood_step.hpp"
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

// The statistics of the unknown: images of the training split. An unknown made of
// single-channel images (unknown_channel_scales) has channel c follow their law scaled by
// scale[c], as simulate_measurements makes it.
GaussianStatistics estimate_statistics(const Config& config, int64_t limit) {
  DataConfig data = config.data;
  const auto scales = unknown_channel_scales(config.task);
  if (!scales.empty()) data.channels = 1;
  auto statistics = *estimate_gaussian_statistics(data, DataSplit::kTrain, limit);
  if (scales.size() > 1) {
    auto power = statistics.power_spectrum.dim() == 2 ? statistics.power_spectrum.unsqueeze(0)
                                                      : statistics.power_spectrum;
    std::vector<torch::Tensor> means, powers;
    for (const double scale : scales) {
      means.push_back(scale == 1.0 ? statistics.mean : scale * statistics.mean);
      powers.push_back(scale == 1.0 ? power : (scale * scale) * power);
    }
    statistics.mean = torch::cat(means);
    statistics.power_spectrum = torch::cat(powers);
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

GaussianMeasurementModel measurement_model(const GaussianStatistics& statistics,
                                           const MeasurementSet& set) {
  const auto noise = MeasurementNoise::from_config(set.config.task);
  const double s2 = noise.level() * noise.level();
  return GaussianMeasurementModel::make(statistics,
                                        s2 * noise.noise().psd(set.y.size(2), set.y.size(3)));
}

// The data weight of `sampler` for `prior`: sampler.lambda as given, the step's natural weight
// for `auto`, or else the discrepancy principle's choice on the first measurements.
double choose_weight(const PosteriorSolver& solver, const PosteriorProblem& problem,
                     const MeasurementSet& set, torch::Device device, const std::string& label,
                     Reconstruction& out) {
  const SamplerConfig& sampler = solver.sampler;
  const LikelihoodKind& kind = likelihood_kind(sampler.likelihood);
  if (sampler.lambda) return *sampler.lambda;
  if (const auto natural = kind.natural_weight()) return *natural;
  const int64_t probes = std::min<int64_t>(kLambdaProbes, set.size());
  PosteriorProblem probe = problem;
  probe.y = set.y.slice(0, 0, probes);
  probe.seeds.resize(static_cast<size_t>(probes));
  const auto noise = MeasurementNoise::from_config(set.config.task);
  const auto& y_shape = set.y.sizes();
  const auto psd = noise.noise().psd(y_shape[2], y_shape[3]);
  const double energy = noise.level() * noise.level() * static_cast<double>(y_shape[1]) *
                        (psd * rfft2_multiplicity(y_shape[2], y_shape[3])).sum().item<double>();
  LambdaSearch search;
  search.reconstruct = [&](double l) {
    const auto start = Clock::now();
    auto x = solver.at_weight(l).solve(probe);
    spdlog::info("{}: lambda {:.3g} on {} probe measurement(s) ({:.1f} s)", label, l, probes,
                 seconds_since(start));
    return x;
  };
  search.residual_energy = [&](const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    LinearOperator op = problem.op;
    const auto r = probe.y.to(device) - op->forward(x.to(device));
    return r.square().flatten(1).sum(1).to(torch::kCPU);
  };
  search.expected_noise_energy = energy;
  if (set.x_true.defined()) search.truth = set.x_true.slice(0, 0, probes);
  search.min_decade = kind.min_decade();
  search.max_decade = kind.max_decade();
  // A margin below the bound: its top singular direction would barely contract.
  if (const auto bound = solver.stability_bound(problem.op)) search.max_lambda = 0.9 * *bound;
  out.lambda_search = select_lambda(search);
  spdlog::info("{}: lambda auto = {:.3g} (residual / expected noise energy {:.3f})", label,
               out.lambda_search->lambda, out.lambda_search->chosen().residual_ratio);
  return out.lambda_search->lambda;
}

// `model` (the data statistics and measurement noise) is used by steps that need it only.
// `given` replaces the operator the set's task describes.
Reconstruction solve_with_prior(Prior& prior, const SamplerConfig& sampler,
                                const MeasurementSet& set,
                                const std::optional<GaussianMeasurementModel>& model,
                                torch::Device device, const ProgressFn& progress,
                                const std::string& label,
                                const std::optional<LinearOperator>& given = std::nullopt) {
  const auto shape = given ? (*given)->input_shape() : set.image_shape();
  LinearOperator op = given ? *given : make_operator(set.config.task, shape);
  op->to(device);
  const PosteriorSolver solver{prior, sampler, device};
  const PosteriorProblem problem{op, set.y, consecutive_seeds(sampler.seed, 0, set.size()), shape,
                                 model};
  Reconstruction out;
  out.steps = sampler.steps;
  out.prior = prior.describe();
  const double lambda = choose_weight(solver, problem, set, device, label, out);
  out.lambda = lambda;
  const auto start = Clock::now();
  out.x_hat = solver.at_weight(lambda).solve(problem, [&](int64_t done, int64_t total) {
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
  torch::NoGradGuard no_grad;
  auto prior = load_prior(checkpoint, path, sampler.use_ema, device_, set.image_shape());
  auto out = solve_with_prior(*prior, sampler, set, measurement_model_for(sampler, set), device_,
                              progress_, std::string(enum_name(method)));
  out.method = method;
  return out;
}

Reconstruction Reconstructor::run_prior(Prior& prior, const MeasurementSet& set,
                                        const SamplerConfig& sampler,
                                        const std::optional<LinearOperator>& op) {
  torch::NoGradGuard no_grad;
  auto out = solve_with_prior(prior, sampler, set, measurement_model_for(sampler, set), device_,
                              progress_, "prior", op);
  out.method = EvalMethod::kWsPrior;
  return out;
}

std::optional<GaussianMeasurementModel> Reconstructor::measurement_model_for(
    const SamplerConfig& sampler, const MeasurementSet& set) {
  if (!likelihood_kind(sampler.likelihood).needs_measurement_model()) return std::nullopt;
  return measurement_model(statistics(), set);
}

Reconstruction Reconstructor::run(EvalMethod method, const MeasurementSet& set) {
  return run(method, set, config_.sampler);
}

Reconstruction Reconstructor::run(EvalMethod method, const MeasurementSet& set,
                                  const SamplerConfig& sampler,
                                  const std::optional<LinearOperator>& given) {
  if (given && (method == EvalMethod::kWsPrior || method == EvalMethod::kConventionalPrior ||
                method == EvalMethod::kGaussianPrior)) {
    throw InputError("method " + std::string(enum_name(method)) +
                     ": an operator of the caller's goes with run_prior (a prior it holds)");
  }
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
      GaussianPriorModel prior = make_gaussian_prior_model(statistics(), prior_config, device_);
      auto out = solve_with_prior(prior, sampler, set, measurement_model_for(sampler, set), device_,
                                  progress_, "gaussian_prior");
      out.method = method;
      return out;
    }
    case EvalMethod::kWiener:
    case EvalMethod::kTikhonov: {
      LinearOperator op = given ? *given : make_operator(set.config.task, set.image_shape());
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
