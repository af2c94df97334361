// The data pipeline through the executable: bad training data exits with code 2 and one line
// naming the file; `bench --what data` reports the loader's throughput.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/synthetic_idx.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

fs::path fresh(const std::string& name) { return test::fresh_dir(name); }

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

TEST(CliData, BenchReportsLoaderThroughput) {
  const fs::path dir = fresh("cli_data_bench");
  test::write_blob_idx_images(dir / "train-images-idx3-ubyte", 40, 12, 5);
  const auto r =
      test::run_wsdiff({"bench", "--what", "data", "--batch", "8", "--repeats", "7", "--json",
                        "--set", "data.path=" + dir.string(), "--set", "data.workers=2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report.value("what", ""), "data");
  EXPECT_EQ(report.value("images", 0), 56);  // 7 timed batches of 8, wrapping into epoch 2
  EXPECT_EQ(report.value("workers", 0), 2);
  EXPECT_GT(report.value("images_per_s", 0.0), 0.0);
  EXPECT_NE(report.value("dataset", "").find(dir.string()), std::string::npos) << r.out;
  EXPECT_EQ(report.value("skipped_samples", -1), 0);
}

}  // namespace
}  // namespace wsd
