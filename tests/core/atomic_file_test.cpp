// Outputs are written whole or not at all (core/io/atomic_file.hpp).
#include "core/io/atomic_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/io/h5_file.hpp"
#include "tests/support/files.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

using test::fresh_dir;

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

// A writer that fails half-way (a kill, a full disk, a bad tensor) leaves the previous output
// readable and unchanged, and no temporary beside it.
TEST(AtomicOutput, AFailedWriteLeavesThePreviousFileAndNoTemporary) {
  const fs::path dir = fresh_dir("atomic_failed");
  const std::string path = (dir / "out.h5").string();
  const auto before = torch::arange(6, torch::kFloat32);
  write_h5_atomically(path, [&](h5::File& file) { file.write_tensor("/x", before); });
  EXPECT_THROW(write_h5_atomically(path,
                                   [&](h5::File& file) {
                                     file.write_tensor("/x", torch::zeros({6}));
                                     throw std::runtime_error("failed half-way");
                                   }),
               std::runtime_error);
  EXPECT_TRUE(torch::equal(h5::File::open_read(path).read_tensor("/x"), before));
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.h5"});
}

// The temporary has an unpredictable name, created exclusively: a symlink planted at any name
// an attacker could predict is never written through, and the output is as readable as any
// file the user creates.
TEST(AtomicOutput, PlantedSymlinksAreNeverFollowed) {
  const fs::path dir = fresh_dir("atomic_symlink");
  const fs::path victim = dir / "victim.txt";
  std::ofstream(victim) << "precious";
  const std::string path = (dir / "out.h5").string();
  fs::create_symlink(victim, path + ".tmp-" + std::to_string(::getpid()));
  fs::create_symlink(victim, path + ".tmp-XXXXXX");
  write_h5_atomically(path, [&](h5::File& file) { file.write_tensor("/x", torch::ones({2})); });
  std::ifstream in(victim);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "precious");
  EXPECT_TRUE(torch::equal(h5::File::open_read(path).read_tensor("/x"), torch::ones({2})));
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(info.st_mode & 0777, 0666 & ~mask);
}

// A place no file can be created (its "folder" is a file) is one clear error that names the
// output and says nothing was lost.
TEST(AtomicOutput, UncreatableTemporaryIsOneClearError) {
  const fs::path dir = fresh_dir("atomic_not_a_folder");
  std::ofstream(dir / "plain") << "x";
  const std::string path = (dir / "plain" / "out.bin").string();
  try {
    write_file_atomically(path, {1, 2, 3}, "output");
    ADD_FAILURE() << "wrote below a plain file";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("cannot write output '" + path + "': cannot create ", 0), 0u)
        << message;
    EXPECT_NE(message.find("the previous file there is intact"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace wsd
