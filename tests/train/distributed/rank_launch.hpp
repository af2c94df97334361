#pragma once

// Starts the ranks of a multi-process test as child processes of this test executable, with the
// environment torchrun gives its workers. Each child runs one *Rank test case.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace wsd::test {

inline bool is_rank_child() { return std::getenv("WSD_TEST_RANK_CHILD") != nullptr; }

inline std::vector<ProcessSpec> rank_specs(int world, const std::string& test_filter,
                                           const std::map<std::string, std::string>& extra = {}) {
  const int port = free_port();
  std::vector<ProcessSpec> specs;
  for (int r = 0; r < world; ++r) {
    ProcessSpec spec;
    spec.argv = {self_executable(), "--gtest_filter=" + test_filter};
    spec.env = {{"RANK", std::to_string(r)},
                {"WORLD_SIZE", std::to_string(world)},
                {"LOCAL_RANK", std::to_string(r)},
                {"MASTER_ADDR", "127.0.0.1"},
                {"MASTER_PORT", std::to_string(port)},
                {"WSD_TEST_RANK_CHILD", "1"},
                {"OMP_NUM_THREADS", "1"}};
    for (const auto& kv : extra) spec.env[kv.first] = kv.second;
    spec.timeout = std::chrono::seconds(180);
    specs.push_back(spec);
  }
  return specs;
}

inline void expect_ranks_passed(const std::vector<ProcessResult>& results) {
  for (size_t r = 0; r < results.size(); ++r) {
    EXPECT_EQ(results[r].exit_code, 0) << "rank " << r << " stdout:\n"
                                       << results[r].out << "\nstderr:\n"
                                       << results[r].err;
    // A filter that matched nothing would also exit 0: make sure the rank test really ran.
    EXPECT_NE(results[r].out.find("[  PASSED  ] 1 test"), std::string::npos) << results[r].out;
  }
}

inline std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace wsd::test
