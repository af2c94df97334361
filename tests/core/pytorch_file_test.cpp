// torch.save files read without Python (core/io/pytorch_file.hpp): real files written by the
// project venv's torch at test time, read tensor for tensor; a pickle that names anything else
// is refused and nothing in it runs.
#include "core/io/pytorch_file.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/util/errors.hpp"
#include "tests/support/files.hpp"
#include "tests/support/venv_python.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

void run_python(const std::string& code) {
  const auto r = test::run_venv_python(code);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::string error_of(const std::string& path) {
  try {
    read_pytorch_state_dict(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

const torch::Tensor* find(const StateDict& state, const std::string& key) {
  for (const auto& [k, t] : state) {
    if (k == key) return &t;
  }
  return nullptr;
}

// Strided views, shared storages, storage offsets, several dtypes and a Parameter, in the
// dict layout of the authors' training checkpoints.
TEST(PytorchFile, ReadsTheTensorsTorchSaveWrote) {
  const fs::path dir = test::fresh_dir("pytorch_file_read");
  const std::string pth = (dir / "ckpt.pth").string();
  run_python(
      "import torch\n"
      "base = torch.arange(20, dtype=torch.float32)\n"
      "sd = {'module.t': torch.arange(12, dtype=torch.float64).reshape(3, 4).t(),\n"
      "      'view': base[5:11].reshape(2, 3), 'whole': base,\n"
      "      'half': torch.tensor([0.5, -2.0], dtype=torch.float16),\n"
      "      'bf16': torch.tensor([1.5, 3.0], dtype=torch.bfloat16),\n"
      "      'count': torch.tensor(7), 'empty': torch.zeros(0, 4),\n"
      "      'param': torch.nn.Parameter(torch.full((2, 2), 0.25))}\n"
      "torch.save({'model_state_dict': sd, 'epoch': 3, 'lr': 1e-4, 'hist': [1, 2.5, None],\n"
      "            'optimizer_state_dict': {'state': {}, 'param_groups': [{'lr': 0.1}]}},\n"
      "           '''" +
      pth + "''')\n");
  const StateDict state = read_pytorch_state_dict(pth);
  std::vector<std::string> keys;
  for (const auto& [k, t] : state) {
    keys.push_back(k);
    EXPECT_EQ(t.scalar_type(), torch::kFloat32) << k;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"module.t", "view", "whole", "half", "bf16", "count",
                                            "empty", "param"}));
  const auto base = torch::arange(20, torch::kFloat32);
  EXPECT_TRUE(torch::equal(*find(state, "module.t"),
                           torch::arange(12, torch::kFloat32).reshape({3, 4}).t()));
  EXPECT_TRUE(torch::equal(*find(state, "view"), base.slice(0, 5, 11).reshape({2, 3})));
  EXPECT_TRUE(torch::equal(*find(state, "whole"), base));
  EXPECT_TRUE(torch::equal(*find(state, "half"), torch::tensor({0.5f, -2.0f})));
  EXPECT_TRUE(torch::equal(*find(state, "bf16"), torch::tensor({1.5f, 3.0f})));
  EXPECT_TRUE(torch::equal(*find(state, "count"), torch::tensor(7.0f)));
  EXPECT_EQ(find(state, "empty")->sizes(), (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(torch::equal(*find(state, "param"), torch::full({2, 2}, 0.25f)));
}

TEST(PytorchFile, AcceptsAStateDictEntryOrAFlatDict) {
  const fs::path dir = test::fresh_dir("pytorch_file_layouts");
  const std::string nested = (dir / "nested.pt").string(), flat = (dir / "flat.ckpt").string();
  run_python(
      "import torch, collections\n"
      "torch.save({'state_dict': {'w': torch.ones(2)}, 'step': 5}, '''" +
      nested +
      "''')\n"
      "m = torch.nn.Linear(3, 2)\n"
      "torch.nn.init.constant_(m.weight, 0.5); torch.nn.init.constant_(m.bias, -1.0)\n"
      "torch.save(m.state_dict(), '''" +
      flat + "''')\n");
  const StateDict a = read_pytorch_state_dict(nested);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].first, "w");
  EXPECT_TRUE(torch::equal(a[0].second, torch::ones(2)));
  const StateDict b = read_pytorch_state_dict(flat);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].first, "weight");
  EXPECT_TRUE(torch::equal(b[0].second, torch::full({2, 3}, 0.5f)));
  EXPECT_EQ(b[1].first, "bias");
  EXPECT_TRUE(torch::equal(b[1].second, torch::full({2}, -1.0f)));
}

