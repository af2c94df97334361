// The files a run keeps open in its directory are never opened through a symbolic link, even
// when the trainer is used as a library without the CLI's check of the directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/util/errors.hpp"
#include "tests/support/files.hpp"
#include "train/metrics_log.hpp"
#include "train/run_directory_lock.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

fs::path fresh(const std::string& name) { return test::fresh_dir(name); }

using test::read_text;

TEST(RunDirectoryFiles, MetricsLogRefusesALinkAndLeavesItsTargetAlone) {
  const fs::path dir = fresh("metrics_link");
  std::ofstream(dir / "victim") << "precious";
  fs::create_symlink(dir / "victim", dir / "metrics.jsonl");
  EXPECT_THROW(MetricsLog((dir / "metrics.jsonl").string()), InputError);
  EXPECT_EQ(read_text(dir / "victim"), "precious");

  // A plain file is appended to, one flushed line per record.
  MetricsLog log((dir / "plain.jsonl").string());
  log.write({{"step", 1}});
  log.write({{"step", 2}});
  EXPECT_EQ(read_text(dir / "plain.jsonl"), "{\"step\":1}\n{\"step\":2}\n");
}

TEST(RunDirectoryFiles, TheLockRefusesALinkAndLeavesItsTargetAlone) {
  const fs::path dir = fresh("lock_link");
  std::ofstream(dir / "victim") << "precious";
  fs::create_symlink(dir / "victim", dir / ".lock");
  try {
    RunDirectoryLock lock(dir);
    FAIL() << "a lock through a symbolic link was taken";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_text(dir / "victim"), "precious");
}

}  // namespace
}  // namespace wsd
