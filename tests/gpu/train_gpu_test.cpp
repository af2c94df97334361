// The training step on a GPU: bf16 autocast inside the network only, channels-last, and the
// device-gated optimizer. Skips without a CUDA build or a visible GPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/autocast_mode.h>

#include "core/config/config_loader.hpp"
#include "core/util/device.hpp"
#include "train/gated_adam.hpp"
#include "train/train_step.hpp"

namespace wsd {
namespace {

Config small_config(const std::vector<std::string>& overrides) {
  std::vector<std::string> all = {"data.image_size=16",         "model.image_size=16",
                                  "model.n_channels=32",        "model.ch_mults=[1,2]",
                                  "model.is_attn=[false,true]", "model.n_blocks=1",
                                  "model.dropout=0.0",          "train.batch_size=8"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_config("", all);
}

std::shared_ptr<Communicator> single_process() {
  return make_communicator(DistEnv{}, torch::kCPU, std::chrono::seconds(10));
}

TEST(GpuTrain, Bf16ChannelsLastStepKeepsFp32MasterWeights) {
  if (!cuda_usable()) GTEST_SKIP() << "no CUDA build or no GPU visible";
  const torch::Device device(torch::kCUDA, 0);
  TrainStep step(
      small_config({"train.precision=bf16", "train.channels_last=true", "train.grad_accum=2"}),
      device, single_process());
  step.network()->train();
  const auto batch = torch::rand({8, 1, 16, 16}) * 2 - 1;
  StepResult r;
  for (int64_t i = 0; i < 3; ++i) r = step.run([&] { return batch; }, i, 1e-3);
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCUDA)) << "autocast leaked out of the step";
  EXPECT_EQ(r.loss.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(std::isfinite(r.loss.item<double>()));
  EXPECT_EQ(r.applied.item<float>(), 1.0f);
  for (const auto& p : step.network()->parameters()) {
    EXPECT_EQ(p.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(p.is_cuda());
    if (p.dim() == 4) {
      EXPECT_TRUE(p.is_contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  EXPECT_EQ(step.optimizer().step_count().item<double>(), 3.0);
}

TEST(GpuTrain, GatedAdamMatchesTorchAdamOnTheDevice) {
  if (!cuda_usable()) GTEST_SKIP() << "no CUDA build or no GPU visible";
  const torch::Device device(torch::kCUDA, 0);
  torch::manual_seed(3);
  auto ours = torch::randn({64, 33}, device).requires_grad_();
  auto theirs = ours.detach().clone().requires_grad_();
  GatedAdam gated({ours}, {});
  torch::optim::Adam reference({theirs}, torch::optim::AdamOptions(1e-2));
  const auto one = torch::ones({}, device);
  for (int i = 0; i < 5; ++i) {
    const auto g = torch::randn({64, 33}, device);
    gated.zero_grad();
    ours.mutable_grad().copy_(g);
    theirs.mutable_grad() = g.clone();
    gated.step(1e-2, one);
    reference.step();
  }
  EXPECT_TRUE(torch::allclose(ours, theirs, 1e-5, 1e-6));
  // A gated step with NaN gradients leaves the parameters alone.
  const auto before = ours.detach().clone();
  ours.mutable_grad().fill_(std::numeric_limits<float>::quiet_NaN());
  gated.step(1e-2, torch::zeros({}, device));
  EXPECT_TRUE(torch::equal(ours, before));
}

}  // namespace
}  // namespace wsd
