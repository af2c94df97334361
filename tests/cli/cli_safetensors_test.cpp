// Priors in the safetensors format: `wsdiff export --format safetensors` writes what the Python
// safetensors package loads under the authors' keys, and `wsdiff import` turns it (or a
// third-party safetensors state dict) back into a checkpoint that predicts the same.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <wsd_source_dir.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/checkpoint/checkpoint.hpp"
#include "core/io/h5_file.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/venv_python.hpp"
#include "tests/support/test_data.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

std::string shipped_prior() { return std::string(WSD_SOURCE_DIR) + "/models/fashion_mnist_ws.h5"; }

// The weights a prior samples with: what export writes.
const StateDict& sampling_weights(const Checkpoint& c) { return c.ema.empty() ? c.model : c.ema; }

std::string export_safetensors(const fs::path& dir) {
  const std::string out = (dir / "prior.safetensors").string();
  const auto r = test::run_wsdiff(
      {"export", "--checkpoint", shipped_prior(), "--out", out, "--format", "safetensors"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

// /y of `wsdiff predict` on a fixed input of the shipped prior's shape.
torch::Tensor predict(const std::string& checkpoint, const fs::path& dir) {
  const std::string in = (dir / "predict_in.h5").string(), out = (dir / "predict_out.h5").string();
  {
    torch::manual_seed(11);
    h5::File file = h5::File::create(in);
    file.write_tensor("/x", torch::randn({2, 1, 32, 32}));
    file.write_tensor("/t", torch::tensor({0.3, 0.8}, torch::kFloat64));
  }
  const auto r =
      test::run_wsdiff({"predict", "--checkpoint", checkpoint, "--input", in, "--out", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return h5::File::open_read(out).read_tensor("/y");
}

TEST(CliSafetensors, ExportedPriorLoadsInPythonWithTheAuthorsKeysAndValues) {
  const fs::path dir = test::fresh_dir("safetensors_export");
  const std::string st = export_safetensors(dir);
  const auto r = test::run_venv_python(
      "import json, h5py, numpy as np\n"
      "from safetensors import safe_open\n"
      "from safetensors.torch import load_file\n"
      "t = load_file('''" +
      st +
      "''')\n"
      "f = h5py.File('''" +
      shipped_prior() +
      "''', 'r')\n"
      "g = f['ema'] if 'ema' in f and len(f['ema']) else f['model']\n"
      "equal = all(np.array_equal(t[k].numpy(), g[k][()]) for k in t)\n"
      "with safe_open('''" +
      st +
      "''', 'pt') as s:\n"
      "    m = s.metadata()\n"
      "card = json.loads(m['wsdiff.model_card'])\n"
      "print(m['format'], m['wsdiff.weights'], card['weights'], m['wsdiff.model.type'],\n"
      "      m['wsdiff.model.parameterisation'], m['wsdiff.model.score_sign'],\n"
      "      m['wsdiff.config'] == f.attrs['config'], equal)\n"
      "for k in t:\n"
      "    print(k)\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string summary;
  std::getline(lines, summary);
  // The shipped prior holds the EMA weights of its run (an export keeps what the source says).
  EXPECT_EQ(summary, "pt ema ema ddpm_unet edm 1 True True");
  std::set<std::string> keys;
  for (std::string key; std::getline(lines, key);) keys.insert(key);
  std::set<std::string> expected;
  const Checkpoint source = load_checkpoint(shipped_prior());
  for (const auto& [key, tensor] : sampling_weights(source)) {
    expected.insert(key);
  }
  EXPECT_EQ(keys, expected);
  EXPECT_GT(keys.size(), 100u);
}

TEST(CliSafetensors, ExportThenImportGivesACheckpointThatPredictsTheSame) {
  const fs::path dir = test::fresh_dir("safetensors_round_trip_cli");
  const std::string st = export_safetensors(dir);
  const std::string back = (dir / "back.h5").string();
  // No --config: the file's metadata carries the config and the model info.
  const auto r = test::run_wsdiff({"import", "--from", st, "--out", back});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const Checkpoint source = load_checkpoint(shipped_prior());
  const Checkpoint imported = load_checkpoint(back);
  EXPECT_EQ(imported.config_yaml, source.config_yaml);
  EXPECT_EQ(imported.model_info.parameterisation_name(), source.model_info.parameterisation_name());
  EXPECT_EQ(imported.model_info.score_sign, source.model_info.score_sign);
  EXPECT_EQ(imported.state.step, source.state.step);
  EXPECT_EQ(imported.provenance_json, source.provenance_json);
  const StateDict& weights = sampling_weights(source);
  ASSERT_EQ(imported.model.size(), weights.size());
  for (size_t k = 0; k < weights.size(); ++k) {
    EXPECT_EQ(imported.model[k].first, weights[k].first);
    EXPECT_TRUE(torch::equal(imported.model[k].second, weights[k].second)) << weights[k].first;
  }

  const torch::Tensor original = predict(shipped_prior(), dir);
  const torch::Tensor round_trip = predict(back, dir);
  ASSERT_EQ(original.sizes(), round_trip.sizes());
  EXPECT_GT(original.abs().max().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(original, round_trip));
}

// A safetensors state dict from elsewhere (no wsdiff metadata, wrapper prefixes) reads like a
// .pth: the config supplies the network shape.
TEST(CliSafetensors, ThirdPartyFileImportsLikeAPthStateDict) {
  const fs::path dir = test::fresh_dir("safetensors_third_party");
  const std::string st = (dir / "authors.safetensors").string();
  const auto made = test::run_venv_python(
      "import h5py, torch\n"
      "from safetensors.torch import save_file\n"
      "f = h5py.File('''" +
      test::reference_fixture() +
      "''', 'r')\n"
      "sd = {'module.' + k: torch.tensor(f['state_dict'][k][()]) for k in f['state_dict']}\n"
      "save_file(sd, '''" +
      st + "''')\n");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string ckpt = (dir / "imported.h5").string();
  const auto r = test::run_wsdiff(
      {"import", "--from", st, "--out", ckpt, "--set", "model.n_channels=32", "--set",
       "model.ch_mults=[1,2,2]", "--set", "model.is_attn=[false,false,true]", "--set",
       "model.n_blocks=1", "--set", "model.dropout=0", "--set", "model.image_channels=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const h5::File fixture = h5::File::open_read(test::reference_fixture());
  const Checkpoint imported = load_checkpoint(ckpt);
  EXPECT_EQ(imported.model.size(), fixture.list("/state_dict").size());
  for (const auto& [key, tensor] : imported.model) {
    EXPECT_TRUE(torch::equal(tensor, fixture.read_tensor("/state_dict/" + key).to(torch::kFloat32)))
        << key;
  }
}

TEST(CliSafetensors, ABrokenFileIsOneLineWithExitTwo) {
  const fs::path dir = test::fresh_dir("safetensors_broken");
  const std::string st = export_safetensors(dir);
  const std::string bytes = test::read_text(st);
  const std::string cut = (dir / "cut.safetensors").string();
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const auto r = test::run_wsdiff({"import", "--from", cut, "--out", (dir / "x.h5").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("cut.safetensors' is not a readable safetensors file"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "x.h5"));

  const auto bad_format = test::run_wsdiff({"export", "--checkpoint", shipped_prior(), "--out",
                                            (dir / "y").string(), "--format", "onnx"});
  EXPECT_EQ(bad_format.exit_code, 2) << bad_format.err;
  EXPECT_FALSE(fs::exists(dir / "y"));
}

}  // namespace
}  // namespace wsd
