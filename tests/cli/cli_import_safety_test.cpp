// `wsdiff import` reads files from strangers: a file name is never shell text, a pickle is never
// trusted to run code, and its temporaries cannot be redirected by links planted in $TMPDIR.
#include <gtest/gtest.h>
#include <wsd_source_dir.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/files.hpp"
#include "tests/support/process.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

using test::fresh_dir;

std::string python() { return std::string(WSD_SOURCE_DIR) + "/.venv/bin/python"; }

void run_python(const std::string& code) {
  test::ProcessSpec spec;
  spec.argv = {python(), "-c", code};
  const auto r = test::run_process(spec);
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

using test::read_text;

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
  run_python(
      "import torch\n"
      "class Payload:\n"
      "    def __reduce__(self):\n"
      "        return (open, ('''" +
      marker.string() +
      "''', 'w'))\n"
      "torch.save({'model_state_dict': {'w': torch.zeros(2)}, 'extra': Payload()}, '''" +
      pth.string() + "''')\n");
  ASSERT_FALSE(fs::exists(marker));
  const auto r = wsdiff_in(dir, {"import", "--from", pth.string(), "--out", "out.h5"});
  EXPECT_FALSE(fs::exists(marker)) << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("crafted.pth"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refused: reading it needs unsafe unpickling"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out.h5"));
}

// Links under every name the next few hundred processes would have used for their temporaries
// ($TMPDIR/wsdiff-import-<pid>.h5 and .h5.err) point at a file that must come through intact.
TEST(CliImportSafety, TemporariesDoNotFollowLinksPlantedInTmpdir) {
  const fs::path dir = fresh_dir("import_tmpdir");
  const fs::path tmpdir = dir / "tmp";
  fs::create_directories(tmpdir);
  const fs::path victim = dir / "victim.txt";
  std::ofstream(victim) << "precious";
  const fs::path pth = dir / "plain.pth";
  run_python("import torch; torch.save({'a': torch.zeros(2)}, '''" + pth.string() + "''')");
  int64_t last_pid = 0;
  std::ifstream("/proc/sys/kernel/ns_last_pid") >> last_pid;
  for (int64_t pid = last_pid + 1; pid <= last_pid + 400; ++pid) {
    const std::string base = "wsdiff-import-" + std::to_string(pid) + ".h5";
    fs::create_symlink(victim, tmpdir / base);
    fs::create_symlink(victim, tmpdir / (base + ".err"));
  }
  const auto r = wsdiff_in(dir, {"import", "--from", pth.string(), "--out", "out.h5"},
                           {{"TMPDIR", tmpdir.string()}});
  EXPECT_EQ(r.exit_code, 2) << r.err;  // the default network does not fit this state dict
  EXPECT_EQ(read_text(victim), "precious") << r.err;
  // Nothing of the converter's is left behind.
  for (const auto& entry : fs::directory_iterator(tmpdir)) {
    EXPECT_TRUE(fs::is_symlink(entry.symlink_status())) << entry.path();
  }
}

}  // namespace
}  // namespace wsd
