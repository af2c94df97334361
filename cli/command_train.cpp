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
#include "data/gaussian_statistics.hpp"
#include "infer/samplers/preview_samples.hpp"
#include "train/metrics_log.hpp"
#include "train/run_directory_lock.hpp"
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

// model.type gaussian: "training" is one streaming pass that estimates the mean image and the
// power spectrum (estimate_gaussian_statistics, every image of the limited split once, without
// augmentation); the prior's score is then exact and needs no optimisation.
int estimate_gaussian_prior(const Config& config, const std::filesystem::path& out_dir,
                            const std::string& resume) {
  namespace fs = std::filesystem;
  using Clock = std::chrono::steady_clock;
  if (!resume.empty()) {
    spdlog::warn(
        "--resume does not apply to model.type gaussian (one pass over the data); "
        "estimating from the start");
  }
  const auto start = Clock::now();
  const auto seconds_since_start = [&] {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  spdlog::info("estimating a gaussian prior (mean image and power spectrum) from the {} split",
               enum_name(config.data.split));
  int64_t last_report = 0;
  const auto estimate = estimate_gaussian_statistics(
      config.data, config.data.split, 0, [&](int64_t done, int64_t total) {
        if (stop_requested().load()) {
          spdlog::warn("stop requested after {} of {} images: no checkpoint written", done, total);
          return false;
        }
        if (done - last_report >= total / 10 || done == total) {
          last_report = done;
          spdlog::info("gaussian statistics: {}/{} images ({:.0f} img/s)", done, total,
                       done / std::max(seconds_since_start(), 1e-9));
        }
        return true;
      });
  if (!estimate) return 1;
  const GaussianStatistics& statistics = *estimate;

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

// A fresh run into a directory that holds an earlier one would overwrite its checkpoints and
// append to its metrics: the user says which of the two they want.
void claim_run_dir(const std::filesystem::path& dir, const std::string& resume, bool overwrite) {
  if (!resume.empty()) return;
  const auto previous = previous_run_in(dir);
  if (!previous) return;
  if (!overwrite) {
    throw InputError("--out '" + dir.string() + "' holds an earlier run (" + *previous +
                     "); continue it with --resume auto, or start over with --overwrite");
  }
  spdlog::warn("--overwrite: removing the earlier run in {}", dir.string());
  remove_run_outputs(dir);
}

}  // namespace

Command add_train_command(CLI::App& root, const GlobalOptions& global) {
  auto* app =
      root.add_subcommand("train", "Train a prior (one process, or many under torchrun / SLURM)");
  auto config = std::make_shared<ConfigOptions>();
  auto out = std::make_shared<std::string>();
  auto resume = std::make_shared<std::string>();
  auto overwrite = std::make_shared<bool>(false);
  add_config_options(app, *config);
  app->add_option("-o,--out", *out, "run directory (default: run.out_dir/run.name)");
  auto* resume_option = app->add_option(
      "--resume", *resume, "checkpoint to resume from, or 'auto' for the newest in --out");
  app->add_flag("--overwrite", *overwrite,
                "start over in an --out that holds an earlier run: deletes its checkpoints, "
                "metrics, samples, log and config first")
      ->excludes(resume_option);
  return {app, [=, &global]() {
            TrainRequest request;
            request.config = load_config(config->config_path, config->overrides);
            request.env = read_dist_env();
            request.out_dir =
                out->empty() ? default_out_dir(request.config, config->config_path) : *out;
            request.resume = *resume;
            request.draw_samples = [](Prior& prior, const torch::Tensor& x1) {
              return preview_samples(prior, x1);
            };
            const bool gaussian = request.config.model.type == ModelType::kGaussian;
            if (gaussian && request.env.world_size > 1) {
              throw InputError(
                  "model.type gaussian is estimated in one process; run it without "
                  "torchrun/srun (WORLD_SIZE is " +
                  std::to_string(request.env.world_size) + ")");
            }
            init_logging({global.log_level, request.env.rank, request.env.world_size});
            if (request.env.rank == 0) {
              // Under the lock before anything is written: a run that is refused leaves the
              // directory as it found it.
              refuse_links_in_run_dir(request.out_dir);
              request.run_directory_lock = std::make_shared<RunDirectoryLock>(request.out_dir);
              claim_run_dir(request.out_dir, request.resume, *overwrite);
            }
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
