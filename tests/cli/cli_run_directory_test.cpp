// The run directory belongs to one run at a time, and `--resume auto` finds the newest readable
// checkpoint, last.h5 included, without ever starting over one it could not read. Whatever
// stops a run (a full disk, a stop signal to one rank) leaves it resumable.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_data.hpp"  // WSD_SOURCE_DIR
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

using test::read_text;

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
  EXPECT_EQ(read_text(last), "not an HDF5 file");
}

// A full disk while a checkpoint is written (here a file-size limit, which fails write() the
// same way): one line naming the file and the reason, exit 1 rather than a crash at exit, the
// previous checkpoint unchanged and no temporary left. A temporary that a killed writer left
// behind is removed when the next run starts.
TEST(CliRunDirectory, AFullDiskKeepsThePreviousCheckpointAndLeavesNoTemporary) {
  const fs::path run = temp("disk_full");
  fs::remove_all(run);
  auto r = test::run_wsdiff(train_args(run, 2));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path last = run / "checkpoints" / "last.h5";
  const std::string before = read_text(last);
  test::ProcessSpec spec;
  spec.argv = {"prlimit", "--fsize=" + std::to_string(before.size() / 2), "--",
               test::wsdiff_binary()};
  for (const auto& a : train_args(run, 4)) spec.argv.push_back(a);
  r = test::run_process(spec);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("error: cannot write checkpoint '" + run.string()), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("File too large (the previous file there is intact)"), std::string::npos)
      << r.err;
  EXPECT_EQ(read_text(last), before);
  for (const auto& entry : fs::directory_iterator(run / "checkpoints")) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }

  // No process has this pid: above the largest pid_max Linux allows (2^22).
  const fs::path stale = run / "checkpoints" / "step_8.h5.tmp-4194305";
  std::ofstream(stale) << "half a checkpoint";
  r = test::run_wsdiff(train_args(run, 4));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_NE(r.err.find("a temporary left by a writer that was killed"), std::string::npos) << r.err;
}

// A fresh `train` into the --out of an earlier run would overwrite its checkpoints: refused,
// naming both ways on, with the earlier run untouched. --overwrite starts over, without a trace
// of the earlier run's metrics.
TEST(CliRunDirectory, ASecondFreshRunIntoAFinishedRunIsRefusedUnlessOverwriteIsGiven) {
  const fs::path run = temp("second_fresh_run");
  fs::remove_all(run);
  const auto fresh_args = [&](int steps) {
    return test::tiny_train_args(run, tiny_data(), steps, {"train.log_every=1"});
  };
  auto r = test::run_wsdiff(fresh_args(3));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path last = run / "checkpoints" / "last.h5";
  const std::string checkpoint = read_text(last);
  const std::string metrics = read_text(run / "metrics.jsonl");
  const std::string config = read_text(run / "config.yaml");

  r = test::run_wsdiff(fresh_args(2));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("holds an earlier run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--resume auto"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--overwrite"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(last), checkpoint);
  EXPECT_EQ(read_text(run / "metrics.jsonl"), metrics);
  EXPECT_EQ(read_text(run / "config.yaml"), config);

  auto overwrite = fresh_args(2);
  overwrite.push_back("--overwrite");
  r = test::run_wsdiff(overwrite);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_text(last), checkpoint);
  // Two steps logged: the earlier run's three records are gone.
  const std::string now = read_text(run / "metrics.jsonl");
  EXPECT_EQ(std::count(now.begin(), now.end(), '\n'), 2) << now;

  auto both = fresh_args(2);
  both.insert(both.end(), {"--overwrite", "--resume", "auto"});
  r = test::run_wsdiff(both);
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

// A second run into a busy --out is refused before it writes anything: the live run's config
// stays its own.
TEST(CliRunDirectory, ABusyRunDirectoryIsRefusedBeforeAnythingIsWritten) {
  const fs::path run = temp("busy_run");
  fs::remove_all(run);
  const std::string second_exit = (temp("busy_run_second_exit")).string();
  fs::remove(second_exit);
  std::string second;
  for (const auto& a : test::tiny_train_args(run, tiny_data(), 100000, {"train.ema_decay=0.25"})) {
    second += " '" + a + "'";
  }
  test::ProcessSpec spec;
  spec.argv = {"/bin/bash", "-c",
               "\"$@\" & pid=$!; for i in $(seq 1200); do "
               "[ \"$(wc -l < '" +
                   (run / "metrics.jsonl").string() +
                   "' 2>/dev/null || echo 0)\" -ge 1 ] && break; sleep 0.1; done; "
                   "'" +
                   test::wsdiff_binary() + "'" + second + " --resume auto; echo $? > '" +
                   second_exit + "'; kill -TERM $pid; wait $pid",
               "first", test::wsdiff_binary()};
  for (const auto& a : test::tiny_train_args(run, tiny_data(), 100000, {"train.log_every=1"})) {
    spec.argv.push_back(a);
  }
  spec.timeout = std::chrono::seconds(240);
  const auto r = test::run_process(spec);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_text(second_exit), "2\n") << r.err;
  EXPECT_NE(r.err.find("is in use by another training run"), std::string::npos) << r.err;
  const std::string config = read_text(run / "config.yaml");
  EXPECT_NE(config.find("ema_decay"), std::string::npos) << config;
  EXPECT_EQ(config.find("ema_decay: 0.25"), std::string::npos) << config;
}

