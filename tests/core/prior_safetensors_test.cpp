// A prior as a safetensors file (core/checkpoint/prior_safetensors.hpp): its metadata brings
// back the config and model info, and metadata this wsdiff cannot trust is an error.
#include "core/checkpoint/prior_safetensors.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/io/safetensors_file.hpp"
#include "core/util/errors.hpp"
#include "tests/support/files.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

Checkpoint small_prior() {
  Checkpoint prior;
  prior.config_yaml = "model:\n  parameterisation: ws\n";
  prior.model_info.parameterisation = Parameterisation::kWs;
  prior.model_info.score_sign = -1;
  prior.model = {{"final.weight", torch::randn({2, 3})}, {"final.bias", torch::randn({2})}};
  prior.provenance_json = R"({"weights":"ema","step":9})";
  prior.state.step = 9;
  prior.state.images_seen = 288;
  return prior;
}

std::string error_of(const std::string& path) {
  try {
    load_prior_safetensors(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(PriorSafetensors, MetadataBringsBackConfigModelInfoAndModelCard) {
  const fs::path dir = test::fresh_dir("prior_safetensors_round_trip");
  const std::string path = (dir / "p.safetensors").string();
  const Checkpoint prior = small_prior();
  save_prior_safetensors(prior, path);

  const SafetensorsMetadata m = read_safetensors(path).metadata;
  EXPECT_EQ(m.at("format"), "pt");
  EXPECT_EQ(m.at("wsdiff.weights"), "ema");
  EXPECT_EQ(m.at("wsdiff.model.parameterisation"), "ws");

  const SafetensorsPrior read = load_prior_safetensors(path);
  ASSERT_TRUE(read.has_wsdiff_metadata);
  EXPECT_EQ(read.prior.config_yaml, prior.config_yaml);
  EXPECT_EQ(read.prior.model_info.parameterisation, Parameterisation::kWs);
  EXPECT_EQ(read.prior.model_info.score_sign, -1);
  EXPECT_EQ(read.prior.provenance_json, prior.provenance_json);
  EXPECT_EQ(read.prior.state.step, 9);
  EXPECT_EQ(read.prior.state.images_seen, 288);
  ASSERT_EQ(read.weights.size(), 2u);
  EXPECT_EQ(read.weights[0].first, "final.weight");
  EXPECT_TRUE(torch::equal(read.weights[0].second, prior.model[0].second));
}

TEST(PriorSafetensors, AFileWithoutWsdiffMetadataIsPlainWeights) {
  const fs::path dir = test::fresh_dir("prior_safetensors_plain");
  const std::string path = (dir / "p.safetensors").string();
  write_safetensors(path, {{"w", torch::ones({2})}}, {{"format", "pt"}});
  const SafetensorsPrior read = load_prior_safetensors(path);
  EXPECT_FALSE(read.has_wsdiff_metadata);
  ASSERT_EQ(read.weights.size(), 1u);
  EXPECT_EQ(read.weights[0].first, "w");
}

TEST(PriorSafetensors, UntrustworthyMetadataIsAnErrorNamingTheFile) {
  const fs::path dir = test::fresh_dir("prior_safetensors_bad");
  const std::string path = (dir / "p.safetensors").string();
  save_prior_safetensors(small_prior(), path);
  const SafetensorsMetadata good = read_safetensors(path).metadata;
  const struct {
    const char* key;
    const char* value;  // nullptr: the key is removed
    const char* expected;
  } cases[] = {{"wsdiff.format_version", "2", "format version '2'"},
               {"wsdiff.model.parameterisation", "bogus", "'bogus' is not one of"},
               {"wsdiff.model.type", "gaussian", "'gaussian' is not one of ddpm_unet"},
               {"wsdiff.model.score_sign", "0", "'0' is not one of 1, -1"},
               {"wsdiff.config", nullptr, "metadata has no wsdiff.config"},
               {"wsdiff.format", "other", "wsdiff.format is 'other'"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key);
    SafetensorsMetadata m = good;
    if (c.value) {
      m[c.key] = c.value;
    } else {
      m.erase(c.key);
    }
    write_safetensors(path, {{"w", torch::ones({2})}}, m);
    const std::string message = error_of(path);
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
}

TEST(PriorSafetensors, APriorThatNeedsMoreThanItsNetworkIsRefused) {
  const fs::path dir = test::fresh_dir("prior_safetensors_refused");
  Checkpoint measured = small_prior();
  measured.measured_noise_power = torch::ones({4, 3}, torch::kFloat64);
  measured.measured_noise_width = 4;
  EXPECT_THROW(save_prior_safetensors(measured, (dir / "m.safetensors").string()), InputError);
  Checkpoint gaussian = small_prior();
  gaussian.model_info.type = ModelType::kGaussian;
  EXPECT_THROW(save_prior_safetensors(gaussian, (dir / "g.safetensors").string()), InputError);
  EXPECT_FALSE(fs::exists(dir / "m.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "g.safetensors"));
}

}  // namespace
}  // namespace wsd
