#include "train/trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>

#include "core/checkpoint/checkpoint.hpp"
#include "core/checkpoint/checkpoint_directory.hpp"
#include "core/config/config_writer.hpp"
#include "core/io/png_writer.hpp"
#include "core/model/prior_noise.hpp"
#include "core/model/score_model.hpp"
#include "core/network/state_dict.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/crc32.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "core/util/run_dir.hpp"
#include "core/util/seeds.hpp"
#include "data/batch_loader.hpp"
#include "data/dataset_factory.hpp"
#include "train/distributed/communicator.hpp"
#include "train/distributed/consistency_check.hpp"
#include "train/lr_schedule.hpp"
#include "train/metrics_log.hpp"
#include "train/run_directory_lock.hpp"
#include "train/skip_monitor.hpp"
#include "train/train_step.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", static_cast<long>(s / 3600),
                  static_cast<long>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", static_cast<long>(s / 60),
                  static_cast<long>(s % 60));
  }
  return buf;
}

// Every rank must run the same resolved config: ranks with different networks fail deep inside
// a collective (a Gloo abort), with different step counts one rank leaves while the others wait,
// and with different batches the averaged gradient is not the global batch's. Checked before the
// network is built, on the CRC-32 of each rank's resolved YAML: the ranks sum their hashes, each
// says whether its own differs from the mean, and the ranks sum those answers too, so that every
// rank stops when any differs.
std::shared_ptr<Communicator> with_same_config_on_all_ranks(
    std::shared_ptr<Communicator> communicator, const Config& config, torch::Device device) {
  if (communicator->world_size() == 1) return communicator;
  const std::string yaml = to_yaml(config);
  const int64_t mine = crc32(yaml.data(), yaml.size());
  const auto sum_over_ranks = [&](int64_t value) {
    std::vector<torch::Tensor> t = {torch::full({1}, value, torch::kInt64).to(device)};
    communicator->allreduce_sum(t);
    return t[0].cpu().item<int64_t>();
  };
  const bool differs = sum_over_ranks(mine) != mine * communicator->world_size();
  const int64_t differing = sum_over_ranks(differs ? 1 : 0);
  if (differing > 0) {
    throw InputError(fmt::format(
        "the ranks' resolved configs differ (rank {} has config hash {:08x}{}); every rank must "
        "run the same config file with the same --set overrides",
        communicator->rank(), mine, differs ? ", not the mean of all ranks'" : ""));
  }
  return communicator;
}

class TrainingRun {
 public:
  TrainingRun(const TrainRequest& request)
      : config_(request.config),
        env_(request.env),
        out_dir_(request.out_dir),
        draw_samples_(request.draw_samples),
        checkpoints_(out_dir_ / "checkpoints", request.config.train.keep_last),
        device_(resolve_device(std::string(enum_name(config_.train.device)), env_.local_rank)),
        communicator_(with_same_config_on_all_ranks(
            make_communicator(env_, device_,
                              std::chrono::milliseconds(
                                  static_cast<int64_t>(config_.train.collective_timeout_s * 1000))),
            config_, device_)),
        step_runner_(config_, device_, communicator_) {
    const TrainConfig& tc = config_.train;
    const int world = communicator_->world_size();
    const int64_t global_batch = step_runner_.global_batch();
    if (global_batch != static_cast<int64_t>(tc.batch_size) * tc.grad_accum * world) {
      throw std::logic_error("global batch does not match batch_size x grad_accum x world size");
    }
    total_steps_ = tc.steps > 0 ? tc.steps : (tc.images + global_batch - 1) / global_batch;
    const int64_t interval = std::min<int64_t>(
        tc.max_skipped_steps, tc.log_every > 0 ? tc.log_every : tc.max_skipped_steps);
    skips_ = std::make_unique<SkipMonitor>(interval, device_);

    const auto dataset = open_dataset(config_.data, config_.data.split);
    spdlog::info("training images: {} ({} images){}", dataset->describe(), dataset->size(),
                 config_.data.split == DataSplit::kTrain && config_.data.validation_images > 0
                     ? fmt::format("; the last {} of the train split are held out for validation",
                                   config_.data.validation_images)
                     : "");
    loader_ = std::make_unique<BatchLoader>(
        dataset, config_.data,
        LoaderRuntime::for_training(config_, env_.rank, env_.world_size, device_));
    if (env_.rank == 0) {
      lock_ = request.run_directory_lock ? request.run_directory_lock
                                         : std::make_shared<RunDirectoryLock>(out_dir_);
      // Under the lock no writer of this run is alive: what a killed writer left goes.
      for (const auto& stale : checkpoints_.prepare()) {
        spdlog::warn("removed {}, a temporary left by a writer that was killed", stale);
      }
      if (tc.sample_every > 0 && draw_samples_) fs::create_directories(out_dir_ / "samples");
      if (tc.sample_every > 0 && !draw_samples_) {
        spdlog::warn("train.sample_every {}: no sampler given to the trainer, no sample grids",
                     tc.sample_every);
      }
      metrics_ = MetricsLog((out_dir_ / "metrics.jsonl").string());
    }
    spdlog::info("training {} ({} parameters) on {} x {} process(es), {}{}",
                 enum_name(config_.model.type), parameter_count(*step_runner_.network()),
                 device_.str(), world, enum_name(tc.precision),
                 tc.channels_last ? ", channels-last" : "");
    spdlog::info("global batch {} = {} per rank x {} accumulation x {} rank(s); {} steps ({})",
                 global_batch, tc.batch_size, tc.grad_accum, world, total_steps_,
                 tc.steps > 0 ? "train.steps"
                              : fmt::format("train.images {} -> {} images", tc.images,
                                            total_steps_ * global_batch));
    if (world > 1) {
      spdlog::info(
          "gradients: {} bucket(s) of <= {} MB, allreduce over {} overlapped with backward",
          step_runner_.reducer().bucket_count(), tc.bucket_mb, communicator_->backend());
    }
  }