// Links planted under the names a run writes would make it truncate or append to files
// elsewhere: the run is refused, naming the link, and the link's target is untouched.
TEST(CliRunDirectory, LinksPlantedInTheRunDirectoryAreRefusedAndTheirTargetsUntouched) {
  for (const std::string name : {".lock", "wsdiff.log", "metrics.jsonl", "config.yaml"}) {
    const fs::path run = temp("planted_" + name);
    fs::remove_all(run);
    fs::create_directories(run);
    const fs::path victim = temp("planted_victim.txt");
    std::ofstream(victim) << "precious";
    fs::create_symlink(victim, run / name);
    const auto r = test::run_wsdiff(train_args(run, 1));
    EXPECT_EQ(r.exit_code, 2) << name << ": " << r.err;
    EXPECT_NE(r.err.find("'" + name + "' is a symbolic link"), std::string::npos) << r.err;
    EXPECT_EQ(read_text(victim), "precious") << name;
    EXPECT_TRUE(fs::is_symlink(run / name)) << name;
  }
}

// Two ranks of `wsdiff train` as torchrun starts them; rank 1 gets `rank1_sets` on top.
std::vector<test::ProcessSpec> two_rank_specs(const fs::path& run, int steps,
                                              const std::vector<std::string>& rank1_sets = {}) {
  const int port = test::free_port();
  std::vector<test::ProcessSpec> specs(2);
  for (int r = 0; r < 2; ++r) {
    std::vector<std::string> sets = {"train.log_every=5"};
    if (r == 1) sets.insert(sets.end(), rank1_sets.begin(), rank1_sets.end());
    specs[r].argv = {test::wsdiff_binary()};
    for (const auto& a : test::tiny_train_args(run, tiny_data(), steps, sets)) {
      specs[r].argv.push_back(a);
    }
    specs[r].env = {{"RANK", std::to_string(r)},           {"WORLD_SIZE", "2"},
                    {"LOCAL_RANK", std::to_string(r)},     {"MASTER_ADDR", "127.0.0.1"},
                    {"MASTER_PORT", std::to_string(port)}, {"OMP_NUM_THREADS", "1"}};
    specs[r].timeout = std::chrono::seconds(180);
  }
  return specs;
}

// Ranks started with different configs (a network of another width, another step count) stop
// before building anything, every one of them with exit 2 and one line saying so.
TEST(CliRunDirectory, RanksWithDifferentConfigsRefuseToStart) {
  for (const auto& difference : {"model.n_channels=64", "train.steps=12"}) {
    const fs::path run = temp("different_configs");
    fs::remove_all(run);
    const auto results = test::run_processes(two_rank_specs(run, 6, {difference}));
    for (int r = 0; r < 2; ++r) {
      EXPECT_FALSE(results[r].timed_out) << difference;
      EXPECT_EQ(results[r].exit_code, 2) << difference << " rank " << r << ": " << results[r].err;
      EXPECT_NE(
          results[r].err.find("the ranks' resolved configs differ (rank " + std::to_string(r)),
          std::string::npos)
          << results[r].err;
    }
  }
}

