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
#include <map>
#include <memory>
#include <regex>

#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_writer.hpp"
#include "core/io/png_writer.hpp"
#include "core/model/score_model.hpp"
#include "core/network/state_dict.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/crc32.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "core/util/run_dir.hpp"
#include "data/batch_loader.hpp"
#include "data/dataset_factory.hpp"
#include "infer/samplers/sampler.hpp"
#include "train/distributed/communicator.hpp"
#include "train/distributed/consistency_check.hpp"
#include "train/lr_schedule.hpp"
#include "train/metrics_log.hpp"
#include "train/optimizer_state.hpp"
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

std::vector<uint8_t> generator_state(const torch::Generator& gen) {
  const auto state = gen.get_state().contiguous();
  const auto* p = state.data_ptr<uint8_t>();
  return std::vector<uint8_t>(p, p + state.numel());
}

void set_generator_state(torch::Generator& gen, const std::vector<uint8_t>& bytes) {
  gen.set_state(torch::from_blob(const_cast<uint8_t*>(bytes.data()),
                                 {static_cast<int64_t>(bytes.size())}, torch::kUInt8)
                    .clone());
}

// The step_<N>.h5 files of a checkpoint directory, newest first.
std::vector<std::pair<int64_t, fs::path>> step_checkpoints(const fs::path& dir) {
  std::vector<std::pair<int64_t, fs::path>> found;
  const std::regex name(R"(step_(\d+)\.h5)");
  if (!fs::is_directory(dir)) return found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (std::regex_match(file, m, name)) found.emplace_back(std::stoll(m[1]), entry.path());
  }
  std::sort(found.rbegin(), found.rend());
  return found;
}

// The checkpoint of a run directory with the highest step that loads cleanly ("auto" resume):
// step files and last.h5 alike (step files may have been pruned or deleted). A run that would
// start from scratch over an unreadable last.h5 is refused: it would overwrite the checkpoint
// it could not read.
std::string newest_valid_checkpoint(const fs::path& dir) {
  std::vector<std::pair<int64_t, fs::path>> candidates;
  const fs::path last = dir / "last.h5";
  std::string last_error;
  if (fs::exists(last)) {
    try {
      candidates.emplace_back(inspect_checkpoint(last.string()).state.step, last);
    } catch (const std::exception& e) {
      last_error = e.what();
      spdlog::warn("skipping unreadable checkpoint {}: {}", last.string(), e.what());
    }
  }
  for (const auto& [step, path] : step_checkpoints(dir)) {
    if (!candidates.empty() && step <= candidates.front().first) break;
    try {
      inspect_checkpoint(path.string());
      candidates.insert(candidates.begin(), {step, path});
      break;
    } catch (const std::exception& e) {
      spdlog::warn("skipping unreadable checkpoint {}: {}", path.string(), e.what());
    }
  }
  if (candidates.empty() && !last_error.empty()) {
    throw InputError("--resume auto: " + last.string() + " cannot be read (" + last_error +
                     ") and no other checkpoint can; refusing to start over it: move it away, "
                     "or pass --resume with a checkpoint");
  }
  return candidates.empty() ? std::string() : candidates.front().second.string();
}

