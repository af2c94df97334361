// One exit-code contract (README, "The wsdiff command line"): a bad input is exit 2 with one line
// naming the file, whatever the subcommand and whatever is wrong with the path; 1 is left for
// failures of the run itself.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/config/config_types.hpp"
#include "core/config/config_writer.hpp"
#include "core/io/h5_file.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_data.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

fs::path dir() {
  static const fs::path d = [] {
    const fs::path path = fs::path(::testing::TempDir()) / "exit_codes";
    fs::remove_all(path);
    fs::create_directories(path);
    return path;
  }();
  return d;
}

// A measurement file as `simulate` writes it (identity operator, 32x32 gray images), or with
// one thing wrong.
struct MeasurementFile {
  int64_t images = 2;
  int64_t format_version = 1;
  bool config = true;
  std::string operator_attr = "identity";
};

std::string write_measurements(const std::string& name, const MeasurementFile& m) {
  const std::string path = (dir() / name).string();
  Config config;
  config.task.operator_name = OperatorType::kIdentity;
  h5::File file = h5::File::create(path);
  file.write_tensor("/y", torch::zeros({m.images, 1, 32, 32}));
  file.set_attr("/", "format", std::string("wsdiff-measurements"));
  file.set_attr("/", "format_version", m.format_version);
  if (m.config) file.set_attr("/", "config", to_yaml(config));
  file.set_attr("/", "operator", m.operator_attr);
  return path;
}

std::string write_text(const std::string& name, const std::string& text) {
  const fs::path path = dir() / name;
  std::ofstream(path) << text;
  return path.string();
}

// The first half of a copy of `source`.
std::string truncated_copy(const std::string& source, const std::string& name) {
  const fs::path path = dir() / name;
  fs::copy_file(source, path, fs::copy_options::overwrite_existing);
  fs::resize_file(path, fs::file_size(path) / 2);
  return path.string();
}

std::string prior() { return std::string(WSD_SOURCE_DIR) + "/models/fashion_mnist_ws.h5"; }

