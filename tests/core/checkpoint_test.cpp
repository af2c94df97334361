#include "core/checkpoint/checkpoint.hpp"
#include "core/checkpoint/checkpoint_directory.hpp"

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
#include "core/util/crc32.hpp"
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
  c.model_info = {ModelType::kDdpmUnet, ProcessType::kDiffusion, Parameterisation::kNoise, -1};
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

// The version 1 layout, as version 1 wrote it: the same groups, no "crc32" attributes, the
// model info by the names given.
void write_version1(const std::string& path, const Checkpoint& c, const std::string& type,
                    const std::string& parameterisation) {
  h5::File file = h5::File::create(path);
  file.set_attr("/", "format", std::string(kCheckpointFormat));
  file.set_attr("/", "format_version", int64_t{1});
  file.set_attr("/", "wsdiff_version", std::string("0.1.0"));
  file.set_attr("/", "created", std::string("2026-01-01T00:00:00Z"));
  file.set_attr("/", "config", c.config_yaml);
  for (const auto& [name, tensor] : c.model) file.write_tensor("/model/" + name, tensor);
  file.set_attr("/model", "count", static_cast<int64_t>(c.model.size()));
  file.set_attr("/model", "type", type);
  file.set_attr("/model", "parameterisation", parameterisation);
  file.set_attr("/model", "score_sign", c.model_info.score_sign);
  file.set_attr("/train_state", "step", c.state.step);
  file.set_attr("/train_state", "epoch", c.state.epoch);
  file.set_attr("/train_state", "data_position", c.state.data_position);
  file.set_attr("/train_state", "images_seen", c.state.images_seen);
  file.set_attr("/train_state", "ranks", int64_t{0});
  file.set_attr("/", "complete", int64_t{1});
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
  EXPECT_EQ(loaded.model_info.type, ModelType::kDdpmUnet);
  EXPECT_EQ(loaded.model_info.parameterisation, Parameterisation::kNoise);
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

TEST(Crc32, MatchesTheStandardCheckValueAndChains) {
  const std::string text = "123456789";
  EXPECT_EQ(crc32(text.data(), text.size()), 0xCBF43926u);
  EXPECT_EQ(crc32(text.data() + 4, 5, crc32(text.data(), 4)), 0xCBF43926u);
  EXPECT_EQ(crc32(text.data(), 0), 0u);
}

// One flipped bit inside a tensor's data (here the optimizer's, which no load would otherwise
// look at twice) makes load and summary fail, naming the file and the tensor.
TEST(Checkpoint, BitFlipInAnyTensorFailsItsChecksum) {
  const std::string good = temp_path("flip_good.h5");
  Checkpoint c = sample_checkpoint(3);
  const auto marker = torch::arange(1000, torch::kFloat32) + 0.25;
  c.optimizer.emplace_back("final.bias/exp_avg_sq", marker);
  save_checkpoint(c, good);
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const std::string pattern(static_cast<const char*>(marker.data_ptr()), marker.nbytes());
  const auto at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  bytes[at + pattern.size() / 2] ^= 0x10;
  const std::string flipped = temp_path("flip_bad.h5");
  std::ofstream(flipped, std::ios::binary) << bytes;
  expect_input_error(flipped, "/optimizer/final.bias/exp_avg_sq' does not match its checksum");
  EXPECT_THROW(inspect_checkpoint(flipped), InputError);
  EXPECT_NO_THROW(load_checkpoint(good));
}

// Files of format version 1 (no checksums) stay loadable, and upgrade_checkpoint rewrites them
// in the current version with the same contents and verified checksums.
TEST(Checkpoint, VersionOneFilesLoadAndUpgrade) {
  const std::string old_path = temp_path("v1.h5");
  const Checkpoint c = sample_checkpoint(9);
  write_version1(old_path, c, "ddpm_unet", "noise");
  const Checkpoint old = load_checkpoint(old_path);
  expect_same(c.model, old.model);
  EXPECT_FALSE(inspect_checkpoint(old_path).checksums_verified);

  const std::string new_path = temp_path("v1_upgraded.h5");
  upgrade_checkpoint(old_path, new_path);
  const CheckpointSummary s = inspect_checkpoint(new_path);
  EXPECT_EQ(s.format_version, kCheckpointFormatVersion);
  EXPECT_TRUE(s.checksums_verified);
  const Checkpoint upgraded = load_checkpoint(new_path);
  expect_same(c.model, upgraded.model);
  EXPECT_EQ(upgraded.config_yaml, c.config_yaml);
  EXPECT_EQ(upgraded.state.step, 9);
  EXPECT_EQ(upgraded.model_info.score_sign, c.model_info.score_sign);
  const h5::File file = h5::File::open_read(new_path);
  EXPECT_TRUE(file.has_attr("/model/final.bias", "crc32"));
}

// The model info is stored by name, so shipped files keep reading the same: each kind of model
// round-trips through the names h5py sees, and a name this build does not know fails the load
// with the file's name and the name.
TEST(Checkpoint, ModelInfoIsStoredByNameAndUnknownNamesFailTheLoad) {
  const std::string path = temp_path("model_info.h5");
  const std::vector<std::pair<ModelInfo, std::string>> kinds = {
      {{ModelType::kDdpmUnet, ProcessType::kDiffusion, Parameterisation::kEdm, 1}, "edm"},
      {{ModelType::kDdpmUnet, ProcessType::kDiffusion, Parameterisation::kWs, -1}, "ws"},
      {{ModelType::kDdpmUnet, ProcessType::kFlow, Parameterisation::kNoise, 1}, "velocity"},
      {{ModelType::kGaussian, ProcessType::kDiffusion, Parameterisation::kNoise, 1}, "exact"}};
  for (const auto& [info, name] : kinds) {
    Checkpoint c = sample_checkpoint(3);
    c.model_info = info;
    save_checkpoint(c, path);
    EXPECT_EQ(h5::File::open_read(path).attr_string("/model", "parameterisation"), name);
    const ModelInfo back = load_checkpoint(path).model_info;
    EXPECT_EQ(back.type, info.type) << name;
    EXPECT_EQ(back.process, info.process) << name;
    EXPECT_EQ(back.parameterisation_name(), name);
    EXPECT_EQ(back.score_sign, info.score_sign) << name;
  }
  for (const auto& [attribute, value] : std::vector<std::pair<std::string, std::string>>{
           {"type", "unet"}, {"parameterisation", "x0"}}) {
    write_version1(path, sample_checkpoint(3), attribute == "type" ? value : "ddpm_unet",
                   attribute == "type" ? "noise" : value);
    try {
      load_checkpoint(path);
      ADD_FAILURE() << attribute << " '" << value << "' loaded";
    } catch (const InputError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_NE(message.find("'" + value + "'"), std::string::npos) << message;
    }
  }
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
  // The dead writer's temporary is what remove_stale_temporaries removes; a live one's stays.
  const std::string live = path + ".tmp-" + std::to_string(getpid());
  std::ofstream(live) << "being written";
  const auto removed = remove_stale_temporaries(fs::path(path).parent_path().string());
  EXPECT_NE(std::find(removed.begin(), removed.end(), tmp), removed.end());
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_TRUE(fs::exists(live));
  fs::remove(live);
}

// A run's checkpoint directory: step files pruned to keep_last, last.h5 the newest, best.h5
// with its loss, and `--resume auto` falling back past an unreadable last.h5.
TEST(CheckpointDirectory, RotatesStepFilesAndFindsTheNewestReadable) {
  const fs::path dir = temp_path("rotation");
  fs::remove_all(dir);
  const CheckpointDirectory checkpoints(dir, 2);
  checkpoints.prepare();
  EXPECT_TRUE(checkpoints.newest_valid().empty());
  EXPECT_FALSE(checkpoints.best_val_loss().has_value());
  for (const int64_t step : {10, 20, 30}) {
    EXPECT_EQ(checkpoints.save(sample_checkpoint(step), step), (dir / "last.h5").string());
  }
  const auto steps = checkpoints.step_files();
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].first, 30);
  EXPECT_EQ(steps[1].first, 20);
  EXPECT_TRUE(fs::equivalent(dir / "last.h5", dir / "step_30.h5"));
  EXPECT_EQ(checkpoints.newest_valid(), (dir / "last.h5").string());

  checkpoints.save_best(sample_checkpoint(20), 20, 0.125);
  EXPECT_EQ(checkpoints.best_val_loss(), 0.125);
  EXPECT_EQ(load_checkpoint(checkpoints.best_path().string()).state.step, 20);

  // A torn last.h5 falls back to the newest readable step file.
  fs::remove(dir / "last.h5");
  { std::ofstream(dir / "last.h5") << "not a checkpoint"; }
  EXPECT_EQ(checkpoints.newest_valid(), (dir / "step_30.h5").string());
  { std::ofstream(dir / "step_30.h5") << "torn"; }
  EXPECT_EQ(checkpoints.newest_valid(), (dir / "step_20.h5").string());
  fs::remove(dir / "step_20.h5");
  fs::remove(dir / "step_30.h5");
  EXPECT_THROW(checkpoints.newest_valid(), InputError);
}

}  // namespace
}  // namespace wsd
