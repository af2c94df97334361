// import -> predict -> sample and noise through the executable, on the reference fixture.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <wsd_source_dir.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/io/h5_file.hpp"
#include "tests/support/process.hpp"
#include "tests/support/synthetic_idx.hpp"
#include "tests/support/test_data.hpp"
#include "tests/support/tiny_run.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

test::ProcessResult wsdiff(const std::vector<std::string>& args) { return test::run_wsdiff(args); }

std::string fixture() { return test::reference_fixture(); }

fs::path temp(const std::string& name) { return fs::path(::testing::TempDir()) / name; }

// The fixture's inputs in the layout predict reads.
std::string write_predict_input() {
  const auto path = temp("predict_in.h5").string();
  const h5::File ref = h5::File::open_read(fixture());
  h5::File in = h5::File::create(path);
  in.write_tensor("/x", ref.read_tensor("/input/x"));
  in.write_tensor("/t", ref.read_tensor("/input/t"));
  return path;
}

double max_error_against_fixture(const std::string& predicted) {
  const auto y = h5::File::open_read(predicted).read_tensor("/y");
  const auto expected = h5::File::open_read(fixture()).read_tensor("/output/y");
  return (y - expected).abs().max().item<double>();
}

std::string import_fixture() {
  const auto ckpt = temp("imported.h5").string();
  const auto r = wsdiff({"import", "--from", fixture(), "--out", ckpt});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return ckpt;
}

