#include "train/trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>
#ifdef WSD_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>

#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_writer.hpp"
#include "core/io/png_writer.hpp"
#include "core/model/score_model.hpp"
#include "core/network/state_dict.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "core/util/run_dir.hpp"
#include "data/batch_loader.hpp"
#include "data/dataset_factory.hpp"
#include "infer/samplers/sampler.hpp"
#include "train/distributed/communicator.hpp"
#include "train/distributed/gradient_reducer.hpp"
#include "train/ema.hpp"
#include "train/lr_schedule.hpp"
#include "train/metrics_log.hpp"
#include "train/optimizer_state.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

uint64_t rank_seed(uint64_t seed, int rank) {
  return seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(rank) * 0xBF58476D1CE4E5B9ULL + 1;
}

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

// Global L2 norm of all gradients and, when clip > 0, scaling to at most `clip`, computed on the
// device: unlike torch::nn::utils::clip_grad_norm_ it never reads the norm back to the host.
torch::Tensor clip_gradients(torch::nn::Module& module, double clip) {
  std::vector<torch::Tensor> grads;
  for (auto& p : module.parameters()) {
    if (p.grad().defined()) grads.push_back(p.mutable_grad());
  }
  const auto norms = torch::_foreach_norm(grads);
  const auto total = torch::stack(norms).to(torch::kFloat32).norm();
  if (clip > 0) {
    const auto scale = (clip / (total + 1e-6)).clamp_max(1.0);
    torch::_foreach_mul_(grads, scale);
  }
  return total;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(torch::nn::Module& module,
                                                        const TrainConfig& config) {
  if (config.optimizer == OptimizerType::kAdamW) {
    return std::make_unique<torch::optim::AdamW>(
        module.parameters(),
        torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay));
  }
  return std::make_unique<torch::optim::Adam>(
      module.parameters(), torch::optim::AdamOptions(config.lr).weight_decay(config.weight_decay));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
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

// The newest checkpoint of a run directory that loads cleanly ("auto" resume).
std::string newest_valid_checkpoint(const fs::path& dir) {
  for (const auto& [step, path] : step_checkpoints(dir)) {
    try {
      inspect_checkpoint(path.string());
      return path.string();
    } catch (const std::exception& e) {
      spdlog::warn("skipping unreadable checkpoint {}: {}", path.string(), e.what());
    }
  }
  return {};
}

StateDict ema_state_dict(const Ema& ema, const torch::nn::Module& module) {
  StateDict out;
  const auto names = module.named_parameters();
  for (size_t i = 0; i < names.size(); ++i) out.emplace_back(names[i].key(), ema.shadow()[i]);
  return out;
}

// The initial weights depend only on the seed, so every rank and every rerun starts alike.
DdpmUNet seeded_network(const Config& config) {
  torch::manual_seed(config.train.seed);
  return make_network(config.model);
}

class TrainingRun {
 public:
  TrainingRun(const TrainRequest& request)
      : config_(request.config),
        env_(request.env),
        out_dir_(request.out_dir),
        device_(resolve_device(std::string(enum_name(config_.train.device)), env_.local_rank)),
        communicator_(make_communicator(env_, device_,
                                        std::chrono::milliseconds(static_cast<int64_t>(
                                            config_.train.collective_timeout_s * 1000)))),
        network_(seeded_network(config_)),
        process_(make_forward_process(config_.model)),
        noise_(StructuredNoiseOptions::from_config(config_.noise)),
        generator_(
            at::make_generator<at::CPUGeneratorImpl>(rank_seed(config_.train.seed, env_.rank))) {
    if (config_.train.grad_accum != 1) {
      throw InputError("train.grad_accum > 1 is not supported yet; raise train.batch_size instead");
    }
    network_->to(device_);
    if (device_.is_cuda()) generator_ = make_device_generator();
    reducer_ = std::make_unique<GradientReducer>(communicator_);
    reducer_->broadcast_parameters(*network_);
    optimizer_ = make_optimizer(*network_, config_.train);
    ema_ = std::make_unique<Ema>(*network_, config_.train.ema_decay);

    loader_ = std::make_unique<BatchLoader>(
        open_dataset(config_.data, config_.data.split),
        LoaderOptions::for_training(config_, env_.rank, env_.world_size, device_));
    if (env_.rank == 0) {
      fs::create_directories(out_dir_ / "checkpoints");
      fs::create_directories(out_dir_ / "samples");
      metrics_ = MetricsLog((out_dir_ / "metrics.jsonl").string());
    }
    spdlog::info("training {} ({} parameters) on {} x {} process(es), global batch {}",
                 enum_name(config_.model.type), parameter_count(*network_), device_.str(),
                 communicator_->world_size(),
                 config_.train.batch_size * communicator_->world_size());
  }

  void resume(const std::string& path) {
    const Checkpoint c = load_checkpoint(path);
    load_state_dict(*network_, c.model, path);
    if (!c.ema.empty()) {
      // Checkpoint tensors come back sorted by name; the shadow follows parameter order.
      const std::map<std::string, torch::Tensor> ema(c.ema.begin(), c.ema.end());
      const auto names = network_->named_parameters();
      for (size_t i = 0; i < names.size(); ++i) {
        const auto it = ema.find(names[i].key());
        if (it == ema.end()) throw InputError(path + ": EMA weights lack '" + names[i].key() + "'");
        torch::NoGradGuard no_grad;
        ema_->shadow()[i].copy_(it->second);
      }
    }
    load_optimizer_state(*optimizer_, *network_, c.optimizer);
    step_ = c.state.step;
    images_seen_ = c.state.images_seen;
    loader_->seek(c.state.epoch, c.state.data_position);
    if (static_cast<int>(c.state.rng_states.size()) == env_.world_size) {
      set_generator_state(generator_, c.state.rng_states[static_cast<size_t>(env_.rank)]);
    } else {
      spdlog::warn("checkpoint has RNG states for {} ranks, this run has {}: noise draws differ",
                   c.state.rng_states.size(), env_.world_size);
    }
    spdlog::info("resumed from {} at step {}", path, step_);
  }

  TrainOutcome run(const std::atomic<bool>& stop) {
    const TrainConfig& tc = config_.train;
    TrainOutcome outcome;
    auto window_start = Clock::now();
    int64_t window_images = 0;
    torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(device_));
    torch::Tensor grad_norm;
    int64_t window_steps = 0;
    const auto run_start = Clock::now();
    const int64_t first_step = step_;
    network_->train();
    while (step_ < tc.steps) {
      set_learning_rate(*optimizer_, learning_rate(tc, step_));
      // Dropout draws from the default generators: reseeding them per (rank, step) keeps a
      // resumed run on exactly the same masks without storing their state.
      torch::manual_seed(
          rank_seed(tc.seed ^ static_cast<uint64_t>(step_) * 0xD1B54A32D192ED03ULL, env_.rank));
      const auto x0 = loader_->next().to(device_, /*non_blocking=*/true);
      const int64_t b = x0.size(0);
      const auto t = process_.sample_t(b, generator_, device_);
      const auto n = noise_.sample(b, x0.size(1), x0.size(2), x0.size(3), generator_, device_);
      const auto x_t = process_.perturb(x0, n, t);
      const auto output = network_->forward(x_t, t.to(torch::kFloat32));
      const auto terms = process_.loss(output, process_.target(x0, n, t), t);
      optimizer_->zero_grad();
      terms.loss.backward();
      reducer_->average(*network_);
      grad_norm = clip_gradients(*network_, tc.grad_clip);
      optimizer_->step();
      ema_->update(*network_);
      loss_sum += terms.loss.detach();
      ++step_;
      ++window_steps;
      window_images += b * communicator_->world_size();
      images_seen_ += b * communicator_->world_size();

      if (tc.log_every > 0 && step_ % tc.log_every == 0) {
        // The only host synchronisation of the loop: once per log interval.
        std::vector<torch::Tensor> mean_loss = {loss_sum / static_cast<double>(window_steps)};
        communicator_->allreduce_sum(mean_loss);
        outcome.last_loss = mean_loss[0].item<double>() / communicator_->world_size();
        const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
        const double rate = window_images / std::max(seconds, 1e-9);
        const double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
        const double eta = elapsed / static_cast<double>(step_ - first_step) * (tc.steps - step_);
        const double norm = grad_norm.item<double>();
        const double lr = learning_rate(tc, step_ - 1);
        spdlog::info("step {}/{} | loss {:.5f} | grad {:.3f} | lr {:.2e} | {:.0f} img/s | ETA {}",
                     step_, tc.steps, outcome.last_loss, norm, lr, rate, format_duration(eta));
        metrics_.write({{"step", step_},
                        {"loss", outcome.last_loss},
                        {"grad_norm", norm},
                        {"lr", lr},
                        {"images_per_s", rate},
                        {"images_seen", images_seen_},
                        {"time_s", elapsed}});
        loss_sum.zero_();
        window_steps = 0;
        window_images = 0;
        window_start = Clock::now();
      }
      if (tc.validate_every > 0 && step_ % tc.validate_every == 0) validate();
      if (tc.sample_every > 0 && step_ % tc.sample_every == 0) write_samples();
      const bool stopping = stop.load();
      if ((tc.checkpoint_every > 0 && step_ % tc.checkpoint_every == 0) || stopping) {
        outcome.last_checkpoint = save();
      }
      if (stopping) {
        spdlog::warn("stop requested: checkpoint written at step {}, exiting", step_);
        outcome.interrupted = true;
        break;
      }
    }
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
  torch::Generator make_device_generator() {
#ifdef WSD_WITH_CUDA
    auto gen = at::cuda::detail::createCUDAGenerator(device_.index());
    gen.set_current_seed(rank_seed(config_.train.seed, env_.rank));
    return gen;
#else
    return generator_;
#endif
  }

  // Held-out loss with fixed times and noise, so values are comparable across steps.
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
      validation_->t = process_.sample_t(validation_->x0.size(0), gen, torch::kCPU);
      validation_->n = noise_.sample(validation_->x0.size(0), validation_->x0.size(1),
                                     validation_->x0.size(2), validation_->x0.size(3), gen);
    }
    torch::NoGradGuard no_grad;
    network_->eval();
    const auto x0 = validation_->x0.to(device_), n = validation_->n.to(device_);
    const auto t = validation_->t.to(device_);
    const auto out = network_->forward(process_.perturb(x0, n, t), t.to(torch::kFloat32));
    const double loss = process_.loss(out, process_.target(x0, n, t), t).loss.item<double>();
    network_->train();
    spdlog::info("step {} | validation loss {:.5f} ({} held-out images)", step_, loss, x0.size(0));
    metrics_.write({{"step", step_}, {"val_loss", loss}});
  }

  // A grid of unconditional samples from the EMA weights (rank 0 only).
  void write_samples() {
    if (env_.rank != 0) return;
    torch::NoGradGuard no_grad;
    DdpmUNet ema_net = make_network(config_.model);
    ema_net->to(device_);
    ema_->copy_to(*ema_net);
    ema_net->eval();
    ScoreModel model(ema_net, process_);
    const int64_t c = config_.data.channels, s = config_.data.image_size;
    std::vector<uint64_t> seeds;
    for (uint64_t i = 0; i < 16; ++i) seeds.push_back(config_.sampler.seed + i);
    auto x = noise_.sample_per_image(seeds, c, s, s, device_);
    const ScoreFn score = [&](const torch::Tensor& xt, const torch::Tensor& t) {
      return model.whitened_score(xt, t);
    };
    const auto grid = uniform_time_grid(100, config_.model.t_eps);
    x = sample_euler(process_.schedule(), score, x, grid);
    x = tweedie_from_score(process_.schedule(), score, x, grid.back());
    const auto path = out_dir_ / "samples" / ("step_" + std::to_string(step_) + ".png");
    write_image_grid(x, path.string(), 4);
    spdlog::info("step {} | samples written to {}", step_, path.string());
  }

  std::string save() {
    Checkpoint c;
    c.state.step = step_;
    c.state.epoch = loader_->epoch();
    c.state.data_position = loader_->position();
    c.state.images_seen = images_seen_;
    // Every rank's generator state travels to rank 0.
    auto local = generator_state(generator_);
    if (communicator_->world_size() > 1) {
      std::vector<torch::Tensor> all = {torch::zeros(
          {communicator_->world_size(), static_cast<int64_t>(local.size())}, torch::kUInt8)};
      all[0][env_.rank].copy_(
          torch::from_blob(local.data(), {static_cast<int64_t>(local.size())}, torch::kUInt8));
      all[0] = all[0].to(device_);
      std::vector<torch::Tensor> as_int = {all[0].to(torch::kInt32)};
      communicator_->allreduce_sum(as_int);
      const auto gathered = as_int[0].to(torch::kCPU, torch::kUInt8);
      for (int r = 0; r < communicator_->world_size(); ++r) {
        const auto row = gathered[r].contiguous();
        c.state.rng_states.emplace_back(row.data_ptr<uint8_t>(),
                                        row.data_ptr<uint8_t>() + row.numel());
      }
    } else {
      c.state.rng_states.push_back(local);
    }
    if (env_.rank != 0) return {};
    c.config_yaml = to_yaml(config_);
    c.model_info = model_info_of(config_.model);
    c.model = state_dict_of(*network_);
    c.ema = ema_state_dict(*ema_, *network_);
    c.optimizer = optimizer_state_of(*optimizer_, *network_);
    const fs::path dir = out_dir_ / "checkpoints";
    const fs::path path = dir / ("step_" + std::to_string(step_) + ".h5");
    save_checkpoint(c, path.string());
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
  torch::Device device_;
  std::shared_ptr<Communicator> communicator_;
  DdpmUNet network_;
  ForwardProcess process_;
  StructuredNoise noise_;
  torch::Generator generator_;
  std::unique_ptr<GradientReducer> reducer_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<Ema> ema_;
  std::unique_ptr<BatchLoader> loader_;
  MetricsLog metrics_;
  std::optional<ValidationBatch> validation_;
  int64_t step_ = 0;
  int64_t images_seen_ = 0;
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