size_t line_count(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The classes of bad path every file input is tried with.
struct BadPath {
  std::string kind;
  std::string path;
};

std::vector<BadPath> bad_paths(const std::string& stem, const std::string& valid_h5) {
  std::vector<BadPath> paths = {
      {"missing", (dir() / (stem + "_missing.h5")).string()},
      {"empty", write_text(stem + "_empty.h5", "")},
      {"junk", write_text(stem + "_junk.h5", "these bytes are no HDF5 file\n")},
      {"directory", (dir() / (stem + "_folder.h5")).string()},
  };
  fs::create_directories(paths.back().path);
  if (!valid_h5.empty()) {
    paths.push_back({"truncated", truncated_copy(valid_h5, stem + "_truncated.h5")});
  }
  return paths;
}

struct Slot {
  std::string name;
  // The command line with the bad path at "{}".
  std::vector<std::string> args;
  std::string valid_h5;  // a good file of this slot's kind, truncated for the "truncated" class
};

TEST(CliExitCodes, EveryBadInputPathIsExitTwoWithOneLineNamingIt) {
  const std::string measurements = write_measurements("good_measurements.h5", {});
  const std::string out = (dir() / "out").string();
  fs::create_directories(out);
  const std::vector<Slot> slots = {
      {"solve --measurements",
       {"solve", "--checkpoint", prior(), "--measurements", "{}", "--out", out + "/r.h5"},
       measurements},
      {"solve --checkpoint",
       {"solve", "--checkpoint", "{}", "--measurements", measurements, "--out", out + "/r.h5"},
       prior()},
      {"sample --checkpoint", {"sample", "--checkpoint", "{}", "--out", out + "/s"}, prior()},
      {"info CHECKPOINT", {"info", "{}"}, prior()},
      {"export --checkpoint", {"export", "--checkpoint", "{}", "--out", out + "/e.h5"}, prior()},
      {"predict --checkpoint",
       {"predict", "--checkpoint", "{}", "--input", measurements, "--out", out + "/p.h5"},
       prior()},
      {"predict --input",
       {"predict", "--checkpoint", prior(), "--input", "{}", "--out", out + "/p.h5"},
       measurements},
      {"upgrade CHECKPOINT", {"upgrade", "{}", "--out", out + "/u.h5"}, prior()},
      {"import --from", {"import", "--from", "{}", "--out", out + "/i.h5"}, ""},
      {"simulate --config", {"simulate", "-c", "{}", "--out", out + "/m.h5"}, ""},
      {"noise --config", {"noise", "-c", "{}", "--out", out + "/n.h5"}, ""},
      {"eval --config", {"eval", "-c", "{}", "--out", out + "/eval"}, ""},
      {"info --config", {"info", "--config", "{}"}, ""},
      {"train --config", {"train", "-c", "{}", "--out", out + "/run"}, ""},
  };
  for (const Slot& slot : slots) {
    std::string stem = slot.name;
    std::replace_if(
        stem.begin(), stem.end(),
        [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    for (const BadPath& bad : bad_paths(stem, slot.valid_h5)) {
      // Config files are YAML: an empty one is all defaults, not a bad input.
      if (bad.kind == "empty" && slot.name.find("config") != std::string::npos) continue;
      std::vector<std::string> args = slot.args;
      for (auto& a : args) {
        if (a == "{}") a = bad.path;
      }
      const auto r = test::run_wsdiff(args);
      EXPECT_EQ(r.exit_code, 2) << slot.name << ", " << bad.kind << ": " << r.err;
      EXPECT_EQ(line_count(r.err), 1u) << slot.name << ", " << bad.kind << ": " << r.err;
      EXPECT_NE(r.err.find(fs::path(bad.path).filename().string()), std::string::npos)
          << slot.name << ", " << bad.kind << ": " << r.err;
    }
  }
}

// A measurement file that is HDF5 but wrong inside: exit 2, one line naming the file and what is
// wrong with it.
TEST(CliExitCodes, MeasurementFilesWrongInsideNameTheFileAndTheFault) {
  const std::string out = (dir() / "inside").string();
  const std::vector<std::pair<MeasurementFile, std::string>> cases = {
      {{2, 1, false, "identity"}, "no config attribute"},
      {{0, 1, true, "identity"}, "holds 0 measurements"},
      {{2, 99, true, "identity"}, "format_version 99; this wsdiff reads version 1"},
      {{2, 1, true, "gaussian_blur"},
       "operator attribute 'gaussian_blur' contradicts its embedded config's task.operator "
       "'identity'"},
  };
  int i = 0;
  for (const auto& [file, expected] : cases) {
    const std::string path = write_measurements("inside_" + std::to_string(i++) + ".h5", file);
    const auto r = test::run_wsdiff(
        {"solve", "--checkpoint", prior(), "--measurements", path, "--out", out + "/r.h5"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(path + ": "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  }
}

// Outputs of the wrong kind: a file where a folder is written, a folder where a file is.
TEST(CliExitCodes, AnOutputOfTheWrongKindIsExitTwoNamingIt) {
  const std::string measurements = write_measurements("outputs_measurements.h5", {});
  const std::string a_file = write_text("an_output_file", "x");
  const std::string a_folder = (dir() / "an_output_folder").string();
  fs::create_directories(a_folder);
  const std::string task = write_text("outputs_task.yaml", "task: {operator: identity}\n");
  const std::vector<std::vector<std::string>> cases = {
      {"eval", "-c", task, "-o", a_file},
      {"sample", "--checkpoint", prior(), "--out", a_file},
      {"noise", "--out", a_folder},
      {"simulate", "-c", task, "--out", a_folder},
      {"solve", "--checkpoint", prior(), "--measurements", measurements, "--out", a_folder},
      {"export", "--checkpoint", prior(), "--out", a_folder},
      {"predict", "--checkpoint", prior(), "--input", measurements, "--out", a_folder},
  };
  for (const auto& args : cases) {
    const auto r = test::run_wsdiff(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find(args[0] == "eval" || args[0] == "sample" ? "an_output_file"
                                                                  : "an_output_folder"),
              std::string::npos)
        << args[0] << ": " << r.err;
  }
}

TEST(CliExitCodes, CountOptionsSayTheirLowerBoundInAShortLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"simulate", "--out", "m.h5", "--n", "0"},
           {"noise", "--out", "n.h5", "--n", "0"},
           {"import", "--from", "w.h5", "--out", "c.h5", "--n", "-3"}}) {
    const auto r = test::run_wsdiff(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("--n: must be at least 1, got " + args.back()), std::string::npos)
        << r.err;
    EXPECT_LT(r.err.size(), 120u) << r.err;
  }
}

TEST(CliExitCodes, AnUnknownSubcommandIsNamedWithTheCommandsThereAre) {
  const auto r = test::run_wsdiff({"--log-level", "warn", "frobnicate", "--out", "x"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("unknown subcommand 'frobnicate'"), std::string::npos) << r.err;
  for (const char* command : {"train", "sample", "solve", "eval", "import", "upgrade"}) {
    EXPECT_NE(r.err.find(command), std::string::npos) << command << ": " << r.err;
  }
}

// Settings that would end in an allocation failure or a statistic of one image are refused
// before any work, naming the key.
TEST(CliExitCodes, OutOfRangeSettingsNameTheirKey) {
  const std::string measurements = write_measurements("settings_measurements.h5", {});
  auto r =
      test::run_wsdiff({"solve", "--checkpoint", prior(), "--measurements", measurements, "--out",
                        (dir() / "steps.h5").string(), "--set", "sampler.steps=1000000000"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("sampler.steps"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("100000"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir() / "steps.h5"));

  const std::string task = write_text("statistics_task.yaml", "task: {operator: identity}\n");
  r = test::run_wsdiff({"eval", "-c", task, "-o", (dir() / "statistics").string(), "--set",
                        "eval.statistics_images=1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("eval.statistics_images"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wsd