TEST(PytorchFile, APickleNamingAnyOtherGlobalIsRefusedAndNothingRuns) {
  const fs::path dir = test::fresh_dir("pytorch_file_crafted");
  const fs::path marker = dir / "code_ran";
  const std::string pth = (dir / "crafted.pth").string();
  run_python(test::crafted_pickle_code(pth, marker));
  const std::string message = error_of(pth);
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_NE(message.find("'" + pth + "'"), std::string::npos) << message;
  EXPECT_NE(message.find("refused: reading it needs unsafe unpickling"), std::string::npos)
      << message;
  EXPECT_NE(message.find("could run code"), std::string::npos) << message;
  EXPECT_NE(message.find("open"), std::string::npos) << message;  // the global it names
  EXPECT_NE(message.find("torch.save(model.state_dict(), path)"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(PytorchFile, OtherFilesAreOneLineErrors) {
  const fs::path dir = test::fresh_dir("pytorch_file_others");
  const std::string legacy = (dir / "legacy.pth").string(), list = (dir / "list.pth").string(),
                    junk = (dir / "junk.pth").string(), mixed = (dir / "mixed.pth").string();
  run_python(
      "import torch\n"
      "torch.save({'w': torch.ones(2)}, '''" +
      legacy +
      "''', _use_new_zipfile_serialization=False)\n"
      "torch.save([torch.ones(2)], '''" +
      list +
      "''')\n"
      "torch.save({'w': torch.ones(2), 'n': 3}, '''" +
      mixed + "''')\n");
  std::ofstream(junk) << "not a pickle";
  const struct {
    std::string path;
    const char* expected;
  } cases[] = {{legacy, "legacy non-zip format"},
               {list, "no model_state_dict (or flat state dict of tensors)"},
               {mixed, "no model_state_dict (or flat state dict of tensors)"},
               {junk, "not the zip archive torch.save writes"}};
  for (const auto& c : cases) {
    const std::string message = error_of(c.path);
    EXPECT_NE(message.find("'" + c.path + "'"), std::string::npos) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

// Hand-written pickles in a torch zip archive: lists nested 400000 deep, a dict that holds
// itself. Each is read and refused as what it is (not a state dict).
TEST(PytorchFile, DeepOrCyclicPicklesAreRefusedAsWhatTheyAre) {
  const fs::path dir = test::fresh_dir("pytorch_file_hostile");
  const std::string deep = (dir / "deep.pth").string(), cycle = (dir / "cycle.pth").string();
  run_python(
      "import torch\n"
      "def save(path, data):\n"
      "    w = torch._C.PyTorchFileWriter(path)\n"
      "    w.write_record('data.pkl', data, len(data))\n"
      "    w.write_end_of_file()\n"
      "n = 400000\n"
      "save('''" +
      deep +
      "''', b'\\x80\\x02' + b']' * n + b'a' * (n - 1) + b'.')\n"
      "save('''" +
      cycle + "''', b'\\x80\\x02}q\\x00X\\x01\\x00\\x00\\x00ah\\x00s.')\n");
  for (const auto& path : {deep, cycle}) {
    const std::string message = error_of(path);
    EXPECT_NE(message.find("no model_state_dict"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace wsd
