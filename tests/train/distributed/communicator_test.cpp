// Multi-process collectives through real c10d process groups. The parent test starts the ranks
// as child processes with the environment torchrun gives its workers; each child runs the
// *Rank test below and checks closed-form results.
#include "train/distributed/communicator.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>

#include "tests/support/process.hpp"

namespace wsd {
namespace {

bool is_child() { return std::getenv("WSD_TEST_RANK_CHILD") != nullptr; }

std::vector<test::ProcessResult> launch_ranks(int world, const std::string& test_name,
                                              std::map<std::string, std::string> extra = {}) {
  const int port = test::free_port();
  std::vector<test::ProcessSpec> specs;
  for (int r = 0; r < world; ++r) {
    test::ProcessSpec spec;
    spec.argv = {test::self_executable(), "--gtest_filter=Communicator." + test_name};
    spec.env = {{"RANK", std::to_string(r)},           {"WORLD_SIZE", std::to_string(world)},
                {"LOCAL_RANK", std::to_string(r)},     {"MASTER_ADDR", "127.0.0.1"},
                {"MASTER_PORT", std::to_string(port)}, {"WSD_TEST_RANK_CHILD", "1"}};
    for (const auto& kv : extra) spec.env.insert(kv);
    spec.timeout = std::chrono::seconds(120);
    specs.push_back(spec);
  }
  return test::run_processes(specs);
}

void expect_all_passed(const std::vector<test::ProcessResult>& results) {
  for (size_t r = 0; r < results.size(); ++r) {
    EXPECT_EQ(results[r].exit_code, 0) << "rank " << r << " stdout:\n"
                                       << results[r].out << "\nstderr:\n"
                                       << results[r].err;
    // A filter that matched nothing would also exit 0: make sure the rank test really ran.
    EXPECT_NE(results[r].out.find("[  PASSED  ] 1 test"), std::string::npos) << results[r].out;
  }
}

// Closed forms: sum over ranks r of (r + 1) * v = v * W (W + 1) / 2; broadcast copies root's.
TEST(Communicator, AllreduceAndBroadcastRank) {
  if (!is_child()) GTEST_SKIP() << "runs as a child rank of GlooTwoProcesses";
  const DistEnv env = read_dist_env();
  auto comm = make_communicator(env, torch::kCPU, std::chrono::seconds(60));
  ASSERT_EQ(comm->backend(), "gloo");
  ASSERT_EQ(comm->world_size(), env.world_size);
  const auto base = torch::arange(1, 11, torch::kFloat32);
  std::vector<torch::Tensor> tensors = {base * (env.rank + 1),
                                        torch::full({3, 4}, double(env.rank), torch::kFloat64)};
  comm->allreduce_sum(tensors);
  const double w = env.world_size;
  EXPECT_TRUE(torch::allclose(tensors[0], base * (w * (w + 1) / 2)));
  EXPECT_TRUE(torch::allclose(tensors[1], torch::full({3, 4}, w * (w - 1) / 2, torch::kFloat64)));

  std::vector<torch::Tensor> shared = {torch::full({5}, 10.0f * (env.rank + 1))};
  comm->broadcast(shared, 1);
  EXPECT_TRUE(torch::equal(shared[0], torch::full({5}, 20.0f)));
  comm->barrier();
}

TEST(Communicator, GlooTwoProcesses) {
  if (is_child()) GTEST_SKIP();
  expect_all_passed(launch_ranks(2, "AllreduceAndBroadcastRank"));
}

TEST(Communicator, GlooThreeProcesses) {
  if (is_child()) GTEST_SKIP();
  expect_all_passed(launch_ranks(3, "AllreduceAndBroadcastRank"));
}

// A rank that never joins the collective must turn into an error on the others, not a hang.
TEST(Communicator, DeadRankTimesOutRank) {
  if (!is_child()) GTEST_SKIP() << "runs as a child rank of DeadRankIsAnErrorNotAHang";
  const DistEnv env = read_dist_env();
  auto comm = make_communicator(env, torch::kCPU, std::chrono::seconds(3));
  if (env.rank == 1) _exit(0);  // dies right after the rendezvous
  std::vector<torch::Tensor> tensors = {torch::ones({4})};
  try {
    comm->allreduce_sum(tensors);
    FAIL() << "allreduce with a dead peer returned";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("allreduce over gloo failed on rank 0"), std::string::npos)
        << e.what();
  }
}

TEST(Communicator, DeadRankIsAnErrorNotAHang) {
  if (is_child()) GTEST_SKIP();
  const auto results = launch_ranks(2, "DeadRankTimesOutRank");
  EXPECT_FALSE(results[0].timed_out);
  EXPECT_EQ(results[0].exit_code, 0) << results[0].out << results[0].err;
}

}  // namespace
}  // namespace wsd
