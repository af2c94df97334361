// `wsdiff import` reads files from strangers: a file name is never shell text, a pickle is never
// trusted to run code, and a .pth is read in-process: no Python, no temporaries to redirect.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/venv_python.hpp"
#include "tests/support/test_data.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

using test::fresh_dir;

void run_python(const std::string& code) {
  const auto r = test::run_venv_python(code);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// `wsdiff ARGS...` run from inside `dir`, so that a relative path a command might create lands
// there.
test::ProcessResult wsdiff_in(const fs::path& dir, const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env = {}) {
  test::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c",         "cd \"$1\" && shift && exec \"$@\"",
               "sh",      dir.string(), test::wsdiff_binary()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = env;
  return test::run_process(spec);
}

TEST(CliImportSafety, AFileNameIsNeverRunAsShellText) {
  const fs::path dir = fresh_dir("import_shell");
  const fs::path pth = dir / "weights';touch pwned;'.pth";
  run_python("import torch; torch.save({'a': torch.zeros(2)}, '''" + pth.string() + "''')");
  const auto r = wsdiff_in(dir, {"import", "--from", pth.string(), "--out", "out.h5"});
  EXPECT_FALSE(fs::exists(dir / "pwned")) << r.err;
  // The file is read as what it is: a state dict the default network does not fit.
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("missing key"), std::string::npos) << r.err;
}

TEST(CliImportSafety, APickleThatWouldRunCodeIsRefusedUnread) {
  const fs::path dir = fresh_dir("import_pickle");
  const fs::path marker = dir / "code_ran";
  const fs::path pth = dir / "crafted.pth";
  run_python(test::crafted_pickle_code(pth, marker));
  ASSERT_FALSE(fs::exists(marker));
  const auto r = wsdiff_in(dir, {"import", "--from", pth.string(), "--out", "out.h5"});
  EXPECT_FALSE(fs::exists(marker)) << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("crafted.pth"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refused: reading it needs unsafe unpickling"), std::string::npos) << r.err;
  // Why it is refused, and the global that would have run.
  EXPECT_NE(r.err.find("could run code"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("open"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out.h5"));
}

// The converter this replaced ran the venv's Python (WSD_PYTHON) and wrote under $TMPDIR: a
// stand-in Python that leaves a mark, and a $TMPDIR that does not exist, change nothing now.
TEST(CliImportSafety, APthIsReadWithoutPythonOrTemporaries) {
  const fs::path dir = fresh_dir("import_no_python");
  const fs::path pth = dir / "authors.pth";
  run_python("import h5py, torch; f = h5py.File('''" + test::reference_fixture() +
             "''', 'r'); torch.save({'model_state_dict': {k: torch.tensor(f['state_dict'][k][()]) "
             "for k in f['state_dict']}}, '''" +
             pth.string() + "''')");
  const fs::path marker = dir / "python_ran";
  const fs::path fake_python = dir / "python";
  std::ofstream(fake_python) << "#!/bin/sh\ntouch '" << marker.string() << "'\nexit 1\n";
  fs::permissions(fake_python, fs::perms::owner_all);
  const auto r = wsdiff_in(
      dir,
      {"import", "--from", pth.string(), "--out", "out.h5", "--set", "model.n_channels=32", "--set",
       "model.ch_mults=[1,2,2]", "--set", "model.is_attn=[false,false,true]", "--set",
       "model.n_blocks=1", "--set", "model.image_channels=1"},
      {{"WSD_PYTHON", fake_python.string()}, {"TMPDIR", (dir / "no_such_tmp").string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_TRUE(fs::exists(dir / "out.h5"));
}

TEST(CliImportSafety, ALegacyNonZipFileIsRefusedWithAClearMessage) {
  const fs::path dir = fresh_dir("import_legacy");
  const fs::path pth = dir / "legacy.pth";
  run_python("import torch; torch.save({'a': torch.zeros(2)}, '''" + pth.string() +
             "''', _use_new_zipfile_serialization=False)");
  const auto r = wsdiff_in(dir, {"import", "--from", pth.string(), "--out", "out.h5"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("legacy.pth"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("legacy non-zip format"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out.h5"));
}

}  // namespace
}  // namespace wsd
