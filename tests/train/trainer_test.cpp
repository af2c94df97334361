// The trainer end to end on a tiny network and a small IDX dataset written by the test.
#include "train/trainer.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "tests/support/synthetic_idx.hpp"
#include "train/lr_schedule.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

fs::path make_dataset(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  test::write_blob_idx_images(dir / "train-images-idx3-ubyte", 64, 8, 1);
  test::write_blob_idx_images(dir / "t10k-images-idx3-ubyte", 16, 8, 2);
  return dir;
}

Config tiny_config(const fs::path& data, int64_t steps, const std::string& process = "diffusion") {
  return parse_config(
      "data: {path: '" + data.string() +
          "', image_size: 8, channels: 1, random_flip: true}\n"
          "noise: {family: grf, grf_sigma_min: 0.5, grf_sigma_max: 2.0}\n"
          "model: {type: ddpm_unet, parameterisation: noise, image_channels: 1, image_size: 8,\n"
          "        process: " +
          process +
          ",\n"
          "        n_channels: 32, ch_mults: [1], is_attn: [false], n_blocks: 1, dropout: 0.0}\n"
          "train: {steps: " +
          std::to_string(steps) +
          ", batch_size: 8, lr: 1.0e-3, warmup_steps: 2,\n"
          "        log_every: 1, validate_every: 0, sample_every: 0, checkpoint_every: 0, device: "
          "cpu}\n",
      "tiny");
}

TrainOutcome run(const Config& config, const fs::path& out, const std::string& resume = "") {
  TrainRequest request;
  request.config = config;
  request.out_dir = out.string();
  request.resume = resume;
  fs::create_directories(out);
  std::atomic<bool> stop{false};
  return train(request, stop);
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
  c.lr_schedule = LrSchedule::kConstant;
  EXPECT_DOUBLE_EQ(learning_rate(c, 100), 1.0);
}

// 6 steps straight and 3 steps + resume + 3 steps give bit-identical weights, EMA and moments.
TEST(Trainer, ResumeIsBitExact) {
  const fs::path data = make_dataset("resume_data");
  const fs::path base = fs::path(::testing::TempDir()) / "resume_runs";
  fs::remove_all(base);
  const auto straight = run(tiny_config(data, 6), base / "straight");
  run(tiny_config(data, 3), base / "split");
  const auto resumed = run(tiny_config(data, 6), base / "split", "auto");
  EXPECT_EQ(straight.steps_done, 6);
  EXPECT_EQ(resumed.steps_done, 6);

  const Checkpoint a = load_checkpoint(straight.last_checkpoint);
  const Checkpoint b = load_checkpoint(resumed.last_checkpoint);
  ASSERT_EQ(a.model.size(), b.model.size());
  for (size_t i = 0; i < a.model.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.model[i].second, b.model[i].second)) << a.model[i].first;
    EXPECT_TRUE(torch::equal(a.ema[i].second, b.ema[i].second)) << a.ema[i].first;
  }
  ASSERT_EQ(a.optimizer.size(), b.optimizer.size());
  for (size_t i = 0; i < a.optimizer.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.optimizer[i].second, b.optimizer[i].second)) << a.optimizer[i].first;
  }
  EXPECT_EQ(a.state.epoch, b.state.epoch);
  EXPECT_EQ(a.state.data_position, b.state.data_position);
  // And the weights really moved: the run trained.
  const Checkpoint early = load_checkpoint((base / "split" / "checkpoints" / "step_3.h5").string());
  EXPECT_FALSE(torch::equal(early.model[0].second, a.model[0].second));
}

TEST(Trainer, RunDirectoryHoldsMetricsAndCheckpoints) {
  const fs::path data = make_dataset("rundir_data");
  const fs::path out = fs::path(::testing::TempDir()) / "rundir_run";
  fs::remove_all(out);
  const auto outcome = run(tiny_config(data, 4), out);
  EXPECT_TRUE(fs::exists(out / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(out / "checkpoints" / "last.h5"));
  std::ifstream metrics(out / "metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) {
    EXPECT_NE(line.find("\"loss\""), std::string::npos) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 4);  // log_every 1
  EXPECT_TRUE(std::isfinite(outcome.last_loss));
  const auto summary = inspect_checkpoint(outcome.last_checkpoint);
  EXPECT_EQ(summary.state.step, 4);
  EXPECT_EQ(summary.state.images_seen, 32);
  EXPECT_EQ(summary.model_info.parameterisation, "noise");
}

// The flow-matching interpolant shares noise, network and trainer; its checkpoint records the
// velocity parameterisation so that sampling picks the flow ODE.
TEST(Trainer, FlowMatchingTrainsAndRecordsVelocity) {
  const fs::path data = make_dataset("flow_data");
  const fs::path out = fs::path(::testing::TempDir()) / "flow_run";
  fs::remove_all(out);
  const auto outcome = run(tiny_config(data, 3, "flow"), out);
  EXPECT_TRUE(std::isfinite(outcome.last_loss));
  EXPECT_EQ(inspect_checkpoint(outcome.last_checkpoint).model_info.parameterisation, "velocity");
}

}  // namespace
}  // namespace wsd
