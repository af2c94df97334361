// The trainer end to end on a tiny network and a small IDX dataset written by the test.
#include "train/trainer.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "core/model/prior.hpp"
#include "core/util/errors.hpp"
#include "tests/train/tiny_run.hpp"
#include "train/lr_schedule.hpp"
#include "train/train_step.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;
using test::run_training;
using test::tiny_config;

fs::path make_dataset(const std::string& name) {
  return test::make_tiny_dataset(fs::path(::testing::TempDir()) / name);
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / name;
  fs::remove_all(dir);
  return dir;
}

std::vector<nlohmann::json> read_metrics(const fs::path& run) {
  std::vector<nlohmann::json> records;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

void expect_state_dicts_equal(const StateDict& a, const StateDict& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << what << " " << a[i].first;
  }
}

double max_abs_difference(const StateDict& a, const StateDict& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, (a[i].second - b[i].second).abs().max().item<double>());
  }
  return worst;
}

// train.loss_weighting reaches the training step: the first step's loss from the same weights,
// batch, times and noise is unchanged by noise_power for white noise (its power is flat) and
// changes for GRF noise.
TEST(TrainStep, NoisePowerWeightingChangesTheLossOfStructuredNoiseOnly) {
  const auto data = make_dataset("weighting_data");
  const auto first_loss = [&](const std::string& family, const std::string& weighting) {
    const Config config =
        tiny_config(data, 1, {"noise.family=" + family, "train.loss_weighting=" + weighting});
    TrainStep step(config, torch::kCPU,
                   make_communicator(DistEnv{}, torch::kCPU, std::chrono::seconds(10)));
    torch::manual_seed(4);
    const auto batch = torch::rand({config.train.batch_size, 1, 8, 8}) * 2 - 1;
    return step.run([&] { return batch; }, 0, 1e-3).loss.item<double>();
  };
  const double white = first_loss("white", "uniform");
  EXPECT_NEAR(first_loss("white", "noise_power"), white, 1e-5 * white);
  const double grf = first_loss("grf", "uniform");
  EXPECT_GT(std::abs(first_loss("grf", "noise_power") - grf), 0.1 * grf);
  EXPECT_GT(std::abs(first_loss("grf", "noise_amplitude") - grf), 0.02 * grf);
}