// SLURM may signal one task of a job only: a SIGTERM to rank 1 of two stops both ranks at the
// same step, rank 0 writes the checkpoint there, and both exit 0.
TEST(CliRunDirectory, AStopSignalToOneRankStopsAllRanksAtOneStep) {
  const fs::path run = temp("stop_one_rank");
  fs::remove_all(run);
  auto specs = two_rank_specs(run, 100000);
  const std::string metrics = (run / "metrics.jsonl").string();
  auto& rank1 = specs[1].argv;
  rank1.insert(rank1.begin(), {"/bin/bash", "-c",
                               "\"$@\" & pid=$!; for i in $(seq 1200); do "
                               "[ \"$(wc -l < '" +
                                   metrics +
                                   "' 2>/dev/null || echo 0)\" -ge 2 ] && break; "
                                   "sleep 0.1; done; kill -TERM $pid; wait $pid",
                               "rank1"});
  const auto results = test::run_processes(specs);
  ASSERT_FALSE(results[0].timed_out || results[1].timed_out);
  EXPECT_EQ(results[0].exit_code, 0) << results[0].err;
  EXPECT_EQ(results[1].exit_code, 0) << results[1].err;
  const auto step_after = [](const std::string& text, const std::string& key) {
    const auto at = text.find(key);
    return at == std::string::npos ? int64_t{-1} : std::stoll(text.substr(at + key.size()));
  };
  const int64_t written = step_after(results[0].err, "written at step ");
  const int64_t stopped = step_after(results[1].err, "all ranks stop at step ");
  EXPECT_GT(written, 0) << results[0].err;
  EXPECT_EQ(written, stopped) << results[1].err;
  const auto info = test::run_wsdiff({"info", (run / "checkpoints" / "last.h5").string()});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("step            " + std::to_string(written) + " "), std::string::npos)
      << info.out;
}

// A stop signal while the process is still loading its libraries (a job cancelled right after
// it started) ends training in a clean stop, not in death by the signal: the handler is in place
// before any library initialiser runs. Other commands still end on the signal at once.
TEST(CliRunDirectory, AStopSignalDuringStartUpIsACleanStop) {
  // The signal goes `delay` seconds after the handler is in place (SIGTERM's bit, 0x4000, set
  // in the process's SigCgt mask). Before that the dynamic loader is still mapping the libraries,
  // no code of the program has run and the default action applies; how long that takes depends
  // on the machine's load, so a fixed delay from the start would test the loader's speed.
  const auto signalled_after = [](const std::string& delay, const std::vector<std::string>& args) {
    test::ProcessSpec spec;
    spec.argv = {"/bin/bash", "-c",
                 "\"$@\" & pid=$!; "
                 "while [ -e /proc/$pid ] && [ $(( 0x$(awk '/^SigCgt/ {print $2}' "
                 "/proc/$pid/status) & 0x4000 )) -eq 0 ]; do sleep 0.002; done; "
                 "sleep " +
                     delay + "; kill -TERM $pid; wait $pid",
                 "signalled", test::wsdiff_binary()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.timeout = std::chrono::seconds(120);
    return test::run_process(spec);
  };
  // At once (during the libraries' initialisers) and a little later.
  for (const std::string delay : {"0", "0.15"}) {
    const fs::path run = temp("early_stop_" + delay);
    fs::remove_all(run);
    const auto r = signalled_after(delay, train_args(run, 100000));
    EXPECT_EQ(r.exit_code, 0) << delay << ": " << r.err;
    EXPECT_NE(r.err.find("stop requested"), std::string::npos) << r.err;
  }
  // 1000 samples of 1000 steps would take minutes: ended by the signal, 128 + SIGTERM.
  const auto r = signalled_after(
      "1", {"sample", "--checkpoint",
            (fs::path(WSD_SOURCE_DIR) / "models" / "fashion_mnist_ws.h5").string(), "--out",
            temp("signalled_sample").string(), "--n", "1000", "--steps", "1000"});
  EXPECT_EQ(r.exit_code, 128 + 15) << r.err;
}

}  // namespace
}  // namespace wsd
