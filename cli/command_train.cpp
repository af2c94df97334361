#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

#include "cli/command.hpp"
#include "cli/stop_signal.hpp"
#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "core/config/config_writer.hpp"
#include "core/diffusion/gaussian_prior.hpp"
#include "core/model/gaussian_prior_model.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"
#include "core/util/logging.hpp"
#include "core/util/run_dir.hpp"
#include "data/batch_loader.hpp"
#include "data/dataset_factory.hpp"
#include "train/metrics_log.hpp"
#include "train/trainer.hpp"

namespace wsd::cli {
namespace {

std::string default_out_dir(const Config& config, const std::string& config_path) {
  std::string name = config.run.name;
  if (name.empty() && !config_path.empty())
    name = std::filesystem::path(config_path).stem().string();
  if (name.empty()) name = "train";
  return (std::filesystem::path(config.run.out_dir) / name).string();
}

// The images of a dataset at the given indices: the few that one epoch of BatchLoader leaves out
// because they do not fill a batch.
class IndexedDataset final : public Dataset {
 public:
  IndexedDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices)
      : base_(std::move(base)), indices_(std::move(indices)) {}
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Sample get(int64_t index) const override {
    return base_->get(indices_[static_cast<size_t>(index)]);
  }
  std::string describe() const override {
    return base_->describe() + ", " + std::to_string(indices_.size()) + " selected";
  }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> indices_;
};

LoaderOptions loader_options(const Config& config, int64_t batch_size) {
  LoaderOptions o = LoaderOptions::from_config(config.data);
  o.batch_size = batch_size;
  o.seed = config.train.seed;
  return o;
}

// model.type gaussian: "training" is one streaming pass that estimates the mean image and the
// power spectrum; the prior's score is then exact and needs no optimisation. Every image of the
// (limited) dataset counts once: full batches come from the loader, the remainder that does not
// fill a batch from a second loader over just those images.
int estimate_gaussian_prior(const Config& config, const std::filesystem::path& out_dir,
                            const std::string& resume) {
  namespace fs = std::filesystem;
  using Clock = std::chrono::steady_clock;
  if (!resume.empty()) {
    spdlog::warn(
        "--resume does not apply to model.type gaussian (one pass over the data); "
        "estimating from the start");
  }
  const auto dataset = open_dataset(config.data, config.data.split);
  const int64_t total = dataset->size();
  if (total < 2) {
    throw InputError(dataset->describe() + " has " + std::to_string(total) +
                     " images; a gaussian prior needs at least 2");
  }
  spdlog::info("estimating a gaussian prior (mean image and power spectrum) from {} images of {}",
               total, dataset->describe());
  BatchLoader loader(dataset,
                     loader_options(config, std::min<int64_t>(config.train.batch_size, total)));
  GaussianStatisticsAccumulator accumulator;
  std::vector<bool> seen(static_cast<size_t>(total), false);
  const int64_t batches = loader.batches_per_epoch();
  const int64_t report = std::max<int64_t>(1, batches / 10);
  const auto start = Clock::now();
  const auto seconds_since_start = [&] {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  for (int64_t b = 0; b < batches; ++b) {
    if (stop_requested().load()) {
      spdlog::warn("stop requested after {} of {} images: no checkpoint written",
                   accumulator.count(), total);
      return 1;
    }
    for (int64_t index : loader.batch_indices(0, b)) seen[static_cast<size_t>(index)] = true;
    accumulator.add(loader.next());
    if ((b + 1) % report == 0 || b + 1 == batches) {
      const double seconds = seconds_since_start();
      spdlog::info("gaussian statistics: {}/{} images ({:.0f} img/s)", accumulator.count(), total,
                   accumulator.count() / std::max(seconds, 1e-9));
    }
  }
  std::vector<int64_t> rest;
  for (int64_t i = 0; i < total; ++i) {
    if (!seen[static_cast<size_t>(i)]) rest.push_back(i);
  }
  if (!rest.empty()) {
    const int64_t n = static_cast<int64_t>(rest.size());
    BatchLoader tail(std::make_shared<IndexedDataset>(dataset, std::move(rest)),
                     loader_options(config, n));
    accumulator.add(tail.next());
    spdlog::info("gaussian statistics: {}/{} images (the last {} outside full batches)",
                 accumulator.count(), total, n);
  }
  const GaussianStatistics statistics = accumulator.finish();

  // Checked before writing: the statistics must make a valid prior under this config.
  (void)make_gaussian_prior(statistics, config);
  const fs::path checkpoints = out_dir / "checkpoints";
  fs::create_directories(checkpoints);
  const std::string path = (checkpoints / "last.h5").string();
  save_checkpoint(gaussian_prior_checkpoint(statistics, config), path);

  // The full-grid mean of the power spectrum is the pixel variance about the mean image.
  const int64_t size = config.data.image_size;
  const double variance = (statistics.power_spectrum * rfft2_multiplicity(size, size))
                              .sum(std::vector<int64_t>{-2, -1})
                              .mean()
                              .item<double>() /
                          static_cast<double>(size * size);
  const double mean = statistics.mean.mean().item<double>();
  const double seconds = seconds_since_start();
  MetricsLog metrics((out_dir / "metrics.jsonl").string());
  metrics.write({{"step", 0},
                 {"images_seen", statistics.count},
                 {"pixel_mean", mean},
                 {"pixel_variance", variance},
                 {"images_per_s", statistics.count / std::max(seconds, 1e-9)},
                 {"time_s", seconds}});
  spdlog::info(
      "gaussian prior from {} images in {:.2f} s: pixel mean {:.4f}, std about the mean image "
      "{:.4f}; checkpoint {}",
      statistics.count, seconds, mean, std::sqrt(variance), path);
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& root, const GlobalOptions& global) {
  auto* app =
      root.add_subcommand("train", "Train a prior (one process, or many under torchrun / SLURM)");
  auto config = std::make_shared<ConfigOptions>();
  auto out = std::make_shared<std::string>();
  auto resume = std::make_shared<std::string>();
  add_config_options(app, *config);
  app->add_option("-o,--out", *out, "run directory (default: run.out_dir/run.name)");
  app->add_option("--resume", *resume,
                  "checkpoint to resume from, or 'auto' for the newest in --out");
  return {app, [=, &global]() {
            TrainRequest request;
            request.config = load_config(config->config_path, config->overrides);
            request.env = read_dist_env();
            request.out_dir =
                out->empty() ? default_out_dir(request.config, config->config_path) : *out;
            request.resume = *resume;
            const bool gaussian = request.config.model.type == ModelType::kGaussian;
            if (gaussian && request.env.world_size > 1) {
              throw InputError(
                  "model.type gaussian is estimated in one process; run it without "
                  "torchrun/srun (WORLD_SIZE is " +
                  std::to_string(request.env.world_size) + ")");
            }
            init_logging({global.log_level, request.env.rank, request.env.world_size});
            prepare_run_dir(request.out_dir, to_yaml(request.config), request.env.rank);
            if (gaussian) {
              return estimate_gaussian_prior(request.config, request.out_dir, request.resume);
            }
            const TrainOutcome outcome = train(request, stop_requested());
            if (request.env.rank == 0) {
              spdlog::info("{} after {} steps, last logged loss {:.5f}; checkpoint {}",
                           outcome.interrupted ? "stopped" : "finished", outcome.steps_done,
                           outcome.last_loss, outcome.last_checkpoint);
            }
            return 0;
          }};
}

}  // namespace wsd::cli