  const CheckpointDirectory& checkpoints() const { return checkpoints_; }

  void resume(const std::string& path) {
    const Checkpoint c = load_checkpoint(path);
    // The noise generator is shared by all ranks (global-batch draws): any rank's state will do.
    step_runner_.load_state(
        {c.model, c.ema, c.optimizer,
         c.state.rng_states.empty() ? std::vector<uint8_t>{} : c.state.rng_states.front()},
        path);
    step_ = c.state.step;
    images_seen_ = c.state.images_seen;
    loader_->seek(c.state.epoch, c.state.data_position);
    if (const auto best = checkpoints_.best_val_loss()) best_val_loss_ = *best;
    spdlog::info("resumed from {} at step {}", path, step_);
  }

  TrainOutcome run(const std::atomic<bool>& stop) {
    const TrainConfig& tc = config_.train;
    TrainOutcome outcome;
    auto window_start = Clock::now();
    int64_t window_images = 0;
    const auto options = torch::TensorOptions().device(device_);
    // [sum of losses of applied steps, applied steps] over the log window, on the device.
    torch::Tensor loss_window = torch::zeros({2}, options);
    torch::Tensor grad_norm;
    const auto run_start = Clock::now();
    const int64_t first_step = step_;
    step_runner_.network()->train();
    const auto next = [this] { return loader_->next(); };
    while (step_ < total_steps_) {
      const double lr = learning_rate(tc, step_, total_steps_);
      const StepResult r = step_runner_.run(next, step_, lr);
      loss_window[0].add_(torch::where(r.applied > 0, r.loss, torch::zeros_like(r.loss)));
      loss_window[1].add_(r.applied);
      grad_norm = r.grad_norm;
      skips_->record(step_ + 1, r.applied, r.loss);
      ++step_;
      window_images += step_runner_.global_batch();
      images_seen_ += step_runner_.global_batch();

      const bool log_now = tc.log_every > 0 && step_ % tc.log_every == 0;
      if (log_now || skips_->full()) report_skips();
      if (log_now) {
        // The host synchronisation of the loop: once per log interval.
        std::vector<torch::Tensor> window = {loss_window.clone()};
        communicator_->allreduce_sum(window);
        const auto host = window[0].cpu();
        const double applied = host[1].item<double>();
        outcome.last_loss = applied > 0 ? host[0].item<double>() / applied : std::nan("");
        const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
        const double rate = window_images / std::max(seconds, 1e-9);
        const double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
        const double eta =
            elapsed / static_cast<double>(step_ - first_step) * (total_steps_ - step_);
        const double norm = grad_norm.item<double>();
        spdlog::info("step {}/{} | loss {:.5f} | grad {:.3f} | lr {:.2e} | {:.0f} img/s | ETA {}",
                     step_, total_steps_, outcome.last_loss, norm, lr, rate, format_duration(eta));
        metrics_.write({{"step", step_},
                        {"loss", outcome.last_loss},
                        {"grad_norm", norm},
                        {"lr", lr},
                        {"images_per_s", rate},
                        {"images_seen", images_seen_},
                        {"time_s", elapsed}});
        loss_window.zero_();
        window_images = 0;
        window_start = Clock::now();
      }
      if (tc.consistency_check_every > 0 && step_ % tc.consistency_check_every == 0) {
        check_parameter_consistency(*communicator_, *step_runner_.network(), step_);
      }
      if (tc.validate_every > 0 && step_ % tc.validate_every == 0) validate();
      if (tc.sample_every > 0 && step_ % tc.sample_every == 0) write_samples();
      const bool checkpoint_step = tc.checkpoint_every > 0 && step_ % tc.checkpoint_every == 0;
      const bool stopping = stop_agreed(stop, checkpoint_step || log_now);
      if (checkpoint_step || stopping) outcome.last_checkpoint = save();
      if (stopping) {
        if (env_.rank == 0) {
          spdlog::warn("stop requested: checkpoint {} written at step {}, exiting",
                       outcome.last_checkpoint, step_);
        } else {
          spdlog::warn("stop requested: all ranks stop at step {}; rank 0 wrote the checkpoint",
                       step_);
        }
        outcome.interrupted = true;
        break;
      }
    }
    report_skips();
    if (!outcome.interrupted) {
      if (tc.validate_every > 0 && step_ % tc.validate_every != 0) validate();
      if (tc.sample_every > 0 && step_ % tc.sample_every != 0) write_samples();
      if (tc.checkpoint_every == 0 || step_ % tc.checkpoint_every != 0)
        outcome.last_checkpoint = save();
      else
        outcome.last_checkpoint = (out_dir_ / "checkpoints" / "last.h5").string();
    }
    outcome.steps_done = step_;
    return outcome;
  }

