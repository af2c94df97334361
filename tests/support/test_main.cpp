// Entry point of every test executable. CTest runs test cases as parallel processes, and tests
// name their files under ::testing::TempDir(); giving each process a private directory there
// (gtest reads TEST_TMPDIR) keeps fixed file names from colliding.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  char pattern[] = "/tmp/wsd-test-XXXXXX";
  const char* dir = mkdtemp(pattern);
  if (dir != nullptr) setenv("TEST_TMPDIR", dir, 1);
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  if (dir != nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  return status;
}