StateDict ema_state_dict(const Ema& ema, const torch::nn::Module& module) {
  StateDict out;
  const auto names = module.named_parameters();
  for (size_t i = 0; i < names.size(); ++i) out.emplace_back(names[i].key(), ema.shadow()[i]);
  return out;
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

    loader_ = std::make_unique<BatchLoader>(
        open_dataset(config_.data, config_.data.split),
        LoaderOptions::for_training(config_, env_.rank, env_.world_size, device_));
    if (env_.rank == 0) {
      lock_ = std::make_unique<RunDirectoryLock>(out_dir_);
      fs::create_directories(out_dir_ / "checkpoints");
      // Under the lock no writer of this run is alive: what a killed writer left goes.
      for (const auto& stale : remove_stale_temporaries((out_dir_ / "checkpoints").string())) {
        spdlog::warn("removed {}, a temporary left by a writer that was killed", stale);
      }
      fs::create_directories(out_dir_ / "samples");
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

  void resume(const std::string& path) {
    const Checkpoint c = load_checkpoint(path);
    auto& network = *step_runner_.network();
    load_state_dict(network, c.model, path);
    if (!c.ema.empty()) {
      // Checkpoint tensors come back sorted by name; the shadow follows parameter order.
      const std::map<std::string, torch::Tensor> ema(c.ema.begin(), c.ema.end());
      const auto names = network.named_parameters();
      for (size_t i = 0; i < names.size(); ++i) {
        const auto it = ema.find(names[i].key());
        if (it == ema.end()) throw InputError(path + ": EMA weights lack '" + names[i].key() + "'");
        torch::NoGradGuard no_grad;
        step_runner_.ema().shadow()[i].copy_(it->second);
      }
    }
    load_optimizer_state(step_runner_.optimizer(), network, c.optimizer, path);
    step_ = c.state.step;
    images_seen_ = c.state.images_seen;
    loader_->seek(c.state.epoch, c.state.data_position);
    if (!c.state.rng_states.empty()) {
      set_generator_state(step_runner_.generator(), c.state.rng_states.front());
    } else {
      spdlog::warn("{} holds no generator state: noise draws differ from the original run", path);
    }
    const fs::path best = out_dir_ / "checkpoints" / "best.json";
    if (fs::exists(best)) {
      std::ifstream in(best);
      best_val_loss_ = nlohmann::json::parse(in).at("val_loss").get<double>();
    }
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
  // value writes checkpoints/best.h5.
  void validate() {
    if (!validation_) {
      auto dataset = open_dataset(config_.data, DataSplit::kTest);
      LoaderOptions o = LoaderOptions::from_config(config_.data);
      o.batch_size = std::min<int64_t>(256, dataset->size());
      o.seed = 12345;
      o.random_flip = false;
      o.workers = 0;
      BatchLoader loader(dataset, o);
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
    const auto& process = step_runner_.process();
    network.eval();
    const auto x0 = validation_->x0.to(device_), n = validation_->n.to(device_);
    const auto t = validation_->t.to(device_);
    const auto out = step_runner_.forward(process.perturb(x0, n, t), t).to(torch::kFloat32);
    const double loss = process.loss(out, process.target(x0, n, t), t).loss.item<double>();
    network.train();
    spdlog::info("step {} | validation loss {:.5f} ({} held-out images)", step_, loss, x0.size(0));
    metrics_.write({{"step", step_}, {"val_loss", loss}});
    if (std::isfinite(loss) && loss < best_val_loss_) {
      best_val_loss_ = loss;
      if (env_.rank == 0) {
        const fs::path dir = out_dir_ / "checkpoints";
        save_checkpoint(make_checkpoint(), (dir / "best.h5").string());
        write_file_atomically(dir / "best.json",
                              nlohmann::json{{"step", step_}, {"val_loss", loss}}.dump() + "\n");
        spdlog::info("step {} | best validation loss so far: checkpoint {}", step_,
                     (dir / "best.h5").string());
      }
    }
  }

  // A grid of unconditional samples from the EMA weights (rank 0 only).
  void write_samples() {
    if (env_.rank != 0) return;
    torch::NoGradGuard no_grad;
    DdpmUNet ema_net = make_network(config_.model);
    ema_net->to(device_);
    step_runner_.ema().copy_to(*ema_net);
    ema_net->eval();
    ScoreModel model(ema_net, step_runner_.process());
    const int64_t c = config_.data.channels, s = config_.data.image_size;
    std::vector<uint64_t> seeds;
    for (uint64_t i = 0; i < 16; ++i) seeds.push_back(config_.sampler.seed + i);
    auto x = step_runner_.noise().sample_per_image(seeds, c, s, s, device_);
    const ScoreFn score = [&](const torch::Tensor& xt, const torch::Tensor& t) {
      return model.whitened_score(xt, t);
    };
    const auto& schedule = step_runner_.process().schedule();
    const auto grid = uniform_time_grid(100, config_.model.t_eps);
    x = sample_euler(schedule, score, x, grid);
    x = tweedie_from_score(schedule, score, x, grid.back());
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
    // The noise generator is shared by all ranks (global-batch draws): one state per rank, all
    // equal.
    c.state.rng_states.assign(static_cast<size_t>(communicator_->world_size()),
                              generator_state(step_runner_.generator()));
    c.config_yaml = to_yaml(config_);
    c.model_info = model_info_of(config_.model);
    auto& network = *step_runner_.network();
    c.model = state_dict_of(network);
    c.ema = ema_state_dict(step_runner_.ema(), network);
    c.optimizer = optimizer_state_of(step_runner_.optimizer(), network);
    return c;
  }

  std::string save() {
    if (env_.rank != 0) return {};
    const fs::path dir = out_dir_ / "checkpoints";
    const fs::path path = dir / ("step_" + std::to_string(step_) + ".h5");
    save_checkpoint(make_checkpoint(), path.string());
    // last.h5 is a hard link to the newest step file, swapped in atomically.
    const fs::path tmp = dir / "last.h5.tmp";
    fs::remove(tmp);
    fs::create_hard_link(path, tmp);
    fs::rename(tmp, dir / "last.h5");
    prune_checkpoints(dir);
    spdlog::info("step {} | checkpoint {}", step_, path.string());
    return (dir / "last.h5").string();
  }

  void prune_checkpoints(const fs::path& dir) {
    const auto steps = step_checkpoints(dir);
    for (size_t i = static_cast<size_t>(config_.train.keep_last); i < steps.size(); ++i) {
      fs::remove(steps[i].second);
    }
  }

  struct ValidationBatch {
    torch::Tensor x0, t, n;
  };

  Config config_;
  DistEnv env_;
  fs::path out_dir_;
  std::unique_ptr<RunDirectoryLock> lock_;  // rank 0 owns the run directory
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
    resume = newest_valid_checkpoint(fs::path(request.out_dir) / "checkpoints");
    if (resume.empty())
      spdlog::info("no checkpoint to resume in {}: starting fresh", request.out_dir);
  }
  if (!resume.empty()) run.resume(resume);
  return run.run(stop);
}

}  // namespace wsd
