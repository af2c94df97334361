#include "train/distributed/dist_env.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

// Sets launcher variables for one test and clears every other one the reader looks at.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::string>& values) {
    clear();
    for (const auto& [k, v] : values) setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() { clear(); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  static void clear() {
    for (const char* name :
         {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "SLURM_PROCID",
          "SLURM_NTASKS", "SLURM_LOCALID", "TORCHELASTIC_USE_AGENT_STORE"}) {
      unsetenv(name);
    }
  }
};

TEST(DistEnv, SingleProcessWithoutLauncherVariables) {
  ScopedEnv env({});
  const DistEnv e = read_dist_env();
  EXPECT_EQ(e.launcher, "single");
  EXPECT_EQ(e.world_size, 1);
  EXPECT_FALSE(e.distributed());
}

TEST(DistEnv, ReadsTorchrunVariables) {
  ScopedEnv env({{"RANK", "3"},
                 {"WORLD_SIZE", "8"},
                 {"LOCAL_RANK", "1"},
                 {"MASTER_ADDR", "node07"},
                 {"MASTER_PORT", "29611"},
                 {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
  const DistEnv e = read_dist_env();
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "node07");
  EXPECT_EQ(e.master_port, 29611);
  EXPECT_TRUE(e.agent_hosts_store);
}

TEST(DistEnv, ReadsSlurmVariables) {
  ScopedEnv env({{"SLURM_PROCID", "5"},
                 {"SLURM_NTASKS", "16"},
                 {"SLURM_LOCALID", "2"},
                 {"MASTER_ADDR", "10.0.0.1"}});
  const DistEnv e = read_dist_env();
  EXPECT_EQ(e.launcher, "slurm");
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 16);
  EXPECT_EQ(e.local_rank, 2);
  EXPECT_EQ(e.master_port, 29500);
  EXPECT_FALSE(e.agent_hosts_store);
}

void expect_error_naming(const std::map<std::string, std::string>& values,
                         const std::string& fragment) {
  ScopedEnv env(values);
  try {
    read_dist_env();
    FAIL() << "expected InputError mentioning " << fragment;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(DistEnv, RejectsMalformedOrInconsistentValues) {
  expect_error_naming({{"RANK", "one"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}, "RANK='one'");
  expect_error_naming({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}, "world size");
  expect_error_naming({{"RANK", "0"}, {"WORLD_SIZE", "2"}}, "MASTER_ADDR");
  expect_error_naming({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"MASTER_PORT", "70000"}},
                      "MASTER_PORT");
}

// A name under the reserved .invalid domain never resolves (RFC 6761).
TEST(DistEnv, UnresolvableMasterAddressIsOneClearError) {
  DistEnv e;
  e.world_size = 2;
  e.rank = 1;
  e.master_addr = "no-such-host.invalid";
  try {
    check_master_address(e);
    FAIL() << "an unresolvable MASTER_ADDR passed";
  } catch (const InputError& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("MASTER_ADDR 'no-such-host.invalid' does not resolve on rank 1"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  e.master_addr = "127.0.0.1";
  EXPECT_NO_THROW(check_master_address(e));
}

}  // namespace
}  // namespace wsd
