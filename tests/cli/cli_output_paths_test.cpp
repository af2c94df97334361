// No command writes over what it reads: an output that is one of the inputs, under its own name,
// through `..` or through a symbolic link, is refused before any work, and the input survives.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/files.hpp"
#include "tests/support/process.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

using test::read_text;

struct Case {
  std::string name;
  std::vector<std::string> args;  // {dir} stands for the case's folder
  std::string input_option;       // the input the error must name
  std::string input_file;         // relative to the folder: must come through unchanged
};

TEST(CliOutputPaths, AnOutputThatIsAnInputIsRefusedBeforeAnyWork) {
  // The inputs are stand-ins: the refusal comes before any of them is read.
  const std::vector<Case> cases = {
      {"solve_measurements",
       {"solve", "--checkpoint", "{dir}/c.h5", "--measurements", "{dir}/m.h5", "--out",
        "{dir}/m.h5"},
       "--measurements",
       "m.h5"},
      {"solve_dotdot",
       {"solve", "--checkpoint", "{dir}/c.h5", "--measurements", "{dir}/m.h5", "--out",
        "{dir}/sub/../m.h5"},
       "--measurements",
       "m.h5"},
      {"solve_link",
       {"solve", "--checkpoint", "{dir}/c.h5", "--measurements", "{dir}/m.h5", "--out",
        "{dir}/link_to_m.h5"},
       "--measurements",
       "m.h5"},
      {"solve_checkpoint",
       {"solve", "--checkpoint", "{dir}/c.h5", "--measurements", "{dir}/m.h5", "--out",
        "{dir}/c.h5"},
       "--checkpoint",
       "c.h5"},
      {"solve_png_config",
       {"solve", "--checkpoint", "{dir}/c.h5", "--measurements", "{dir}/m.h5", "--out",
        "{dir}/r.h5", "--config", "{dir}/x_hat.png", "--png", "{dir}"},
       "--config",
       "x_hat.png"},
      {"simulate_config",
       {"simulate", "-c", "{dir}/task.yaml", "--out", "{dir}/task.yaml"},
       "--config",
       "task.yaml"},
      {"simulate_link",
       {"simulate", "-c", "{dir}/task.yaml", "--out", "{dir}/link_to_task.yaml"},
       "--config",
       "task.yaml"},
      {"noise_config",
       {"noise", "-c", "{dir}/task.yaml", "--out", "{dir}/sub/../task.yaml"},
       "--config",
       "task.yaml"},
      {"export_checkpoint",
       {"export", "--checkpoint", "{dir}/c.h5", "--out", "{dir}/sub/../c.h5"},
       "--checkpoint",
       "c.h5"},
      {"predict_input",
       {"predict", "--checkpoint", "{dir}/c.h5", "--input", "{dir}/m.h5", "--out",
        "{dir}/link_to_m.h5"},
       "--input",
       "m.h5"},
      {"predict_checkpoint",
       {"predict", "--checkpoint", "{dir}/c.h5", "--input", "{dir}/m.h5", "--out", "{dir}/c.h5"},
       "--checkpoint",
       "c.h5"},
      {"import_from",
       {"import", "--from", "{dir}/c.h5", "--out", "{dir}/sub/../c.h5"},
       "--from",
       "c.h5"},
      {"sample_checkpoint",
       {"sample", "--checkpoint", "{dir}/samples.h5", "--out", "{dir}"},
       "--checkpoint",
       "samples.h5"},
      {"eval_config",
       {"eval", "-c", "{dir}/results.md", "--out", "{dir}"},
       "--config",
       "results.md"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path dir = fs::path(::testing::TempDir()) / ("output_paths_" + c.name);
    fs::remove_all(dir);
    fs::create_directories(dir / "sub");
    for (const char* file :
         {"c.h5", "m.h5", "task.yaml", "x_hat.png", "samples.h5", "results.md"}) {
      std::ofstream(dir / file) << "input " << file;
    }
    fs::create_symlink(dir / "m.h5", dir / "link_to_m.h5");
    fs::create_symlink(dir / "task.yaml", dir / "link_to_task.yaml");
    std::vector<std::string> args;
    for (std::string a : c.args) {
      if (const auto at = a.find("{dir}"); at != std::string::npos) a.replace(at, 5, dir.string());
      args.push_back(a);
    }
    const auto r = test::run_wsdiff(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("is the " + c.input_option + " file"), std::string::npos) << r.err;
    EXPECT_EQ(read_text(dir / c.input_file), "input " + c.input_file);
  }
}

// Different files are not confused: an output beside the input is accepted up to the first
// real check (here the stand-in checkpoint, which is not HDF5).
TEST(CliOutputPaths, AnOutputBesideTheInputIsNotMistakenForIt) {
  const fs::path dir = fs::path(::testing::TempDir()) / "output_paths_beside";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "c.h5") << "input";
  const auto r = test::run_wsdiff(
      {"export", "--checkpoint", (dir / "c.h5").string(), "--out", (dir / "c2.h5").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.find("is the --checkpoint file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("c.h5"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wsd
