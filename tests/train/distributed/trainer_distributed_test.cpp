// The trainer over real Gloo process groups: ranks are child processes of this test executable
// started with torchrun's environment variables.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/checkpoint/checkpoint.hpp"
#include "tests/train/distributed/rank_launch.hpp"
#include "tests/train/tiny_run.hpp"
#include "train/distributed/dist_env.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

// Settings every run of a comparison shares; dropout is 0 in the tiny model, flips are a
// function of (seed, epoch, index), t and noise are drawn per global sample. 64 channels: two per
// GroupNorm group, so that no parameter has an identically zero gradient (whose rounding noise
// Adam would amplify differently in each run).
std::vector<std::string> shared_settings(int batch, int accum) {
  return {"model.n_channels=64",
          "train.batch_size=" + std::to_string(batch),
          "train.grad_accum=" + std::to_string(accum),
          "train.bucket_mb=0.02",
          "train.log_every=5",
          "train.consistency_check_every=5"};
}

// Child: one rank of a training run; paths and run shape come from the parent.
TEST(TrainerDistributed, TrainRank) {
  if (!test::is_rank_child()) GTEST_SKIP() << "runs as a child rank";
  const fs::path data = test::env_or_empty("WSD_TEST_DATA");
  const fs::path out = test::env_or_empty("WSD_TEST_OUT");
  const int batch = std::stoi(test::env_or_empty("WSD_TEST_BATCH"));
  const int steps = std::stoi(test::env_or_empty("WSD_TEST_STEPS"));
  auto settings = shared_settings(batch, 1);
  if (const auto timeout = test::env_or_empty("WSD_TEST_TIMEOUT"); !timeout.empty()) {
    settings.push_back("train.collective_timeout_s=" + timeout);
  }
  if (const auto every = test::env_or_empty("WSD_TEST_CHECKPOINT_EVERY"); !every.empty()) {
    settings.push_back("train.checkpoint_every=" + every);
  }
  const auto outcome =
      test::run_training(test::tiny_config(data, steps, settings), out, "", read_dist_env());
  EXPECT_EQ(outcome.steps_done, steps);
}

// 2 ranks x batch 4 and 1 process x batch 8 (and 1 process x 2 micro-batches of 4) train the same
// model: after 10 steps the parameters agree to 1e-5.
TEST(TrainerDistributed, TwoRanksMatchOneProcess) {
  if (test::is_rank_child()) GTEST_SKIP();
  const fs::path base = fs::path(::testing::TempDir()) / "ddp_vs_single";
  fs::remove_all(base);
  const fs::path data = test::make_tiny_dataset(base / "data");
  test::expect_ranks_passed(
      test::run_processes(test::rank_specs(2, "TrainerDistributed.TrainRank",
                                           {{"WSD_TEST_DATA", data.string()},
                                            {"WSD_TEST_OUT", (base / "two").string()},
                                            {"WSD_TEST_BATCH", "4"},
                                            {"WSD_TEST_STEPS", "10"}})));
  const auto single =
      test::run_training(test::tiny_config(data, 10, shared_settings(8, 1)), base / "one");
  const auto accumulated =
      test::run_training(test::tiny_config(data, 10, shared_settings(4, 2)), base / "accum");

  const Checkpoint two = load_checkpoint((base / "two" / "checkpoints" / "last.h5").string());
  EXPECT_EQ(two.state.images_seen, 80);
  for (const auto& other : {single, accumulated}) {
    const Checkpoint one = load_checkpoint(other.last_checkpoint);
    ASSERT_EQ(one.model.size(), two.model.size());
    for (size_t i = 0; i < one.model.size(); ++i) {
      EXPECT_TRUE(torch::allclose(one.model[i].second, two.model[i].second, 0.0, 1e-5))
          << one.model[i].first << " differs by "
          << (one.model[i].second - two.model[i].second).abs().max().item<double>();
      EXPECT_TRUE(torch::allclose(one.ema[i].second, two.ema[i].second, 0.0, 1e-5))
          << "EMA " << one.ema[i].first;
    }
  }
}

