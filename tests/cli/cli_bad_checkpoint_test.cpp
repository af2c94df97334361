// A checkpoint whose weights hold NaN is refused with the tensor's name, before any sampling.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <limits>

#include "core/checkpoint/checkpoint.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_data.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

TEST(CliBadCheckpoint, NonFiniteWeightsAreAnInputErrorNamingTheTensor) {
  const fs::path dir = fs::path(::testing::TempDir());
  const auto good = (dir / "finite.h5").string();
  auto r = test::run_wsdiff({"import", "--from", test::reference_fixture(), "--out", good});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Checkpoint c = load_checkpoint(good);
  ASSERT_FALSE(c.model.empty());
  auto& [name, tensor] = c.model[c.model.size() / 2];
  tensor = tensor.clone();
  tensor.view(-1)[0] = std::numeric_limits<float>::quiet_NaN();
  const auto bad = (dir / "nan_weight.h5").string();
  save_checkpoint(c, bad);

  const auto out = dir / "nan_samples";
  r = test::run_wsdiff({"sample", "--checkpoint", bad, "--n", "1", "--steps", "2", "--raw-weights",
                        "--out", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("weight '" + name + "'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("NaN or Inf"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out / "samples.h5"));
  // info verifies what sample verifies: the same refusal, and a tensor of the wrong shape too.
  r = test::run_wsdiff({"info", bad});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("weight '" + name + "'"), std::string::npos) << r.err;
  Checkpoint reshaped = load_checkpoint(good);
  reshaped.model[0].second = torch::zeros({3});
  const auto wrong = (dir / "wrong_shape.h5").string();
  save_checkpoint(reshaped, wrong);
  r = test::run_wsdiff({"info", wrong});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find(reshaped.model[0].first), std::string::npos) << r.err;
  r = test::run_wsdiff({"info", good});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("loads as prior  yes"), std::string::npos) << r.out;
  // The same file with finite weights samples.
  r = test::run_wsdiff({"sample", "--checkpoint", good, "--n", "1", "--steps", "2", "--raw-weights",
                        "--out", (dir / "finite_samples").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace wsd
