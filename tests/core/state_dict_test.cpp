#include "core/network/state_dict.hpp"

#include <gtest/gtest.h>

#include <hdf5.h>
#include <torch/torch.h>
#include "tests/support/test_data.hpp"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "core/network/ddpm_unet.hpp"
#include "core/network/h5_weights.hpp"
#include "core/util/errors.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

std::string fixture_path() { return test::reference_fixture(); }

DdpmUNetOptions small_options() {
  return DdpmUNetOptions()
      .image_channels(1)
      .n_channels(32)
      .ch_mults({1, 2})
      .is_attn({false, true})
      .n_blocks(1);
}

DdpmUNet small_net(uint64_t seed) {
  torch::manual_seed(seed);
  return DdpmUNet(small_options());
}

// The message of the InputError that `fn` throws ("" when it throws none).
std::string input_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

StateDict without(StateDict state, const std::string& key) {
  state.erase(std::remove_if(state.begin(), state.end(),
                             [&](const auto& entry) { return entry.first == key; }),
              state.end());
  return state;
}

TEST(StateDict, RoundTripReproducesOutputs) {
  DdpmUNet a = small_net(1);
  DdpmUNet b = small_net(2);
  a->eval();
  b->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 1, 16, 16});
  const torch::Tensor t = torch::rand({2});
  const torch::Tensor ya = a(x, t);
  ASSERT_FALSE(torch::allclose(ya, b(x, t)));  // really differently initialised

  // Clone: the state dict shares storage with `a`, which must not matter for the copy.
  StateDict state;
  for (const auto& [key, tensor] : state_dict_of(*a)) state.emplace_back(key, tensor.clone());
  load_state_dict(*b, state, "a.h5");
  EXPECT_TRUE(torch::equal(ya, b(x, t)));
  EXPECT_EQ(parameter_count(*a), parameter_count(*b));
}

TEST(StateDict, ParametersComeBeforeBuffersInRegistrationOrder) {
  struct Net : torch::nn::Module {
    Net() {
      register_buffer("scale", torch::ones({2}));
      register_module("lin", torch::nn::Linear(2, 3));
      register_parameter("bias", torch::zeros({3}));
    }
  } net;
  const StateDict state = state_dict_of(net);
  ASSERT_EQ(state.size(), 4u);
  EXPECT_EQ(state[0].first, "bias");
  EXPECT_EQ(state[1].first, "lin.weight");
  EXPECT_EQ(state[2].first, "lin.bias");
  EXPECT_EQ(state[3].first, "scale");
  // Buffers are loaded too.
  StateDict changed = state;
  changed[3].second = torch::full({2}, 7.0);
  load_state_dict(net, changed, "buffers");
  EXPECT_TRUE(torch::equal(net.named_buffers()["scale"], torch::full({2}, 7.0)));
}

TEST(StateDict, MissingKeyIsNamed) {
  DdpmUNet net = small_net(1);
  const StateDict state = without(state_dict_of(*net), "down.0.res.conv1.weight");
  const std::string message = input_error([&] { load_state_dict(*net, state, "weights.h5"); });
  EXPECT_EQ(message, "weights.h5: missing key 'down.0.res.conv1.weight'");
}

TEST(StateDict, UnexpectedKeyIsNamed) {
  DdpmUNet net = small_net(1);
  StateDict state = state_dict_of(*net);
  state.emplace_back("down.0.res.extra.weight", torch::zeros({1}));
  const std::string message = input_error([&] { load_state_dict(*net, state, "weights.h5"); });
  EXPECT_EQ(message, "weights.h5: unexpected key 'down.0.res.extra.weight'");
}

TEST(StateDict, DuplicateKeyIsNamed) {
  DdpmUNet net = small_net(1);
  StateDict state = state_dict_of(*net);
  state.push_back(state.front());
  const std::string message = input_error([&] { load_state_dict(*net, state, "dup.h5"); });
  EXPECT_TRUE(contains(message, "dup.h5")) << message;
  EXPECT_TRUE(contains(message, "'" + state.front().first + "'")) << message;
}

