// Bad training data through the executable: exit code 2 and one line naming the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "tests/support/process.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

fs::path fresh(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// `wsdiff train` of a one-level network on the given data; only errors are logged.
test::ProcessResult train(const fs::path& run, std::vector<std::string> sets) {
  std::vector<std::string> args = {"--log-level", "error", "train", "--out", run.string()};
  for (const char* set : {"model.ch_mults=[1]", "model.is_attn=[false]", "model.n_blocks=1",
                          "train.steps=1", "train.batch_size=2", "train.device=cpu"}) {
    sets.emplace_back(set);
  }
  for (const auto& set : sets) {
    args.push_back("--set");
    args.push_back(set);
  }
  return test::run_wsdiff(args, {}, std::chrono::seconds(120));
}

size_t line_count(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(CliData, MissingDataPathExitsTwoNamingIt) {
  const fs::path dir = fresh("cli_data_missing");
  const std::string path = (dir / "no_such_dataset").string();
  const auto r = train(dir / "run", {"data.path=" + path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("'" + path + "' does not exist"), std::string::npos) << r.err;
}

TEST(CliData, CorruptCifarFileExitsTwoNamingIt) {
  const fs::path dir = fresh("cli_data_cifar");
  const fs::path file = dir / "data_batch_1.bin";
  // Two whole records and part of a third.
  std::ofstream(file, std::ios::binary) << std::string(2 * 3073 + 1000, '\x01');
  const auto r = train(dir / "run", {"data.reader=cifar10", "data.path=" + dir.string(),
                                     "data.channels=3", "model.image_channels=3"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("'" + file.string() + "' is truncated"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wsd
