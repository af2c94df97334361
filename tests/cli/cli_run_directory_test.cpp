// The run directory belongs to one run at a time, and `--resume auto` finds the newest readable
// checkpoint, last.h5 included, without ever starting over one it could not read.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/process.hpp"
#include "tests/support/synthetic_idx.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

fs::path temp(const std::string& name) { return fs::path(::testing::TempDir()) / name; }

fs::path tiny_data() {
  static const fs::path data = [] {
    const fs::path d = temp("run_dir_data");
    fs::create_directories(d);
    test::write_blob_idx_images(d / "train-images-idx3-ubyte", 32, 8, 1);
    test::write_blob_idx_images(d / "t10k-images-idx3-ubyte", 8, 8, 2);
    return d;
  }();
  return data;
}

std::vector<std::string> train_args(const fs::path& run, int steps) {
  return {"train",
          "--out",
          run.string(),
          "--set",
          "data.path=" + tiny_data().string(),
          "--set",
          "data.image_size=8",
          "--set",
          "model.image_size=8",
          "--set",
          "model.ch_mults=[1]",
          "--set",
          "model.is_attn=[false]",
          "--set",
          "model.n_blocks=1",
          "--set",
          "train.steps=" + std::to_string(steps),
          "--set",
          "train.batch_size=8",
          "--set",
          "train.device=cpu",
          "--set",
          "train.sample_every=0",
          "--set",
          "train.validate_every=0",
          "--set",
          "train.checkpoint_every=2",
          "--set",
          "train.keep_last=1",
          "--resume",
          "auto"};
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(CliRunDirectory, ASecondRunIntoTheSameDirectoryFailsAtOnce) {
  const fs::path run = temp("locked_run");
  fs::remove_all(run);
  test::ProcessSpec spec;
  spec.argv = {test::wsdiff_binary()};
  for (const auto& a : train_args(run, 400)) spec.argv.push_back(a);
  spec.timeout = std::chrono::seconds(240);
  const auto results = test::run_processes({spec, spec});
  int ok = 0, refused = 0;
  for (const auto& r : results) {
    if (r.exit_code == 0) ++ok;
    if (r.exit_code == 2) {
      ++refused;
      EXPECT_NE(r.err.find("is in use by another training run (pid "), std::string::npos) << r.err;
      EXPECT_NE(r.err.find(run.string()), std::string::npos) << r.err;
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(refused, 1);
  // The lock dies with its holder: the directory is free again afterwards.
  const auto again = test::run_wsdiff(train_args(run, 402));
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

TEST(CliRunDirectory, ResumeAutoUsesLastH5WhenStepFilesAreGone) {
  const fs::path run = temp("resume_last_only");
  fs::remove_all(run);
  auto r = test::run_wsdiff(train_args(run, 4));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& entry : fs::directory_iterator(run / "checkpoints")) {
    if (entry.path().filename().string().rfind("step_", 0) == 0) fs::remove(entry.path());
  }
  r = test::run_wsdiff(train_args(run, 6));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("last.h5 at step 4"), std::string::npos) << r.err;
}

TEST(CliRunDirectory, ResumeAutoNeverStartsOverAnUnreadableLastH5) {
  const fs::path run = temp("resume_unreadable");
  fs::remove_all(run);
  fs::create_directories(run / "checkpoints");
  const fs::path last = run / "checkpoints" / "last.h5";
  std::ofstream(last) << "not an HDF5 file";
  const auto r = test::run_wsdiff(train_args(run, 4));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("refusing to start over it"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(last), "not an HDF5 file");
}

}  // namespace
}  // namespace wsd