TEST(CliModel, ImportedFixturePredictsTheReferenceOutput) {
  const std::string ckpt = import_fixture();
  const auto out = temp("predict_out.h5").string();
  const auto r =
      wsdiff({"predict", "--checkpoint", ckpt, "--input", write_predict_input(), "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(max_error_against_fixture(out), 1e-4);
  // Beside the raw output: the vp schedule of the imported config (beta 0.1 to 20) in closed
  // form, and E[x_0 | x_t] and the whitened score tied by s_W = (beta_t / sigma_t^2)
  // (alpha_t x0 - x_t), the relation every parameterisation shares.
  const h5::File file = h5::File::open_read(out);
  const h5::File in = h5::File::open_read(write_predict_input());
  const auto t = in.read_tensor("/t").to(torch::kFloat64);
  const auto x = in.read_tensor("/x").to(torch::kFloat64);
  const auto integrated = 0.1 * t + 0.5 * (20.0 - 0.1) * t * t;
  const auto alpha = torch::exp(-0.5 * integrated);
  EXPECT_LT((file.read_tensor("/alpha") - alpha).abs().max().item<double>(), 1e-12);
  EXPECT_LT((file.read_tensor("/sigma") - torch::sqrt(-torch::expm1(-integrated)))
                .abs()
                .max()
                .item<double>(),
            1e-12);
  const auto view = [](const torch::Tensor& v) { return v.view({-1, 1, 1, 1}); };
  const auto sigma = file.read_tensor("/sigma");
  const auto beta = 0.1 + t * (20.0 - 0.1);
  const auto x0 = file.read_tensor("/x0").to(torch::kFloat64);
  const auto score = file.read_tensor("/score").to(torch::kFloat64);
  const auto expected = view(beta / sigma.square()) * (view(alpha) * x0 - x);
  EXPECT_LT((score - expected).abs().max().item<double>(),
            1e-3 * expected.abs().max().item<double>());
}

// The authors' training script saves {'model_state_dict': ...} from a torch.compile'd model.
// The checkpoint format promises readability with plain h5py, no project code.
TEST(CliModel, CheckpointIsReadableWithH5py) {
  const std::string ckpt = import_fixture();
  test::ProcessSpec spec;
  spec.argv = {std::string(WSD_SOURCE_DIR) + "/.venv/bin/python", "-c",
               "import h5py, zlib; f = h5py.File('" + ckpt +
                   "', 'r'); w = f['model/final.weight']; "
                   "print(f.attrs['format'], f.attrs['format_version'], f['model'].attrs['type'], "
                   "w.shape, len(f['model']), 'config' in f.attrs, "
                   "zlib.crc32(w[()].tobytes()) == w.attrs['crc32'])"};
  const auto r = test::run_process(spec);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The per-tensor checksum is zlib's CRC-32 of the stored bytes: checkable without wsdiff.
  EXPECT_EQ(r.out, "wsdiff-checkpoint 2 ddpm_unet (1, 32, 3, 3) 168 True True\n");
}

TEST(CliModel, ImportsAPytorchCheckpointWithWrapperPrefixes) {
  const std::string python = std::string(WSD_SOURCE_DIR) + "/.venv/bin/python";
  ASSERT_TRUE(fs::exists(python)) << "the project venv's torch writes the test's .pth file";
  const auto pth = temp("authors.pth").string();
  const std::string make_pth =
      "import h5py, torch; f = h5py.File('" + fixture() +
      "', 'r'); "
      "sd = {'_orig_mod.' + k: torch.tensor(f['state_dict'][k][()]) for k in f['state_dict']}; "
      "torch.save({'model_state_dict': sd, 'epoch': 3}, '" +
      pth + "')";
  test::ProcessSpec spec;
  spec.argv = {python, "-c", make_pth};
  const auto made = test::run_process(spec);
  ASSERT_EQ(made.exit_code, 0) << made.err;

  const auto ckpt = temp("imported_pth.h5").string();
  auto r = wsdiff({"import", "--from", pth, "--out", ckpt, "--set", "model.n_channels=32", "--set",
                   "model.ch_mults=[1,2,2]", "--set", "model.is_attn=[false,false,true]", "--set",
                   "model.n_blocks=1", "--set", "model.dropout=0", "--set",
                   "model.image_channels=1", "--set", "model.score_sign=-1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The weights are the file's, as float32, under the keys without the wrapper prefix.
  const h5::File source = h5::File::open_read(fixture());
  const h5::File imported = h5::File::open_read(ckpt);
  const auto keys = source.list("/state_dict");
  EXPECT_EQ(imported.list("/model").size(), keys.size());
  for (const auto& key : keys) {
    EXPECT_TRUE(torch::equal(imported.read_tensor("/model/" + key),
                             source.read_tensor("/state_dict/" + key).to(torch::kFloat32)))
        << key;
  }
  const auto out = temp("predict_pth.h5").string();
  r = wsdiff({"predict", "--checkpoint", ckpt, "--input", write_predict_input(), "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(max_error_against_fixture(out), 1e-4);
  r = wsdiff({"info", ckpt});
  EXPECT_NE(r.out.find("score sign -1"), std::string::npos) << r.out;
}

TEST(CliModel, ImportErrorsAreOneLineWithExitTwo) {
  auto r =
      wsdiff({"import", "--from", temp("missing.pth").string(), "--out", temp("x.h5").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing.pth"), std::string::npos) << r.err;

  const auto junk = temp("junk.pth");
  std::ofstream(junk) << "not a pickle";
  r = wsdiff({"import", "--from", junk.string(), "--out", temp("y.h5").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("junk.pth"), std::string::npos) << r.err;

  // Shape mismatch between the config and the weights names the key.
  const std::string python = std::string(WSD_SOURCE_DIR) + "/.venv/bin/python";
  const auto pth = temp("small.pth").string();
  test::ProcessSpec spec;
  spec.argv = {python, "-c",
               "import torch; torch.save({'image_proj.weight': torch.zeros(3)}, '" + pth + "')"};
  ASSERT_EQ(test::run_process(spec).exit_code, 0);
  r = wsdiff({"import", "--from", pth, "--out", temp("z.h5").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("small.pth: missing key"), std::string::npos) << r.err;
}

TEST(CliModel, SamplesDependOnlyOnTheirOwnSeed) {
  const std::string ckpt = import_fixture();
  const auto two = temp("samples_two"), one = temp("samples_one");
  auto r = wsdiff({"sample", "--checkpoint", ckpt, "--n", "2", "--steps", "3", "--seed", "7",
                   "--out", two.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = wsdiff({"sample", "--checkpoint", ckpt, "--n", "1", "--steps", "3", "--seed", "7", "--out",
              one.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto a = h5::File::open_read((two / "samples.h5").string()).read_tensor("/samples");
  const auto b = h5::File::open_read((one / "samples.h5").string()).read_tensor("/samples");
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{2, 1, 32, 32}));
  EXPECT_TRUE(torch::allclose(a[0], b[0], 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(a[0], a[1]));
  EXPECT_TRUE(fs::exists(two / "samples.png"));
  // In batches of 2 the third image (seed 9) is the one sampled alone from seed 9.
  const auto three = temp("samples_three"), ninth = temp("samples_ninth");
  r = wsdiff({"sample", "--checkpoint", ckpt, "--n", "3", "--steps", "3", "--seed", "7", "--set",
              "sampler.batch_size=2", "--out", three.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = wsdiff({"sample", "--checkpoint", ckpt, "--n", "1", "--steps", "3", "--seed", "9", "--out",
              ninth.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto c = h5::File::open_read((three / "samples.h5").string()).read_tensor("/samples");
  const auto d = h5::File::open_read((ninth / "samples.h5").string()).read_tensor("/samples");
  ASSERT_EQ(c.size(0), 3);
  EXPECT_TRUE(torch::allclose(c[0], b[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(c[2], d[0], 1e-5, 1e-5));
}

TEST(CliModel, SampleCountsOutOfRangeAreOneLineUsageErrors) {
  const std::string ckpt = import_fixture();
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--steps", "0"}, {"--steps", "-3"}, {"--n", "0"}, {"--n", "2000000000"}}) {
    const auto r = wsdiff(
        {"sample", "--checkpoint", ckpt, flag, value, "--out", temp("never_written").string()});
    EXPECT_EQ(r.exit_code, 2) << flag << " " << value;
    EXPECT_LT(r.err.size(), 200u) << r.err;
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(temp("never_written") / "samples.h5"));
}

// A flow-matching prior trained and sampled through the executable, by a sampler of the common
// contract (the flow network seen as a VP prior).
TEST(CliModel, FlowMatchingPriorTrainsAndSamples) {
  const fs::path data = test::write_tiny_dataset(temp("flow_cli_data"));
  const auto run = temp("flow_cli_run");
  fs::remove_all(run);
  auto r = wsdiff(test::tiny_train_args(run, data, 2, {"model.process=flow"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = temp("flow_cli_samples");
  r = wsdiff({"sample", "--checkpoint", (run / "checkpoints" / "last.h5").string(), "--n", "3",
              "--steps", "4", "--set", "sampler.method=exponential", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const h5::File f = h5::File::open_read((out / "samples.h5").string());
  EXPECT_EQ(f.attr_string("/", "sampler"), "exponential");
  const auto samples = f.read_tensor("/samples");
  EXPECT_EQ(samples.sizes(), (std::vector<int64_t>{3, 1, 8, 8}));
  EXPECT_TRUE(torch::isfinite(samples).all().item<bool>());
}

TEST(CliModel, NoiseWritesSamplesSpectrumAndPicture) {
  const auto out = temp("noise.h5").string(), png = temp("noise.png").string();
  const auto r =
      wsdiff({"noise", "--n", "6", "--out", out, "--png", png, "--set", "noise.family=power_law"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const h5::File f = h5::File::open_read(out);
  EXPECT_EQ(f.read_tensor("/noise").sizes(), (std::vector<int64_t>{6, 1, 32, 32}));
  const auto psd = f.read_tensor("/psd");
  EXPECT_EQ(psd.sizes(), (std::vector<int64_t>{32, 17}));
  EXPECT_GT(psd[0][1].item<double>(), psd[16][16].item<double>());  // 1/f: low frequencies dominate
  EXPECT_GT(fs::file_size(png), 100u);
}

}  // namespace
}  // namespace wsd
