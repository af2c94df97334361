// `wsdiff bench` through the executable: reports and errors, never speed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace wsd {
namespace {

using nlohmann::json;

test::ProcessResult wsdiff(std::vector<std::string> args) {
  args.insert(args.begin(), "bench");
  return test::run_wsdiff(args);
}

// A one-resolution UNet on 8x8 images: a training step takes milliseconds on a CPU.
std::vector<std::string> tiny_model(std::vector<std::string> args) {
  for (const char* set : {"model.n_channels=32", "model.ch_mults=[1]", "model.is_attn=[false]",
                          "model.n_blocks=1", "data.image_size=8", "model.image_size=8"}) {
    args.push_back("--set");
    args.push_back(set);
  }
  return args;
}

json parse_report(const test::ProcessResult& r) {
  json report;
  EXPECT_NO_THROW(report = json::parse(r.out)) << r.out;
  EXPECT_TRUE(report.is_object()) << r.out;
  return report;
}

void expect_positive(const json& report, const std::string& key) {
  ASSERT_TRUE(report.contains(key)) << key << " missing in " << report.dump();
  ASSERT_TRUE(report[key].is_number()) << key << " in " << report.dump();
  EXPECT_GT(report[key].get<double>(), 0.0) << key;
  EXPECT_TRUE(std::isfinite(report[key].get<double>())) << key;
}

size_t line_count(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(CliBench, NoiseJsonHasTimesAndThroughput) {
  const auto r = wsdiff({"--what", "noise", "--batch", "8", "--repeats", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json report = parse_report(r);
  EXPECT_EQ(report.value("what", ""), "noise");
  EXPECT_EQ(report.value("device", ""), "cpu");
  EXPECT_EQ(report.value("batch", 0), 8);
  EXPECT_EQ(report.value("repeats", 0), 2);
  // Without a config: the 3 x 32 x 32 reference batch of GRF noise.
  EXPECT_EQ(report["shape"], json({8, 3, 32, 32}));
  EXPECT_EQ(report["noise"].value("family", ""), "grf");
  EXPECT_EQ(report["batch_ms_all"].size(), 2u);
  for (const char* key : {"torch_threads", "batch_ms_median", "batch_ms_min", "samples_per_s"}) {
    expect_positive(report, key);
  }
  EXPECT_LE(report["batch_ms_min"].get<double>(), report["batch_ms_median"].get<double>());
}

TEST(CliBench, NoiseShapeComesFromTheOptionOrTheConfig) {
  auto r = wsdiff({"--what", "noise", "--batch", "2", "--repeats", "1", "--warmup", "0", "--shape",
                   "1,16,8", "--set", "noise.family=power_law", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json report = parse_report(r);
  EXPECT_EQ(report["shape"], json({2, 1, 16, 8}));
  EXPECT_EQ(report["noise"].value("family", ""), "power_law");

  r = wsdiff({"--what", "noise", "--batch", "2", "--repeats", "1", "--set", "data.image_size=16",
              "--set", "model.image_size=16", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  report = parse_report(r);
  EXPECT_EQ(report["shape"], json({2, 1, 16, 16}));  // the default config's data.channels = 1
}

TEST(CliBench, NoiseTextReportNamesDeviceAndTimes) {
  const auto r = wsdiff({"--what", "noise", "--batch", "4", "--repeats", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* text :
       {"wsdiff bench: noise", "device", "cpu", "torch threads", "grf", "ms median", "samples/s"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
  }
}

TEST(CliBench, NetworkTrainingStepOnATinyModel) {
  const auto r = wsdiff(tiny_model(
      {"--what", "network", "--batch", "4", "--repeats", "2", "--warmup", "1", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json report = parse_report(r);
  EXPECT_EQ(report.value("what", ""), "network");
  EXPECT_EQ(report.value("precision", ""), "fp32");
  EXPECT_EQ(report["model"].value("image_size", 0), 8);
  for (const char* key : {"parameters", "step_ms_median", "step_ms_min", "images_per_s",
                          "images_per_s_best", "loss"}) {
    expect_positive(report, key);
  }
}

TEST(CliBench, NetworkChannelsLastTextReport) {
  const auto r = wsdiff(
      tiny_model({"--what", "network", "--batch", "2", "--repeats", "1", "--channels-last"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("channels last"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("images/s"), std::string::npos) << r.out;
}

TEST(CliBench, SampleReportsSecondsPerStepAndPerImage) {
  const auto r = wsdiff(tiny_model({"--what", "sample", "--batch", "2", "--steps", "3", "--repeats",
                                    "1", "--warmup", "0", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json report = parse_report(r);
  EXPECT_EQ(report.value("steps", 0), 3);
  for (const char* key : {"s_per_step", "s_per_image", "s_per_image_1000_steps",
                          "s_per_batch_1000_steps", "trajectory_ms_median"}) {
    expect_positive(report, key);
  }
  EXPECT_NEAR(report["s_per_image_1000_steps"].get<double>(),
              report["s_per_step"].get<double>() * 1000.0 / 2.0,
              1e-9 * report["s_per_image_1000_steps"].get<double>());
}

TEST(CliBench, Bf16OnCpuIsAUsageErrorInOneLine) {
  const auto r =
      wsdiff(tiny_model({"--what", "network", "--precision", "bf16", "--device", "cpu"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("bf16"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CliBench, BadOptionsAreUsageErrorsInOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {"--what", "everything"},
      {},                                               // --what is required
      {"--what", "noise", "--shape", "3,32"},           // not C,H,W
      {"--what", "noise", "--shape", "3,0,32"},         // not positive
      {"--what", "network", "--shape", "3,32,32"},      // noise only
      {"--what", "noise", "--steps", "5"},              // sample only
      {"--what", "noise", "--precision", "bf16"},       // network and sample only
      {"--what", "network", "--precision", "fp16"},     // not a precision
      {"--what", "noise", "--repeats", "0"},            // nothing to time
      {"--what", "noise", "--set", "noise.family=red"}  // config error
  };
  for (const auto& args : cases) {
    const auto r = wsdiff(args);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    EXPECT_EQ(r.exit_code, 2) << shown << "\n" << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << shown << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << shown << "\n" << r.out;
  }
}

}  // namespace
}  // namespace wsd
