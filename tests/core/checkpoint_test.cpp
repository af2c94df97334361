#include "core/checkpoint/checkpoint.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/io/h5_file.hpp"
#include "core/util/errors.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::path(::testing::TempDir()) / name).string();
}

Checkpoint sample_checkpoint(int64_t step, int64_t big_elements = 16) {
  torch::manual_seed(static_cast<uint64_t>(step));
  Checkpoint c;
  c.config_yaml = "train:\n  steps: 10\n";
  c.model_info = {"ddpm_unet", "noise", -1};
  c.model = {{"image_proj.weight", torch::randn({4, 1, 3, 3})},
             {"final.bias", torch::randn({big_elements})}};
  c.ema = {{"image_proj.weight", torch::randn({4, 1, 3, 3})},
           {"final.bias", torch::randn({big_elements})}};
  c.optimizer = {{"image_proj.weight/exp_avg", torch::randn({4, 1, 3, 3})},
                 {"image_proj.weight/step", torch::tensor(step, torch::kInt64)}};
  c.state.step = step;
  c.state.epoch = 2;
  c.state.data_position = 77;
  c.state.images_seen = step * 64;
  c.state.rng_states = {{1, 2, 3}, {4, 5, 6, 7}};
  return c;
}

void expect_same(const StateDict& a, const StateDict& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    const auto it =
        std::find_if(b.begin(), b.end(), [&](const auto& p) { return p.first == name; });
    ASSERT_NE(it, b.end()) << name;
    EXPECT_TRUE(torch::equal(tensor, it->second)) << name;
  }
}

TEST(Checkpoint, RoundTripsEverySection) {
  const std::string path = temp_path("ckpt.h5");
  const Checkpoint saved = sample_checkpoint(12);
  save_checkpoint(saved, path);
  const Checkpoint loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.config_yaml, saved.config_yaml);
  EXPECT_EQ(loaded.model_info.type, "ddpm_unet");
  EXPECT_EQ(loaded.model_info.parameterisation, "noise");
  EXPECT_EQ(loaded.model_info.score_sign, -1);
  expect_same(saved.model, loaded.model);
  expect_same(saved.ema, loaded.ema);
  expect_same(saved.optimizer, loaded.optimizer);
  EXPECT_EQ(loaded.state.step, 12);
  EXPECT_EQ(loaded.state.epoch, 2);
  EXPECT_EQ(loaded.state.data_position, 77);
  EXPECT_EQ(loaded.state.images_seen, 12 * 64);
  EXPECT_EQ(loaded.state.rng_states, saved.state.rng_states);
  EXPECT_FALSE(fs::exists(path + ".tmp-" + std::to_string(getpid())));
}

TEST(Checkpoint, SummaryCountsParametersWithoutTheOptimizer) {
  const std::string path = temp_path("summary.h5");
  save_checkpoint(sample_checkpoint(5), path);
  const CheckpointSummary s = inspect_checkpoint(path);
  EXPECT_EQ(s.parameter_count, 4 * 9 + 16);
  EXPECT_EQ(s.model_tensors, 2u);
  EXPECT_EQ(s.dtypes, std::vector<std::string>{"Float"});
  EXPECT_TRUE(s.has_ema);
  EXPECT_TRUE(s.has_optimizer);
  EXPECT_EQ(s.state.step, 5);
  EXPECT_EQ(s.format_version, kCheckpointFormatVersion);
}

void expect_input_error(const std::string& path, const std::string& fragment) {
  try {
    load_checkpoint(path);
    FAIL() << "expected InputError for " << path;
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line expected: " << what;
  }
}

TEST(Checkpoint, RejectsTruncatedCorruptAndForeignFiles) {
  const std::string good = temp_path("good.h5");
  save_checkpoint(sample_checkpoint(1, 4096), good);
  const auto size = fs::file_size(good);

  const std::string truncated = temp_path("truncated.h5");
  fs::copy_file(good, truncated, fs::copy_options::overwrite_existing);
  fs::resize_file(truncated, size / 2);
  expect_input_error(truncated, "truncated");

  const std::string text = temp_path("text.h5");
  std::ofstream(text) << "not a checkpoint at all";
  expect_input_error(text, "not a readable HDF5 file");

  const std::string foreign = temp_path("foreign.h5");
  { h5::File::create(foreign).write_tensor("/images", torch::zeros({2, 2})); }
  expect_input_error(foreign, "not a wsdiff checkpoint");

  expect_input_error(temp_path("missing.h5"), "not a readable HDF5 file");
}

// A writer killed with SIGKILL in the middle of a save must leave the previous checkpoint
// loadable and unchanged.
TEST(Checkpoint, KillDuringWriteLeavesPreviousCheckpointIntact) {
  const std::string path = temp_path("atomic.h5");
  const Checkpoint previous = sample_checkpoint(100);
  save_checkpoint(previous, path);
  const Checkpoint big = sample_checkpoint(200, int64_t{64} << 20);  // 256 MB of weights

  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    save_checkpoint(big, path);
    _exit(0);
  }
  const std::string tmp = path + ".tmp-" + std::to_string(child);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!(fs::exists(tmp) && fs::file_size(tmp) > (1u << 20)) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer finished before it could be killed";

  const Checkpoint loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.state.step, 100);
  expect_same(previous.model, loaded.model);
  fs::remove(tmp);
}

}  // namespace
}  // namespace wsd
