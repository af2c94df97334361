// The executable as users meet it: subcommands, exit codes and one-line errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "core/config/config_writer.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_data.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

test::ProcessResult wsdiff(const std::vector<std::string>& args) {
  return test::run_wsdiff(args, {}, std::chrono::seconds(60));
}

std::string temp_file(const std::string& name, const std::string& text) {
  const fs::path path = fs::path(::testing::TempDir()) / name;
  std::ofstream(path) << text;
  return path.string();
}

size_t line_count(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(Cli, HelpListsAllTwelveSubcommands) {
  const auto r = wsdiff({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* cmd : {"train", "sample", "noise", "simulate", "solve", "eval", "bench", "info",
                          "import", "predict", "export", "upgrade"}) {
    EXPECT_NE(r.out.find(std::string("  ") + cmd), std::string::npos) << cmd << "\n" << r.out;
  }
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const char* cmd : {"train", "sample", "noise", "simulate", "solve", "eval", "bench", "info",
                          "import", "predict", "export", "upgrade"}) {
    const auto r = wsdiff({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find(std::string("wsdiff ") + cmd), std::string::npos) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find("-h,--help"), std::string::npos) << cmd << "\n" << r.out;
  }
}

TEST(Cli, VersionPrintsTheProjectVersion) {
  const auto r = wsdiff({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("wsdiff ") + WSD_VERSION + "\n");
}

TEST(Cli, UsageErrorsExitWithTwoAndOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"frobnicate"}, {"info", "--no-such-flag"}, {"--log-level"}}) {
    const auto r = wsdiff(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
  }
  // Out-of-range numbers name the subcommand, the option and the range.
  for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"sample", "--checkpoint", "c.h5", "--out", "o", "--steps", "0"},
            "wsdiff sample: error: --steps: Value 0 not in range 1 to 100000"},
           {{"sample", "--checkpoint", "c.h5", "--out", "o", "--n", "2000000000"},
            "wsdiff sample: error: --n: Value 2000000000 not in range 1 to 1000000"}}) {
    const auto r = wsdiff(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err.rfind(expected, 0), 0u) << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
  }
}

TEST(Cli, MisspelledConfigKeyNamesKeyFileAndLine) {
  const std::string path =
      temp_file("typo.yaml", "model:\n  n_channels: 32\ntrain:\n  stpes: 10\n");
  const auto r = wsdiff({"info", "--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(path + ":4:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stpes"), std::string::npos) << r.err;
}

TEST(Cli, InfoPrintsTheResolvedConfigWithOverrides) {
  const std::string path = temp_file("ok.yaml", "train:\n  lr: 0.001\n");
  const auto r = wsdiff(
      {"info", "--config", path, "--set", "train.batch_size=17", "--set", "noise.family=white"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("batch_size: 17"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("family: white"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lr: 0.001"), std::string::npos) << r.out;
}

TEST(Cli, BadOverrideIsAUsageError) {
  const auto r = wsdiff({"info", "--set", "train.lr=fast"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("train.lr"), std::string::npos) << r.err;
}

TEST(Cli, InfoSummarisesACheckpoint) {
  const std::string path = (fs::path(::testing::TempDir()) / "info.h5").string();
  auto r = wsdiff({"import", "--from", test::reference_fixture(), "--out", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Checkpoint c = load_checkpoint(path);
  Config config = parse_config(c.config_yaml, "imported");
  config.train.batch_size = 24;
  c.config_yaml = to_yaml(config);
  c.state.step = 321;
  int64_t parameters = 0;
  for (const auto& [name, tensor] : c.model) parameters += tensor.numel();
  save_checkpoint(c, path);
  r = wsdiff({"info", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" in " + std::to_string(c.model.size()) + " tensors, dtype Float"),
            std::string::npos)
      << r.out << parameters;
  EXPECT_NE(r.out.find("loads as prior  yes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step            321"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("batch 24"), std::string::npos) << r.out;
}

// info verifies what solve and sample verify: weights that do not fit the network the embedded
// config describes are exit 2 naming what is wrong, not a summary.
TEST(Cli, InfoRefusesWeightsThatDoNotFitTheNetwork) {
  Checkpoint c;
  c.config_yaml = "train:\n  batch_size: 24\n";
  c.model_info = {ModelType::kDdpmUnet, ProcessType::kDiffusion, Parameterisation::kNoise, 1};
  c.model = {{"a.weight", torch::zeros({10, 3})}, {"a.bias", torch::zeros({10})}};
  const std::string path = (fs::path(::testing::TempDir()) / "info_foreign.h5").string();
  save_checkpoint(c, path);
  const auto r = wsdiff({"info", path});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("missing key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
}

TEST(Cli, InfoRejectsCorruptAndForeignFilesWithExitTwo) {
  const std::string text = temp_file("junk.h5", "definitely not HDF5");
  auto r = wsdiff({"info", text});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(text), std::string::npos) << r.err;

  r = wsdiff({"info", test::reference_fixture()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a wsdiff checkpoint"), std::string::npos) << r.err;
}

TEST(Cli, BuildInfoNamesTheLibtorchVersion) {
  const auto r = wsdiff({"info"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("libtorch        2.11.0"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace wsd