TEST(StateDict, ShapeMismatchIsNamedAndLeavesTheModelUntouched) {
  DdpmUNet net = small_net(1);
  const StateDict before = state_dict_of(*net);
  StateDict state;
  for (const auto& [key, tensor] : before) {
    state.emplace_back(
        key, key == "final.weight" ? torch::zeros({3, 32, 3, 3}) : torch::zeros_like(tensor));
  }
  const torch::Tensor snapshot = net->named_parameters()["image_proj.weight"].clone();
  const std::string message = input_error([&] { load_state_dict(*net, state, "weights.h5"); });
  EXPECT_EQ(message,
            "weights.h5: 'final.weight' has shape [3, 32, 3, 3], model expects [1, 32, 3, 3]");
  EXPECT_TRUE(torch::equal(net->named_parameters()["image_proj.weight"], snapshot));
}

TEST(StateDict, StripsWrapperPrefixes) {
  EXPECT_EQ(strip_wrapper_prefixes("_orig_mod.final.weight"), "final.weight");
  EXPECT_EQ(strip_wrapper_prefixes("module.final.weight"), "final.weight");
  EXPECT_EQ(strip_wrapper_prefixes("module._orig_mod.final.weight"), "final.weight");
  EXPECT_EQ(strip_wrapper_prefixes("_orig_mod.module.final.weight"), "final.weight");
  EXPECT_EQ(strip_wrapper_prefixes("final.weight"), "final.weight");
  EXPECT_EQ(strip_wrapper_prefixes("down.0.module.weight"), "down.0.module.weight");

  DdpmUNet a = small_net(1);
  DdpmUNet b = small_net(2);
  StateDict wrapped;
  for (const auto& [key, tensor] : state_dict_of(*a)) {
    wrapped.emplace_back("module._orig_mod." + key, tensor.clone());
  }
  EXPECT_TRUE(contains(input_error([&] { load_state_dict(*b, wrapped, "ddp.pt"); }), "ddp.pt"));
  load_state_dict(*b, strip_wrapper_prefixes(wrapped), "ddp.pt");
  const auto pa = a->named_parameters();
  const auto pb = b->named_parameters();
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
}

// A copy of the fixture, edited with the raw HDF5 API, for the H5Weights error paths.
class StateDictH5 : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::path(::testing::TempDir()) / "h5_weights_copy.h5").string();
    fs::copy_file(fixture_path(), path_, fs::copy_options::overwrite_existing);
  }
  void TearDown() override { fs::remove(path_); }

  void edit(const std::function<void(hid_t)>& change) {
    const hid_t file = H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    change(file);
    H5Fclose(file);
  }

  std::string path_;
};

TEST_F(StateDictH5, MissingAttributeIsNamed) {
  edit([](hid_t file) { ASSERT_GE(H5Adelete(file, "n_blocks"), 0); });
  const std::string message = input_error([&] { read_h5_weights(path_); });
  EXPECT_TRUE(contains(message, path_)) << message;
  EXPECT_TRUE(contains(message, "'n_blocks'")) << message;
}

TEST_F(StateDictH5, MissingGroupIsNamed) {
  edit([](hid_t file) { ASSERT_GE(H5Ldelete(file, "/state_dict", H5P_DEFAULT), 0); });
  const std::string message = input_error([&] { read_h5_weights(path_); });
  EXPECT_TRUE(contains(message, path_)) << message;
  EXPECT_TRUE(contains(message, "/state_dict")) << message;
}

TEST_F(StateDictH5, MissingFileIsAnInputError) {
  const std::string missing = path_ + ".absent";
  const std::string message = input_error([&] { read_h5_weights(missing); });
  EXPECT_TRUE(contains(message, missing)) << message;
}

TEST_F(StateDictH5, WrappedKeysAreStrippedAndAMissingTensorIsNamed) {
  edit([](hid_t file) {
    ASSERT_GE(H5Lmove(file, "/state_dict/final.bias", file,
                      "/state_dict/module._orig_mod.final.bias", H5P_DEFAULT, H5P_DEFAULT),
              0);
    ASSERT_GE(H5Ldelete(file, "/state_dict/norm.weight", H5P_DEFAULT), 0);
  });
  const H5Weights weights = read_h5_weights(path_);
  const auto has = [&](const std::string& key) {
    return std::any_of(weights.state_dict.begin(), weights.state_dict.end(),
                       [&](const auto& entry) { return entry.first == key; });
  };
  EXPECT_TRUE(has("final.bias"));
  DdpmUNet net(weights.options);
  const std::string message =
      input_error([&] { load_state_dict(*net, weights.state_dict, path_); });
  EXPECT_EQ(message, path_ + ": missing key 'norm.weight'");
}

}  // namespace
}  // namespace wsd