 private:
  // A stop request on any rank (SLURM may signal one task only) stops every rank at the same
  // step, so that rank 0 writes the checkpoint and no rank waits in a collective the others have
  // left: the ranks sum their flags every kStopPollSteps steps and at every step that logs or
  // writes a checkpoint (the same steps on every rank). One process needs no collective.
  static constexpr int64_t kStopPollSteps = 10;
  bool stop_agreed(const std::atomic<bool>& stop, bool sync_step) {
    if (communicator_->world_size() == 1) return stop.load();
    if (!sync_step && step_ % kStopPollSteps != 0) return false;
    std::vector<torch::Tensor> flag = {
        torch::full({1}, stop.load() ? 1.0f : 0.0f, torch::TensorOptions().device(device_))};
    communicator_->allreduce_sum(flag);
    return flag[0].item<float>() > 0.0f;
  }

  // Logs the steps skipped since the last call and aborts after too many in a row. The flags are
  // identical on every rank (they derive from the averaged gradients); each rank says whether its
  // own loss was non-finite, which names the rank the problem came from.
  void report_skips() {
    int64_t consecutive = 0;
    for (const auto& s : skips_->collect(&consecutive)) {
      spdlog::warn("step {} skipped on rank {}: non-finite {} (no parameter, moment or EMA update)",
                   s.step, env_.rank,
                   s.local_loss_nonfinite ? "loss on this rank" : "gradients from another rank");
      metrics_.write({{"step", s.step},
                      {"skipped", true},
                      {"rank", env_.rank},
                      {"nonfinite_loss", s.local_loss_nonfinite}});
    }
    if (consecutive >= config_.train.max_skipped_steps) {
      throw std::runtime_error(
          "step " + std::to_string(step_) + ": " + std::to_string(consecutive) +
          " consecutive steps had a non-finite loss or gradients (train.max_skipped_steps = " +
          std::to_string(config_.train.max_skipped_steps) + "); stopping on rank " +
          std::to_string(env_.rank) + " - lower train.lr or check the data");
    }
  }

