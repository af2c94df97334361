#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>

#include "cli/command.hpp"
#include "core/config/config_loader.hpp"
#include "core/config/config_writer.hpp"
#include "core/util/logging.hpp"
#include "core/util/run_dir.hpp"
#include "train/trainer.hpp"

namespace wsd::cli {
namespace {

std::atomic<bool> g_stop{false};

// torchrun forwards SIGTERM and kills 30 s later: the trainer finishes its step, checkpoints and
// exits well inside that.
extern "C" void request_stop(int) { g_stop.store(true); }

std::string default_out_dir(const Config& config, const std::string& config_path) {
  std::string name = config.run.name;
  if (name.empty() && !config_path.empty())
    name = std::filesystem::path(config_path).stem().string();
  if (name.empty()) name = "train";
  return (std::filesystem::path(config.run.out_dir) / name).string();
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
            init_logging({global.log_level, request.env.rank, request.env.world_size});
            prepare_run_dir(request.out_dir, to_yaml(request.config), request.env.rank);
            std::signal(SIGINT, request_stop);
            std::signal(SIGTERM, request_stop);
            const TrainOutcome outcome = train(request, g_stop);
            if (request.env.rank == 0) {
              spdlog::info("{} after {} steps, last logged loss {:.5f}; checkpoint {}",
                           outcome.interrupted ? "stopped" : "finished", outcome.steps_done,
                           outcome.last_loss, outcome.last_checkpoint);
            }
            return 0;
          }};
}

}  // namespace wsd::cli