TEST(LearningRate, WarmupThenCosineClosedForm) {
  TrainConfig c;
  c.lr = 1.0;
  c.steps = 110;
  c.warmup_steps = 10;
  c.lr_schedule = LrSchedule::kCosine;
  EXPECT_DOUBLE_EQ(learning_rate(c, 0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(c, 9), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(c, 10), 1.0);
  EXPECT_NEAR(learning_rate(c, 60), 0.5, 1e-12);
  EXPECT_NEAR(learning_rate(c, 110), 0.0, 1e-12);
  // A run length given in images: the cosine spans the resolved number of steps.
  EXPECT_NEAR(learning_rate(c, 35, 60), 0.5, 1e-12);
  c.lr_schedule = LrSchedule::kConstant;
  EXPECT_DOUBLE_EQ(learning_rate(c, 100), 1.0);
}

// Straight and 3 steps + resume + rest give bit-identical weights, EMA and moments, with
// gradient accumulation too.
TEST(Trainer, ResumeIsBitExact) {
  const fs::path data = make_dataset("resume_data");
  const fs::path base = fresh_dir("resume_runs");
  for (const int accum : {1, 2}) {
    const std::vector<std::string> set = {"train.grad_accum=" + std::to_string(accum)};
    const fs::path runs = base / ("accum" + std::to_string(accum));
    const auto straight = run_training(tiny_config(data, 6, set), runs / "straight");
    run_training(tiny_config(data, 3, set), runs / "split");
    const auto resumed = run_training(tiny_config(data, 6, set), runs / "split", "auto");
    EXPECT_EQ(straight.steps_done, 6);
    EXPECT_EQ(resumed.steps_done, 6);

    const Checkpoint a = load_checkpoint(straight.last_checkpoint);
    const Checkpoint b = load_checkpoint(resumed.last_checkpoint);
    expect_state_dicts_equal(a.model, b.model, "model");
    expect_state_dicts_equal(a.ema, b.ema, "ema");
    expect_state_dicts_equal(a.optimizer, b.optimizer, "optimizer");
    EXPECT_EQ(a.state.epoch, b.state.epoch);
    EXPECT_EQ(a.state.data_position, b.state.data_position);
    EXPECT_EQ(a.state.images_seen, 6 * 8 * accum);
    // And the weights really moved: the run trained.
    const Checkpoint early =
        load_checkpoint((runs / "split" / "checkpoints" / "step_3.h5").string());
    EXPECT_FALSE(torch::equal(early.model[0].second, a.model[0].second));
  }
}

// Accumulating 2 micro-batches of 4 is the same optimisation as one batch of 8: the same images,
// the same t and noise per global sample, and the gradient of the mean loss. 64 channels give two
// channels per GroupNorm group: with one, a per-channel bias before a norm has an identically zero
// gradient whose rounding noise Adam would turn into full-size, run-dependent steps.
TEST(Trainer, GradientAccumulationMatchesOneLargeBatch) {
  const fs::path data = make_dataset("accum_data");
  const fs::path base = fresh_dir("accum_runs");
  const auto large = run_training(tiny_config(data, 10, {"model.n_channels=64"}), base / "b8");
  const auto accumulated = run_training(
      tiny_config(data, 10, {"model.n_channels=64", "train.batch_size=4", "train.grad_accum=2"}),
      base / "b4x2");
  const Checkpoint a = load_checkpoint(large.last_checkpoint);
  const Checkpoint b = load_checkpoint(accumulated.last_checkpoint);
  EXPECT_LT(max_abs_difference(a.model, b.model), 1e-5);
  EXPECT_LT(max_abs_difference(a.ema, b.ema), 1e-5);
  EXPECT_EQ(b.state.images_seen, 80);
  EXPECT_NEAR(large.last_loss, accumulated.last_loss, 1e-5);
}

TEST(Trainer, RunDirectoryHoldsMetricsAndCheckpoints) {
  const fs::path data = make_dataset("rundir_data");
  const fs::path out = fresh_dir("rundir_run");
  const auto outcome = run_training(tiny_config(data, 4), out);
  EXPECT_TRUE(fs::exists(out / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(out / "checkpoints" / "last.h5"));
  const auto records = read_metrics(out);
  ASSERT_EQ(records.size(), 4u);  // log_every 1
  for (const auto& r : records) {
    for (const char* key : {"step", "loss", "grad_norm", "lr", "images_per_s", "time_s"}) {
      EXPECT_TRUE(r.contains(key)) << key << " missing in " << r.dump();
    }
  }
  EXPECT_TRUE(std::isfinite(outcome.last_loss));
  const auto summary = inspect_checkpoint(outcome.last_checkpoint);
  EXPECT_EQ(summary.state.step, 4);
  EXPECT_EQ(summary.state.images_seen, 32);
  EXPECT_EQ(summary.model_info.parameterisation_name(), "noise");
}

// Sample grids come from the sampler the caller gives the trainer, fed the EMA network as a
// prior and 16 images of initial noise; with none given, training runs and draws no grids.
TEST(Trainer, SampleGridsUseTheCallersSampler) {
  const fs::path data = make_dataset("grid_data");
  const fs::path out = fresh_dir("grid_run");
  TrainRequest request;
  request.config = tiny_config(data, 4, {"train.sample_every=2"});
  request.out_dir = out.string();
  std::vector<std::vector<int64_t>> shapes;
  request.draw_samples = [&](Prior& prior, const torch::Tensor& x1) {
    shapes.push_back(x1.sizes().vec());
    const auto t = torch::full({x1.size(0)}, 0.5, torch::kFloat64);
    const auto x0 = prior.x0_estimate(x1, t);
    EXPECT_TRUE(torch::isfinite(x0).all().item<bool>());
    return x0;
  };
  fs::create_directories(out);
  const std::atomic<bool> stop{false};
  train(request, stop);
  ASSERT_EQ(shapes.size(), 2u);  // steps 2 and 4
  EXPECT_EQ(shapes[0], (std::vector<int64_t>{16, 1, 8, 8}));
  EXPECT_TRUE(fs::exists(out / "samples" / "step_2.png"));
  EXPECT_TRUE(fs::exists(out / "samples" / "step_4.png"));

  const fs::path bare = fresh_dir("grid_run_without_sampler");
  const auto outcome = run_training(tiny_config(data, 2, {"train.sample_every=1"}), bare);
  EXPECT_EQ(outcome.steps_done, 2);
  EXPECT_FALSE(fs::exists(bare / "samples"));
}

// train.images sets the run length in whole global batches: ceil(20 / 8) = 3 steps.
TEST(Trainer, RunLengthInImages) {
  const fs::path data = make_dataset("images_data");
  const fs::path out = fresh_dir("images_run");
  const auto outcome =
      run_training(tiny_config(data, 0, {"train.images=20", "train.checkpoint_every=0"}), out);
  EXPECT_EQ(outcome.steps_done, 3);
  EXPECT_EQ(inspect_checkpoint(outcome.last_checkpoint).state.images_seen, 24);
}

TEST(TrainConfigRules, ExactlyOneOfStepsAndImages) {
  const fs::path data = make_dataset("rules_data");
  try {
    tiny_config(data, 10, {"train.images=100"});
    FAIL() << "steps and images both set were accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.steps"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("exactly one"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tiny_config(data, 0), ConfigError);
}

// precision bf16 is a CUDA feature; on the CPU it is an input error naming the key.
TEST(Trainer, Bf16OnCpuIsAnInputError) {
  const fs::path data = make_dataset("bf16_data");
  try {
    run_training(tiny_config(data, 1, {"train.precision=bf16"}), fresh_dir("bf16_run"));
    FAIL() << "bf16 on the CPU was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("train.precision"), std::string::npos) << e.what();
  }
}

// A NaN loss at step 3 skips exactly that step: parameters, EMA and Adam moments after step 3
// equal those after step 2, bit for bit; the skip is logged; training goes on.
TEST(Trainer, NonFiniteStepIsSkipped) {
  const fs::path data = make_dataset("nan_data");
  const fs::path out = fresh_dir("nan_run");
  const auto outcome =
      run_training(tiny_config(data, 5,
                               {"train.inject_nan_at_step=3", "train.checkpoint_every=1",
                                "train.keep_last=10", "train.log_every=5"}),
                   out);
  EXPECT_EQ(outcome.steps_done, 5);
  EXPECT_TRUE(std::isfinite(outcome.last_loss));
  const auto at = [&](int step) {
    return load_checkpoint(
        (out / "checkpoints" / ("step_" + std::to_string(step) + ".h5")).string());
  };
  const Checkpoint s2 = at(2), s3 = at(3), s4 = at(4);
  expect_state_dicts_equal(s2.model, s3.model, "model");
  expect_state_dicts_equal(s2.ema, s3.ema, "ema");
  expect_state_dicts_equal(s2.optimizer, s3.optimizer, "optimizer");
  EXPECT_FALSE(torch::equal(s3.model[0].second, s4.model[0].second));
  // Adam counted 4 applied steps of 5.
  for (const auto& [key, value] : load_checkpoint(outcome.last_checkpoint).optimizer) {
    if (key.size() > 5 && key.substr(key.size() - 5) == "/step") {
      EXPECT_EQ(value.item<int64_t>(), 4) << key;
    }
  }
  int skipped = 0;
  for (const auto& r : read_metrics(out)) {
    if (r.contains("skipped")) {
      EXPECT_EQ(r.at("step").get<int64_t>(), 3);
      EXPECT_EQ(r.at("rank").get<int>(), 0);
      EXPECT_TRUE(r.at("nonfinite_loss").get<bool>());
      ++skipped;
    }
  }
  EXPECT_EQ(skipped, 1);
}

TEST(Trainer, TooManyConsecutiveSkipsAbort) {
  const fs::path data = make_dataset("abort_data");
  try {
    run_training(tiny_config(data, 20,
                             {"train.inject_nan_at_step=2", "train.inject_nan_steps=50",
                              "train.max_skipped_steps=3", "train.log_every=10"}),
                 fresh_dir("abort_run"));
    FAIL() << "training went on through 18 NaN steps";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("consecutive steps had a non-finite loss"), std::string::npos) << what;
    EXPECT_NE(what.find("train.max_skipped_steps = 3"), std::string::npos) << what;
    // Checked every max_skipped_steps steps: steps 2-4 are the first three skips.
    EXPECT_NE(what.find("step 6:"), std::string::npos) << what;
  }
}

// Validation on held-out images every 2 steps; best.h5 is the checkpoint of the lowest value.
TEST(Trainer, BestCheckpointFollowsValidationLoss) {
  const fs::path data = make_dataset("best_data");
  const fs::path out = fresh_dir("best_run");
  run_training(tiny_config(data, 6, {"train.validate_every=2"}), out);
  double best = INFINITY;
  int64_t best_step = -1, validations = 0;
  for (const auto& r : read_metrics(out)) {
    if (!r.contains("val_loss")) continue;
    ++validations;
    if (r.at("val_loss").get<double>() < best) {
      best = r.at("val_loss").get<double>();
      best_step = r.at("step").get<int64_t>();
    }
  }
  EXPECT_EQ(validations, 3);
  ASSERT_TRUE(fs::exists(out / "checkpoints" / "best.h5"));
  EXPECT_EQ(inspect_checkpoint((out / "checkpoints" / "best.h5").string()).state.step, best_step);
  std::ifstream in(out / "checkpoints" / "best.json");
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(in).at("val_loss").get<double>(), best);
}

// The flow-matching interpolant shares noise, network and trainer; its checkpoint records the
// velocity parameterisation so that sampling picks the flow ODE.
TEST(Trainer, FlowMatchingTrainsAndRecordsVelocity) {
  const fs::path data = make_dataset("flow_data");
  const fs::path out = fresh_dir("flow_run");
  const auto outcome = run_training(tiny_config(data, 3, {}, "flow"), out);
  EXPECT_TRUE(std::isfinite(outcome.last_loss));
  EXPECT_EQ(inspect_checkpoint(outcome.last_checkpoint).model_info.parameterisation_name(),
            "velocity");
}

}  // namespace
}  // namespace wsd
