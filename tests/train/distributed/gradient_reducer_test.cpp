// The bucketed, overlapped gradient reducer and the parameter-consistency check over real Gloo
// process groups (2 ranks as child processes).
#include "train/distributed/gradient_reducer.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "tests/train/distributed/rank_launch.hpp"
#include "train/distributed/communicator.hpp"
#include "train/distributed/consistency_check.hpp"

namespace wsd {
namespace {

torch::nn::Sequential make_model() {
  torch::manual_seed(5);
  return torch::nn::Sequential(torch::nn::Linear(6, 16), torch::nn::Tanh(),
                               torch::nn::Linear(16, 16), torch::nn::Tanh(),
                               torch::nn::Linear(16, 3));
}

torch::Tensor rank_input(int rank, int micro) {
  torch::manual_seed(100 + 10 * rank + micro);
  return torch::randn({4, 6});
}

// Two micro-batches per rank; only the second backward is armed. Expected: the mean over ranks of
// each rank's accumulated gradient, computed locally without any reducer.
TEST(GradientReducer, AveragesAccumulatedGradientsRank) {
  if (!test::is_rank_child()) GTEST_SKIP() << "runs as a child rank";
  const DistEnv env = read_dist_env();
  auto comm = make_communicator(env, torch::kCPU, std::chrono::seconds(60));
  auto model = make_model();
  // ~300 bytes per bucket: several buckets, launched in order while backward runs.
  GradientReducer reducer(comm, *model, 300);
  ASSERT_GT(reducer.bucket_count(), 2);
  std::set<int64_t> seen;
  int64_t previous = static_cast<int64_t>(model->parameters().size());
  for (const auto& bucket : reducer.bucket_layout()) {
    for (int64_t p : bucket) {
      EXPECT_LT(p, previous) << "buckets must follow reverse parameter order";
      previous = p;
      seen.insert(p);
    }
  }
  EXPECT_EQ(seen.size(), model->parameters().size());

  for (int round = 0; round < 2; ++round) {  // the buffers are reused from step to step
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
    model->forward(rank_input(env.rank, 0)).square().sum().backward();
    reducer.arm();
    model->forward(rank_input(env.rank, 1)).square().mean().backward();
    reducer.finish();

    auto reference = make_model();
    for (int r = 0; r < env.world_size; ++r) {
      reference->forward(rank_input(r, 0)).square().sum().backward();
      reference->forward(rank_input(r, 1)).square().mean().backward();
    }
    const auto ours = model->parameters(), theirs = reference->parameters();
    for (size_t i = 0; i < ours.size(); ++i) {
      EXPECT_TRUE(torch::allclose(ours[i].grad(), theirs[i].grad() / env.world_size, 1e-5, 1e-6))
          << "parameter " << i;
    }
  }
}

TEST(GradientReducer, TwoRanks) {
  if (test::is_rank_child()) GTEST_SKIP();
  test::expect_ranks_passed(
      test::run_processes(test::rank_specs(2, "GradientReducer.AveragesAccumulatedGradientsRank")));
}

TEST(ConsistencyCheck, NamesStepAndDivergedRankRank) {
  if (!test::is_rank_child()) GTEST_SKIP() << "runs as a child rank";
  const DistEnv env = read_dist_env();
  auto comm = make_communicator(env, torch::kCPU, std::chrono::seconds(60));
  auto model = make_model();
  EXPECT_NO_THROW(check_parameter_consistency(*comm, *model, 5));
  if (env.rank == 1) {
    torch::NoGradGuard no_grad;
    model->parameters()[2].view(-1)[3].add_(0.25);
  }
  try {
    check_parameter_consistency(*comm, *model, 7);
    FAIL() << "diverged parameters passed the check";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("step 7"), std::string::npos) << what;
    EXPECT_NE(what.find("rank 1 (max |p - p_rank0| = 0.25)"), std::string::npos) << what;
    EXPECT_EQ(what.find("rank 0 ("), std::string::npos) << what;
  }
}

TEST(ConsistencyCheck, TwoRanks) {
  if (test::is_rank_child()) GTEST_SKIP();
  test::expect_ranks_passed(
      test::run_processes(test::rank_specs(2, "ConsistencyCheck.NamesStepAndDivergedRankRank")));
}

}  // namespace
}  // namespace wsd
