// The Prior interface through the executable: train a gaussian prior, sample from it, and check
// the sign of an imported network.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/checkpoint/checkpoint.hpp"
#include "core/config/config_loader.hpp"
#include "core/io/h5_file.hpp"
#include "tests/support/process.hpp"
#include "tests/support/synthetic_idx.hpp"
#include "tests/support/test_data.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

test::ProcessResult wsdiff(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env = {}) {
  return test::run_wsdiff(args, env);
}

fs::path temp(const std::string& name) { return fs::path(::testing::TempDir()) / name; }

struct Dataset {
  fs::path dir;
  torch::Tensor train;  // uint8 [n, s, s]
};

Dataset make_dataset(const std::string& name, int64_t n_train, int64_t n_test, int64_t size) {
  Dataset d{temp(name), {}};
  fs::remove_all(d.dir);
  fs::create_directories(d.dir);
  d.train = test::write_blob_idx_images(d.dir / "train-images-idx3-ubyte", n_train, size, 1);
  test::write_blob_idx_images(d.dir / "t10k-images-idx3-ubyte", n_test, size, 2);
  return d;
}

// The data section IDX reading gives: bytes / 127.5 - 1.
torch::Tensor in_image_units(const torch::Tensor& bytes) {
  return bytes.to(torch::kFloat64) / 127.5 - 1.0;
}

constexpr int64_t kSize = 16, kLimit = 200;

// 200 images in batches of 64: three full batches and a remainder of 8 that must count too.
std::vector<std::string> gaussian_train_args(const Dataset& data, const fs::path& out) {
  return {"train",
          "--out",
          out.string(),
          "--set",
          "model.type=gaussian",
          "--set",
          "data.path=" + data.dir.string(),
          "--set",
          "data.image_size=" + std::to_string(kSize),
          "--set",
          "model.image_size=" + std::to_string(kSize),
          "--set",
          "data.limit=" + std::to_string(kLimit),
          "--set",
          "train.batch_size=64",
          "--set",
          "train.device=cpu"};
}

TEST(CliPrior, TrainsAGaussianPriorAndSamplesFromIt) {
  const Dataset data = make_dataset("prior_data", 256, 16, kSize);
  const fs::path run = temp("gaussian_run");
  fs::remove_all(run);
  auto r = wsdiff(gaussian_train_args(data, run));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // data.limit 200 of 256 images, every one counted once.
  EXPECT_NE(r.err.find("gaussian statistics: 200/200 images"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(run / "config.yaml"));
  EXPECT_TRUE(fs::exists(run / "metrics.jsonl"));
  const fs::path ckpt = run / "checkpoints" / "last.h5";
  ASSERT_TRUE(fs::exists(ckpt));

  const Checkpoint checkpoint = load_checkpoint(ckpt.string());
  EXPECT_EQ(checkpoint.model_info.type, ModelType::kGaussian);
  EXPECT_EQ(checkpoint.model_info.parameterisation_name(), "exact");
  EXPECT_EQ(parse_config(checkpoint.config_yaml, "embedded").model.type, ModelType::kGaussian);
  const h5::File file = h5::File::open_read(ckpt.string());
  EXPECT_EQ(file.read_tensor("/model/count").item<int64_t>(), kLimit);
  // Every one of the first data.limit images counted exactly once: the mean image is exact up
  // to the loader's float32 images (rounding <= 6e-8 per pixel in [-1, 1]).
  const auto images = in_image_units(data.train.slice(0, 0, kLimit));
  const auto mean_image = file.read_tensor("/model/mean");
  ASSERT_EQ(mean_image.sizes(), (std::vector<int64_t>{1, kSize, kSize}));
  EXPECT_LT((mean_image[0] - images.mean(0)).abs().max().item<double>(), 1e-7);
  const auto power = file.read_tensor("/model/power_spectrum");
  ASSERT_EQ(power.sizes(), (std::vector<int64_t>{kSize, kSize / 2 + 1}));

  const fs::path samples = temp("gaussian_samples");
  r = wsdiff({"sample", "--checkpoint", ckpt.string(), "--n", "4", "--steps", "50", "--device",
              "cpu", "--out", samples.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("gaussian (exact)"), std::string::npos) << r.err;
  const auto x = h5::File::open_read((samples / "samples.h5").string()).read_tensor("/samples");
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{4, 1, kSize, kSize}));
  ASSERT_TRUE(torch::isfinite(x).all().item<bool>());

  // Tolerance. A sample's pixel mean is its orthonormal DC coefficient over sqrt(HW); under the
  // prior N(mu, C) that coefficient has variance P(0) (the stored spectrum at DC), so the mean
  // of 4 exact samples has std sqrt(P(0) / (4 HW)) about the data mean. The scalar recursion of
  // 50 Euler steps on the DC mode (linear, Fourier-diagonal) gives for this data a gain ~25%
  // above the exact flow's and a bias of ~0.3 of that std; 5 std of the exact law therefore
  // still leaves more than 3.5 std of the sampler's.
  const double data_mean = images.mean().item<double>();
  const double dc_std = std::sqrt(power[0][0].item<double>() / (4.0 * kSize * kSize));
  const double tolerance = 5.0 * dc_std;
  const double sample_mean = x.mean().item<double>();
  std::printf("[ sample   ] pixel mean %.4f, data mean %.4f, tolerance %.4f\n", sample_mean,
              data_mean, tolerance);
  ASSERT_GT(dc_std, 0.0);
  ASSERT_LT(tolerance, 0.25 * std::abs(data_mean));  // the check can tell data from noise
  EXPECT_NEAR(sample_mean, data_mean, tolerance);
}

TEST(CliPrior, GaussianTrainingRefusesDistributedRuns) {
  const Dataset data = make_dataset("prior_dist_data", 64, 16, kSize);
  const fs::path run = temp("gaussian_dist_run");
  const auto r = wsdiff(gaussian_train_args(data, run), {{"WORLD_SIZE", "2"},
                                                         {"RANK", "0"},
                                                         {"LOCAL_RANK", "0"},
                                                         {"MASTER_ADDR", "127.0.0.1"},
                                                         {"MASTER_PORT", "29500"}});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("model.type gaussian"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(run / "checkpoints" / "last.h5"));
}

TEST(CliPrior, ImportChecksTheSignOfUntrainedWeights) {
  // The fixture network sees 32 x 32 gray images.
  const Dataset data = make_dataset("prior_sign_data", 16, 16, 32);
  const auto ckpt = temp("sign_checked.h5").string();
  const auto r =
      wsdiff({"import", "--from", test::reference_fixture(), "--out", ckpt, "--check-sign", "--n",
              "16", "--device", "cpu", "--set", "data.path=" + data.dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("mean MSE sign +1"), std::string::npos) << r.err;
  // Untrained weights denoise under neither sign: the configured sign stays, with a warning.
  EXPECT_NE(r.err.find("sign check inconclusive"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("score sign +1 kept"), std::string::npos) << r.err;
  const Checkpoint checkpoint = load_checkpoint(ckpt);
  EXPECT_EQ(checkpoint.model_info.score_sign, 1);
  EXPECT_EQ(parse_config(checkpoint.config_yaml, "embedded").model.score_sign, 1);
}

TEST(CliPrior, SignCheckNeedsTheConfiguredData) {
  const auto r =
      wsdiff({"import", "--from", test::reference_fixture(), "--out", temp("no_data.h5").string(),
              "--check-sign", "--set", "data.path=" + temp("no_such_dataset").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(fs::exists(temp("no_data.h5")));
}

}  // namespace
}  // namespace wsd
