// `wsdiff bench --what train` through the executable: the full trainer step, reports only.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace wsd {
namespace {

using nlohmann::json;

test::ProcessResult bench(std::vector<std::string> args) {
  args.insert(args.begin(), "bench");
  for (const char* set : {"model.n_channels=32", "model.ch_mults=[1]", "model.is_attn=[false]",
                          "model.n_blocks=1", "data.image_size=8", "model.image_size=8"}) {
    args.push_back("--set");
    args.push_back(set);
  }
  return test::run_wsdiff(args);
}

// On the CPU --compare times fp32 in both layouts; the global batch counts the accumulation.
TEST(CliBenchTrain, CompareReportsEveryCpuSettingInJson) {
  const auto r = bench({"--what", "train", "--device", "cpu", "--batch", "2", "--repeats", "2",
                        "--warmup", "1", "--compare", "--json", "--set", "train.grad_accum=2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json report = json::parse(r.out);
  EXPECT_EQ(report.value("what", ""), "train");
  EXPECT_EQ(report.value("global_batch", 0), 4);
  EXPECT_EQ(report.value("world_size", 0), 1);
  ASSERT_EQ(report["variants"].size(), 2u) << r.out;
  EXPECT_FALSE(report["variants"][0].value("channels_last", true));
  EXPECT_TRUE(report["variants"][1].value("channels_last", false));
  for (const auto& row : report["variants"]) {
    EXPECT_EQ(row.value("precision", ""), "fp32");
    EXPECT_GT(row.value("images_per_s", 0.0), 0.0) << row.dump();
    EXPECT_GT(row.value("step_ms_median", 0.0), 0.0) << row.dump();
  }
}

TEST(CliBenchTrain, TextReportNamesTheStep) {
  const auto r = bench(
      {"--what", "train", "--device", "cpu", "--batch", "2", "--repeats", "1", "--warmup", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("clip, Adam, EMA"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fp32 contiguous"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("images/s"), std::string::npos) << r.out;
}

TEST(CliBenchTrain, CompareAppliesToTrainOnly) {
  const auto r = bench({"--what", "network", "--compare"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--compare"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wsd