// Rank 1 is SIGKILLed in the middle of training: rank 0 must stop with a non-zero exit and an
// error naming the failed collective within the collective timeout, not hang.
TEST(TrainerDistributed, KilledRankStopsTheOthers) {
  if (test::is_rank_child()) GTEST_SKIP();
  const fs::path base = fs::path(::testing::TempDir()) / "killed_rank";
  fs::remove_all(base);
  const fs::path data = test::make_tiny_dataset(base / "data");
  const fs::path out = base / "run";
  auto specs = test::rank_specs(2, "TrainerDistributed.TrainRank",
                                {{"WSD_TEST_DATA", data.string()},
                                 {"WSD_TEST_OUT", out.string()},
                                 {"WSD_TEST_BATCH", "4"},
                                 {"WSD_TEST_STEPS", "100000"},
                                 {"WSD_TEST_TIMEOUT", "20"}});
  // Rank 1 runs under a shell that kills it with SIGKILL once rank 0 has logged training steps.
  const std::string metrics = (out / "metrics.jsonl").string();
  specs[1].argv = {"/bin/bash", "-c",
                   "\"$0\" \"$1\" & pid=$!; "
                   "for i in $(seq 1200); do "
                   "[ \"$(wc -l < '" +
                       metrics +
                       "' 2>/dev/null || echo 0)\" -ge 2 ] && break; "
                       "sleep 0.1; done; kill -9 $pid; wait $pid; exit 0",
                   specs[1].argv[0], specs[1].argv[1]};
  specs[0].timeout = std::chrono::seconds(120);
  const auto results = test::run_processes(specs);
  const auto& rank0 = results[0];
  EXPECT_FALSE(rank0.timed_out) << "rank 0 hung after its peer died";
  EXPECT_NE(rank0.exit_code, 0);
  const std::string output = rank0.out + rank0.err;
  EXPECT_NE(output.find("failed on rank 0 (another rank died, hung or timed out)"),
            std::string::npos)
      << output;
}

// A run killed with SIGKILL at an arbitrary point, possibly inside a checkpoint write (one per
// step here), leaves last.h5 readable and resumes from its newest complete checkpoint.
TEST(TrainerDistributed, KillDuringCheckpointingLeavesAResumableRun) {
  if (test::is_rank_child()) GTEST_SKIP();
  const fs::path base = fs::path(::testing::TempDir()) / "killed_writer";
  fs::remove_all(base);
  const fs::path data = test::make_tiny_dataset(base / "data");
  const fs::path out = base / "run";
  auto specs = test::rank_specs(1, "TrainerDistributed.TrainRank",
                                {{"WSD_TEST_DATA", data.string()},
                                 {"WSD_TEST_OUT", out.string()},
                                 {"WSD_TEST_BATCH", "8"},
                                 {"WSD_TEST_STEPS", "100000"},
                                 {"WSD_TEST_CHECKPOINT_EVERY", "1"}});
  const std::string third = (out / "checkpoints" / "step_3.h5").string();
  specs[0].argv = {"/bin/bash", "-c",
                   "\"$0\" \"$1\" & pid=$!; "
                   "for i in $(seq 1200); do [ -e '" +
                       third +
                       "' ] && break; sleep 0.05; done; "
                       "sleep 0.$((RANDOM % 10)); kill -9 $pid; wait $pid; exit 0",
                   specs[0].argv[0], specs[0].argv[1]};
  const auto killed = test::run_processes(specs);
  ASSERT_FALSE(killed[0].timed_out);
  const auto last = inspect_checkpoint((out / "checkpoints" / "last.h5").string());
  EXPECT_GE(last.state.step, 3);
  const auto resumed = test::run_training(
      test::tiny_config(data, last.state.step + 2, shared_settings(8, 1)), out, "auto");
  EXPECT_EQ(resumed.steps_done, last.state.step + 2);
}

}  // namespace
}  // namespace wsd
