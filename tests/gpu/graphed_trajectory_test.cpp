// sampler.cuda_graph on a GPU: a recorded trajectory replays new inputs exactly as it would run
// them eagerly, and a graphed posterior solve matches the eager one. Skips without a CUDA build
// or a visible GPU.
#include "infer/solve/graphed_trajectory.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/config/config_loader.hpp"
#include "core/model/score_model.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/device.hpp"
#include "infer/solve/posterior_solver.hpp"
#include "operators/operator_factory.hpp"

namespace wsd {
namespace {

TEST(GpuGraphedTrajectory, ReplaysNewInputsAndRecordsOncePerShape) {
  if (!cuda_usable()) GTEST_SKIP() << "no CUDA build or no GPU visible";
  const torch::Device device(torch::kCUDA, 0);
  // Many small steps, as a sampler's loop is.
  const auto trajectory = [](const torch::Tensor& x0, const torch::Tensor& y) {
    auto x = x0.clone();
    for (int i = 0; i < 50; ++i) x = 0.98 * x + 0.02 * torch::tanh(y + x);
    return x;
  };
  GraphedTrajectory graphed(trajectory, trajectory);
  torch::NoGradGuard no_grad;
  for (const int64_t rows : {4, 4, 3}) {
    const auto x = torch::randn({rows, 1, 8, 8}, device);
    const auto y = torch::randn({rows, 1, 8, 8}, device);
    const auto replayed = graphed(x, y);
    EXPECT_LT((replayed - trajectory(x, y)).abs().max().item<double>(), 1e-6) << rows;
  }
  EXPECT_EQ(graphed.recordings(), 2u);
}

TEST(GpuGraphedTrajectory, GraphedSolveMatchesTheEagerOne) {
  if (!cuda_usable()) GTEST_SKIP() << "no CUDA build or no GPU visible";
  const torch::Device device(torch::kCUDA, 0);
  const Config config = load_config(
      "", {"model.image_size=16", "model.image_channels=1", "model.n_channels=32",
           "model.ch_mults=[1,2]", "model.is_attn=[false,true]", "model.n_blocks=1",
           "model.parameterisation=edm", "task.operator=gaussian_blur", "task.blur_sigma=1.5"});
  torch::manual_seed(5);
  ScoreModel prior = score_model_of(make_network(config.model), config);
  prior.network()->to(device);
  prior.network()->eval();
  auto op = make_operator(config.task, {1, 16, 16});
  op->to(device);
  const PosteriorProblem problem{
      op, torch::rand({5, 1, 16, 16}) * 2 - 1, {1, 2, 3, 4, 5}, {1, 16, 16}};
  for (const auto method : {SamplerMethod::kEuler, SamplerMethod::kDpmSolver2m}) {
    SamplerConfig sampler;
    sampler.method = method;
    sampler.likelihood = LikelihoodType::kWs;
    sampler.steps = 20;
    sampler.batch_size = 2;  // batches of 2, 2 and 1: two recordings, one replayed twice
    const PosteriorSolver eager{prior, sampler, device};
    sampler.cuda_graph = true;
    const PosteriorSolver graphed{prior, sampler, device};
    const auto a = eager.at_weight(0.5).solve(problem), b = graphed.at_weight(0.5).solve(problem);
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-4) << enum_name(method);
  }
}

}  // namespace
}  // namespace wsd