  // Held-out loss with fixed times and noise, so values are comparable across steps. A new best
  // value writes checkpoints/best.h5. The images are the validation split's, so that choosing a
  // checkpoint by this loss never looks at the test split; without one, the test split's.
  void validate() {
    if (!validation_) {
      const bool held_out = config_.data.validation_images > 0;
      if (!held_out) {
        spdlog::warn(
            "data.validation_images is 0: the validation loss uses the test split, so choices "
            "made by it (best.h5) have seen the test images");
      }
      auto dataset = held_out ? open_validation_dataset(config_.data)
                              : open_dataset(config_.data, DataSplit::kTest);
      DataConfig data = config_.data;
      data.random_flip = false;
      data.workers = 0;
      LoaderRuntime runtime;
      runtime.batch_size = std::min<int64_t>(256, dataset->size());
      runtime.seed = 12345;
      BatchLoader loader(dataset, data, runtime);
      validation_.emplace();
      validation_->x0 = loader.next();
      auto gen = at::make_generator<at::CPUGeneratorImpl>(777);
      const auto& process = step_runner_.process();
      validation_->t = process.sample_t(validation_->x0.size(0), gen, torch::kCPU);
      validation_->n =
          step_runner_.noise().sample(validation_->x0.size(0), validation_->x0.size(1),
                                      validation_->x0.size(2), validation_->x0.size(3), gen);
    }
    torch::NoGradGuard no_grad;
    auto& network = *step_runner_.network();
    network.eval();
    const auto x0 = validation_->x0.to(device_), n = validation_->n.to(device_);
    const auto t = validation_->t.to(device_);
    const WhitenedScoreLoss::Model model = [&](const torch::Tensor& x_t, const torch::Tensor& tt) {
      return step_runner_.forward(x_t, tt);
    };
    const double loss = step_runner_.loss()(model, x0, n, t).loss.item<double>();
    network.train();
    spdlog::info("step {} | validation loss {:.5f} ({} held-out images)", step_, loss, x0.size(0));
    metrics_.write({{"step", step_}, {"val_loss", loss}});
    if (std::isfinite(loss) && loss < best_val_loss_) {
      best_val_loss_ = loss;
      if (env_.rank == 0) {
        checkpoints_.save_best(make_checkpoint(), step_, loss);
        spdlog::info("step {} | best validation loss so far: checkpoint {}", step_,
                     checkpoints_.best_path().string());
      }
    }
  }

  // A grid of unconditional samples from the EMA weights (rank 0 only).
  void write_samples() {
    if (env_.rank != 0 || !draw_samples_) return;
    torch::NoGradGuard no_grad;
    DdpmUNet ema_net = make_network(config_.model);
    ema_net->to(device_);
    step_runner_.ema().copy_to(*ema_net);
    ema_net->eval();
    ScoreModel model(ema_net, step_runner_.process(), step_runner_.noise(), config_.model.t_eps);
    const int64_t c = config_.data.channels, s = config_.data.image_size;
    const auto seeds = consecutive_seeds(config_.sampler.seed, 0, 16);
    const auto x =
        draw_samples_(model, step_runner_.noise().sample_per_image(seeds, c, s, s, device_));
    const auto path = out_dir_ / "samples" / ("step_" + std::to_string(step_) + ".png");
    ImageGridOptions layout;
    layout.columns = 4;
    write_image_grid(x, path.string(), layout);
    spdlog::info("step {} | samples written to {}", step_, path.string());
  }

  Checkpoint make_checkpoint() {
    Checkpoint c;
    c.state.step = step_;
    c.state.epoch = loader_->epoch();
    c.state.data_position = loader_->position();
    c.state.images_seen = images_seen_;
    c.config_yaml = to_yaml(config_);
    c.model_info = model_info_of(config_.model);
    TrainStepState state = step_runner_.state();
    c.model = std::move(state.model);
    c.ema = std::move(state.ema);
    c.optimizer = std::move(state.optimizer);
    // The noise generator is shared by all ranks (global-batch draws): one state per rank, all
    // equal.
    c.state.rng_states.assign(static_cast<size_t>(communicator_->world_size()), state.generator);
    embed_measured_noise(c, step_runner_.noise());
    return c;
  }

  std::string save() {
    if (env_.rank != 0) return {};
    const std::string last = checkpoints_.save(make_checkpoint(), step_);
    spdlog::info("step {} | checkpoint {}", step_, checkpoints_.step_path(step_).string());
    return last;
  }

  struct ValidationBatch {
    torch::Tensor x0, t, n;
  };

  Config config_;
  DistEnv env_;
  fs::path out_dir_;
  std::function<torch::Tensor(Prior&, const torch::Tensor&)> draw_samples_;
  std::shared_ptr<RunDirectoryLock> lock_;  // rank 0 owns the run directory
  CheckpointDirectory checkpoints_;
  torch::Device device_;
  std::shared_ptr<Communicator> communicator_;
  TrainStep step_runner_;
  std::unique_ptr<SkipMonitor> skips_;
  std::unique_ptr<BatchLoader> loader_;
  MetricsLog metrics_;
  std::optional<ValidationBatch> validation_;
  int64_t total_steps_ = 0;
  int64_t step_ = 0;
  int64_t images_seen_ = 0;
  double best_val_loss_ = std::numeric_limits<double>::infinity();
};

}  // namespace

TrainOutcome train(const TrainRequest& request, const std::atomic<bool>& stop) {
  TrainingRun run(request);
  std::string resume = request.resume;
  if (resume == "auto") {
    resume = run.checkpoints().newest_valid();
    if (resume.empty())
      spdlog::info("no checkpoint to resume in {}: starting fresh", request.out_dir);
  }
  if (!resume.empty()) run.resume(resume);
  return run.run(stop);
}

}  // namespace wsd
