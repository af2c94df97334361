// The run directory belongs to one run at a time, and `--resume auto` finds the newest readable
// checkpoint, last.h5 included, without ever starting over one it could not read.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/process.hpp"
#include "tests/support/tiny_run.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

fs::path temp(const std::string& name) { return fs::path(::testing::TempDir()) / name; }

fs::path tiny_data() {
  static const fs::path data = test::write_tiny_dataset(temp("run_dir_data"));
  return data;
}

std::vector<std::string> train_args(const fs::path& run, int steps) {
  auto args = test::tiny_train_args(run, tiny_data(), steps,
                                    {"train.checkpoint_every=2", "train.keep_last=1"});
  args.insert(args.end(), {"--resume", "auto"});
  return args;
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
