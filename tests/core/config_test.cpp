#include <gtest/gtest.h>
#include <wsd_source_dir.hpp>

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/config/config_format.hpp"
#include "core/config/config_suggest.hpp"
#include "tests/support/error_of.hpp"

#ifndef WSD_SOURCE_DIR
#error "WSD_SOURCE_DIR must name the repository root (the build defines it)"
#endif

namespace wsd {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test under gtest's temp dir, so tests never see each other's files.
fs::path test_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / "wsd_config_test" /
                 (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string write_file(const std::string& name, const std::string& text) {
  const fs::path path = test_dir() / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

// what() of the ConfigError thrown by `f`, or a marker that makes the comparison fail.
template <class F>
std::string error_of(F&& f) {
  return test::error_of<ConfigError>(std::forward<F>(f));
}

// Loads `text` from a real file named config.yaml; returns the error message, whose expected
// value tests build from the returned path.
struct FileError {
  std::string path;
  std::string message;
};
FileError load_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
  const std::string path = write_file("config.yaml", text);
  return {path, error_of([&] { load_config(path, overrides); })};
}

Config load_text(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return load_config(write_file("config.yaml", text), overrides);
}

std::string override_error(const std::vector<std::string>& overrides) {
  return error_of([&] { load_config("", overrides); });
}

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(ConfigDefaults, AreValidAndEqualToEmptyInputs) {
  const Config defaults = default_config();
  EXPECT_NO_THROW(validate_config(defaults));
  EXPECT_EQ(load_config(""), defaults);
  EXPECT_EQ(parse_config("", "empty.yaml"), defaults);
  EXPECT_EQ(parse_config("# only a comment\n", "comment.yaml"), defaults);
  EXPECT_EQ(load_text(""), defaults);
}

TEST(ConfigDefaults, MatchTheDocumentedValues) {
  const Config c = default_config();
  EXPECT_EQ(c.data.reader, DataReader::kIdx);
  EXPECT_EQ(c.data.path, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(c.data.image_size, 32);
  EXPECT_EQ(c.data.channels, 1);
  EXPECT_EQ(c.noise.family, NoiseFamily::kGrf);
  EXPECT_EQ(c.noise.grf_sigma_min, 1.0);
  EXPECT_EQ(c.noise.grf_sigma_max, 4.0);
  EXPECT_EQ(c.noise.power_cutoff, 0.05);
  EXPECT_EQ(c.model.n_channels, 32);
  EXPECT_EQ(c.model.ch_mults, (std::vector<int>{1, 2, 2}));
  EXPECT_EQ(c.model.is_attn.size(), c.model.ch_mults.size());
  EXPECT_EQ(c.model.beta_min, 0.1);
  EXPECT_EQ(c.model.beta_max, 20.0);
  EXPECT_EQ(c.model.t_eps, 1e-3);
  EXPECT_EQ(c.train.steps, 2000);
  EXPECT_EQ(c.train.lr, 2e-4);
  EXPECT_EQ(c.train.ema_decay, 0.999);
  EXPECT_EQ(c.train.loss_weighting, LossWeighting::kUniform);
  EXPECT_EQ(c.train.keep_last, 3);
  EXPECT_EQ(c.train.collective_timeout_s, 600.0);
  ASSERT_TRUE(c.sampler.lambda.has_value());
  EXPECT_EQ(*c.sampler.lambda, 1.0);
  EXPECT_TRUE(c.sampler.use_ema);
  EXPECT_EQ(c.sampler.proximal_x0, ProximalX0::kMean);
  EXPECT_EQ(c.task.noise.family, NoiseFamily::kWhite);  // Measurement noise, not the prior's.
  EXPECT_EQ(c.task.blur_sigma, 2.0);
  EXPECT_EQ(c.run.out_dir, "runs");
  EXPECT_EQ(c.run.log_level, LogLevel::kInfo);
}

// ---------------------------------------------------------------------------------------------
// Round trip and writing

Config non_default_config() {
  Config c;
  c.data.reader = DataReader::kHdf5;
  c.data.path = "/data/with spaces/and: colon #hash";
  c.data.split = DataSplit::kTest;
  c.data.image_size = 64;
  c.data.channels = 3;
  c.data.random_flip = true;
  c.data.limit = 1234567890123;
  c.noise.family = NoiseFamily::kMixture;
  c.noise.grf_sigma_min = 0.1 + 0.2;  // Not exactly representable: exercises exact printing.
  c.noise.grf_sigma_max = 1.0 / 3.0;
  c.noise.power_cutoff = 1e-7;
  c.model.type = ModelType::kGaussian;
  c.model.score_sign = -1;
  c.model.image_channels = 3;
  c.model.image_size = 64;
  c.model.n_channels = 128;
  c.model.ch_mults = {1, 2, 4, 8, 8};
  c.model.is_attn = {true, false, false, true, true};
  c.model.beta_max = 12345.678901234567;
  c.train.seed = std::numeric_limits<std::uint64_t>::max();
  c.train.steps = std::numeric_limits<std::int64_t>::max();
  c.train.lr = 3e-5;
  c.train.precision = Precision::kBf16;
  c.sampler.lambda = std::nullopt;
  c.sampler.proximal_x0 = ProximalX0::kSample;
  c.task.operator_name = OperatorType::kIdt;
  c.task.motion_angle_deg = -37.5;
  c.task.noise.family = NoiseFamily::kPowerLaw;
  c.task.noise.power_exponent = 0.0;
  c.eval.methods = {EvalMethod::kTikhonov, EvalMethod::kWsPrior};
  c.eval.checkpoint = "true";  // Would read back as a bool if written unquoted.
  c.eval.conventional_checkpoint = "null";
  c.run.name = "quote\" and \\ backslash";
  c.run.log_level = LogLevel::kTrace;
  return c;
}

TEST(ConfigRoundTrip, DefaultsSurviveToYamlAndBack) {
  const Config defaults = default_config();
  EXPECT_EQ(parse_config(to_yaml(defaults), "round_trip.yaml"), defaults);
}

TEST(ConfigRoundTrip, NonDefaultValuesSurviveExactly) {
  const Config c = non_default_config();
  ASSERT_NO_THROW(validate_config(c));
  ASSERT_NE(c, default_config());
  const Config back = parse_config(to_yaml(c), "round_trip.yaml");
  EXPECT_EQ(back, c);
  EXPECT_EQ(back.noise.grf_sigma_min, 0.1 + 0.2);
  EXPECT_EQ(back.run.name, c.run.name);
  EXPECT_FALSE(back.sampler.lambda.has_value());
}

TEST(ConfigRoundTrip, EqualityNoticesSingleFieldChanges) {
  Config a = default_config();
  Config b = a;
  b.task.noise.rotate = true;
  EXPECT_NE(a, b);
  b = a;
  b.model.is_attn.back() = false;
  EXPECT_NE(a, b);
  b = a;
  b.sampler.lambda = std::nullopt;
  EXPECT_NE(a, b);
}

TEST(ConfigRoundTrip, EveryListedKeyAcceptsItsDefaultText) {
  // Each key's default, in the writer's text form, read back through --set, must change nothing:
  // ties the key table, the formatter and the parser together for every field.
  const auto keys = list_config_keys();
  ASSERT_GT(keys.size(), 90u);
  std::set<std::string> unique;
  for (const auto& info : keys) {
    EXPECT_TRUE(unique.insert(info.key).second) << "listed twice: " << info.key;
    EXPECT_FALSE(info.doc.empty()) << info.key;
    EXPECT_EQ(load_config("", {info.key + "=" + info.default_value}), default_config())
        << info.key << "=" << info.default_value;
  }
  EXPECT_TRUE(unique.count("task.noise.family"));
  EXPECT_TRUE(unique.count("sampler.lambda"));
}

TEST(ConfigKeys, ListDefaultsTypesAndConstraints) {
  const auto keys = list_config_keys();
  const auto find = [&](const std::string& key) {
    for (const auto& info : keys) {
      if (info.key == key) return info;
    }
    ADD_FAILURE() << "missing key " << key;
    return ConfigKeyInfo{};
  };
  EXPECT_EQ(find("task.noise.family").default_value, "white");
  EXPECT_EQ(find("noise.family").default_value, "grf");
  EXPECT_EQ(find("model.dropout").constraint, "[0, 1)");
  EXPECT_EQ(find("train.lr").constraint, "> 0");
  EXPECT_EQ(find("train.lr").type, "number");
  EXPECT_EQ(find("train.seed").type, "unsigned integer");
  EXPECT_EQ(find("model.ch_mults").default_value, "[1, 2, 2]");
  EXPECT_EQ(find("sampler.lambda").type, "number or auto");
  EXPECT_EQ(find("model.schedule").type, "one of [vp, cosine]");
}

TEST(ConfigWriter, YamlIsCommentedAndComplete) {
  const std::string yaml = to_yaml(default_config());
  EXPECT_NE(yaml.find("  lr: 0.0002  # peak learning rate\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  beta_max: 20  #"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  lambda: 1  #"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("\n  noise:  #"), std::string::npos) << yaml;
  for (const auto& info : list_config_keys()) {
    const std::string leaf = info.key.substr(info.key.rfind('.') + 1);
    EXPECT_NE(yaml.find(" " + leaf + ": "), std::string::npos) << info.key;
  }
}

TEST(ConfigWriter, WriteConfigProducesALoadableFile) {
  const Config c = non_default_config();
  const std::string path = (test_dir() / "resolved.yaml").string();
  write_config(c, path);
  EXPECT_EQ(load_config(path), c);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  write_config(default_config(), path);  // Overwrites in place.
  EXPECT_EQ(load_config(path), default_config());
}

TEST(ConfigWriter, UnwritablePathIsAConfigError) {
  const std::string path = (test_dir() / "no_such_dir" / "x.yaml").string();
  const std::string message = error_of([&] { write_config(default_config(), path); });
  EXPECT_EQ(message.rfind("cannot write config file '" + path + "': ", 0), 0u) << message;
}

// ---------------------------------------------------------------------------------------------
// Reading files

TEST(ConfigFile, ValuesAreReadIntoTheirSections) {
  const Config c = load_text(
      "data:\n"
      "  reader: cifar10\n"
      "  channels: 3\n"
      "model:\n"
      "  image_channels: 3\n"
      "  ch_mults: [1, 2]\n"
      "  is_attn: [no, yes]\n"
      "train:\n"
      "  lr: 1.5e-3\n"
      "  seed: 18446744073709551615\n"
      "sampler:\n"
      "  lambda: auto\n"
      "task:\n"
      "  operator: motion_blur\n"
      "  noise:\n"
      "    family: grf\n"
      "    grf_sigma_max: 8\n"
      "eval:\n"
      "  checkpoint:\n"
      "  methods: [wiener]\n"
      "run:\n"  // An empty section keeps its defaults.
  );
  EXPECT_EQ(c.data.reader, DataReader::kCifar10);
  EXPECT_EQ(c.data.channels, 3);
  EXPECT_EQ(c.model.ch_mults, (std::vector<int>{1, 2}));
  EXPECT_EQ(c.model.is_attn, (std::vector<bool>{false, true}));
  EXPECT_EQ(c.train.lr, 1.5e-3);
  EXPECT_EQ(c.train.seed, std::numeric_limits<std::uint64_t>::max());
  EXPECT_FALSE(c.sampler.lambda.has_value());
  EXPECT_EQ(c.task.operator_name, OperatorType::kMotionBlur);
  EXPECT_EQ(c.task.noise.family, NoiseFamily::kGrf);
  EXPECT_EQ(c.task.noise.grf_sigma_max, 8.0);
  EXPECT_EQ(c.noise, NoiseConfig{});  // The top-level noise section is untouched.
  EXPECT_EQ(c.eval.checkpoint, "");
  EXPECT_EQ(c.eval.methods, (std::vector<EvalMethod>{EvalMethod::kWiener}));
  EXPECT_EQ(c.run, RunConfig{});
}

TEST(ConfigFile, MissingFileIsReported) {
  const std::string path = (test_dir() / "missing.yaml").string();
  const std::string message = error_of([&] { load_config(path); });
  EXPECT_EQ(message, "cannot read config file '" + path + "': No such file or directory");
}

TEST(ConfigFile, DirectoryIsReported) {
  const std::string path = test_dir().string();
  EXPECT_EQ(error_of([&] { load_config(path); }),
            "cannot read config file '" + path + "': is a directory");
}

TEST(ConfigFile, UnreadableFileIsReported) {
  const std::string path = write_file("secret.yaml", "train: {}\n");
  fs::permissions(path, fs::perms::none);
  if (std::ifstream(path).good()) GTEST_SKIP() << "running with permission to read anything";
  EXPECT_EQ(error_of([&] { load_config(path); }),
            "cannot read config file '" + path + "': Permission denied");
}

// ---------------------------------------------------------------------------------------------
// Errors: structure

TEST(ConfigErrors, UnknownSectionWithSuggestion) {
  const auto e = load_error("model: {}\ntrian:\n  lr: 1\n");
  EXPECT_EQ(e.message, e.path + ":2:1: unknown key 'trian' (did you mean 'train'?)");
}

TEST(ConfigErrors, UnknownSectionWithoutSuggestion) {
  const auto e = load_error("optimiser_settings: {}\n");
  EXPECT_EQ(e.message, e.path + ":1:1: unknown key 'optimiser_settings'");
}

TEST(ConfigErrors, UnknownKeyInSection) {
  const auto e = load_error("train:\n  lr: 0.1\n  lrr: 2\n");
  EXPECT_EQ(e.message, e.path + ":3:3: unknown key 'train.lrr' (did you mean 'train.lr'?)");
}

// Keys an earlier version wrote (configs embedded in shipped checkpoints and measurement files
// carry them): dropped where they held their "not set" value, an error naming the replacement
// where they were set, whether from a file or --set; never a silent change of meaning.
TEST(ConfigErrors, RetiredKeysAreDroppedWhenUnsetAndRefusedWhenSet) {
  EXPECT_EQ(load_text("eval:\n  ws_lambda: 0\n  conventional_lambda: 0.0\n  gaussian_lambda: 0\n"
                      "  report_auto_lambda: false\n"),
            default_config());
  const auto e = load_error("eval:\n  n_images: 4\n  conventional_lambda: 2\n");
  EXPECT_EQ(e.message.rfind(e.path + ":3:3: 'eval.conventional_lambda' no longer exists: ", 0), 0u)
      << e.message;
  EXPECT_NE(e.message.find("sampler.lambda"), std::string::npos) << e.message;
  const auto set = override_error({"eval.report_auto_lambda=true"});
  EXPECT_NE(set.find("'eval.report_auto_lambda' no longer exists"), std::string::npos) << set;
  EXPECT_NE(set.find("sampler.lambda: auto"), std::string::npos) << set;
  // A retired name is still a name: anywhere else it is unknown.
  EXPECT_NE(load_error("task:\n  ws_lambda: 0\n").message.find("unknown key 'task.ws_lambda'"),
            std::string::npos);
}

TEST(ConfigErrors, UnknownKeyInNestedSection) {
  const auto e = load_error("task:\n  noise:\n    famliy: grf\n");
  EXPECT_EQ(e.message,
            e.path + ":3:5: unknown key 'task.noise.famliy' (did you mean 'task.noise.family'?)");
}

TEST(ConfigErrors, KeyInTheWrongSectionSuggestsTheRightOne) {
  const auto e = load_error("model:\n  warmup_steps: 10\n");
  EXPECT_EQ(e.message,
            e.path + ":2:3: unknown key 'model.warmup_steps' (did you mean 'train.warmup_steps'?)");
  const auto top = load_error("lr: 0.1\n");
  EXPECT_EQ(top.message, top.path + ":1:1: unknown key 'lr' (did you mean 'train.lr'?)");
}

TEST(ConfigErrors, DuplicateKey) {
  const auto e = load_error("train:\n  lr: 0.1\n  lr: 0.2\n");
  EXPECT_EQ(e.message,
            e.path + ":3:3: duplicate key 'train.lr' (first given at " + e.path + ":2:3)");
}

TEST(ConfigErrors, TopLevelMustBeAMap) {
  const auto list = load_error("- train\n- model\n");
  EXPECT_EQ(list.message, list.path +
                              ":1:1: the top level must be a map of sections (data, noise, model, "
                              "train, sampler, task, eval, run), got a list");
  const auto scalar = load_error("hello\n");
  EXPECT_EQ(scalar.message.rfind(scalar.path + ":1:1: the top level must be a map", 0), 0u)
      << scalar.message;
  EXPECT_NE(scalar.message.find("got 'hello'"), std::string::npos) << scalar.message;
}

TEST(ConfigErrors, SectionMustBeAMap) {
  const auto e = load_error("train: 5\n");
  EXPECT_EQ(e.message, e.path + ":1:8: train: expected a map of keys, got '5'");
  const auto nested = load_error("task:\n  noise: [white]\n");
  EXPECT_EQ(nested.message, nested.path + ":2:10: task.noise: expected a map of keys, got a list");
}

TEST(ConfigErrors, YamlSyntaxError) {
  const auto e = load_error("train:\n  lr: 1\n bad\n");
  EXPECT_EQ(e.message, e.path + ":3:2: invalid YAML: end of map not found");
  const auto flow = load_error("a: b: c\n");
  EXPECT_EQ(flow.message, flow.path + ":1:5: invalid YAML: illegal map value");
}

TEST(ConfigErrors, MultipleDocumentsAreRejected) {
  const auto e = load_error("train: {}\n---\nmodel: {}\n");
  EXPECT_EQ(e.message, e.path + ":3:1: expected a single YAML document, found 2");
}

TEST(ConfigErrors, MessagesStayOnOneLine) {
  const auto e = load_error("run:\n  log_level: |\n    info\n    debug\n");
  EXPECT_EQ(e.message.find('\n'), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("got 'info\\ndebug\\n'"), std::string::npos) << e.message;
}

TEST(ConfigErrors, ExposesItsParts) {
  const std::string path = write_file("config.yaml", "train:\n  lr: fast\n");
  try {
    load_config(path);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.location(), path + ":2:7");
    EXPECT_EQ(error.key(), "train.lr");
    EXPECT_EQ(error.detail(), "expected a number, got 'fast'");
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: value types

TEST(ConfigErrors, StringWhereNumberExpected) {
  const auto e = load_error("train:\n  lr: fast\n");
  EXPECT_EQ(e.message, e.path + ":2:7: train.lr: expected a number, got 'fast'");
}

TEST(ConfigErrors, MapWhereScalarExpected) {
  const auto e = load_error("train:\n  steps:\n    a: 1\n");
  EXPECT_EQ(e.message, e.path + ":3:5: train.steps: expected an integer, got a map");
}

TEST(ConfigErrors, ListWhereStringExpected) {
  const auto e = load_error("data:\n  path: [a, b]\n");
  EXPECT_EQ(e.message, e.path + ":2:9: data.path: expected a string, got a list");
}

TEST(ConfigErrors, EmptyValueWhereNumberExpectedPointsAtTheKey) {
  const auto e = load_error("train:\n  lr:\n  steps: 5\n");
  EXPECT_EQ(e.message, e.path + ":2:3: train.lr: expected a number, got nothing");
}

TEST(ConfigErrors, NonFiniteNumber) {
  const auto e = load_error("train:\n  lr: .inf\n");
  EXPECT_EQ(e.message, e.path + ":2:7: train.lr: expected a finite number, got '.inf'");
}

TEST(ConfigErrors, StringWhereBoolExpected) {
  const auto e = load_error("data:\n  random_flip: maybe\n");
  EXPECT_EQ(e.message, e.path + ":2:16: data.random_flip: expected true or false, got 'maybe'");
}

TEST(ConfigErrors, ScalarWhereListExpected) {
  const auto e = load_error("model:\n  ch_mults: 5\n");
  EXPECT_EQ(e.message, e.path + ":2:13: model.ch_mults: expected a list, got '5'");
}

TEST(ConfigErrors, BadListEntryIsNamedAndLocated) {
  const auto e = load_error("model:\n  is_attn: [false, maybe, true]\n");
  EXPECT_EQ(e.message, e.path + ":2:20: model.is_attn[1]: expected true or false, got 'maybe'");
}

TEST(ConfigErrors, NonIntegerForInteger) {
  const auto e = load_error("train:\n  batch_size: 2.5\n");
  EXPECT_EQ(e.message, e.path + ":2:15: train.batch_size: expected an integer, got '2.5'");
}

TEST(ConfigErrors, IntegerTooLargeForInt) {
  const auto e = load_error("train:\n  batch_size: 3000000000\n");
  EXPECT_EQ(e.message,
            e.path + ":2:15: train.batch_size: expected a 32-bit integer, got '3000000000'");
}

TEST(ConfigErrors, NegativeForUnsigned) {
  const auto e = load_error("train:\n  seed: -1\n");
  EXPECT_EQ(e.message, e.path + ":2:9: train.seed: expected a non-negative integer, got '-1'");
}

TEST(ConfigErrors, InvalidEnumListsChoicesAndSuggests) {
  const auto e = load_error("noise:\n  family: gfr\n");
  EXPECT_EQ(e.message, e.path +
                           ":2:11: noise.family: expected one of [white, grf, power_law, "
                           "mixture, measured], got 'gfr' (did you mean 'grf'?)");
  const auto far = load_error("train:\n  optimizer: sgd\n");
  EXPECT_EQ(far.message,
            far.path + ":2:14: train.optimizer: expected one of [adam, adamw], got 'sgd'");
}

TEST(ConfigErrors, InvalidEnumInList) {
  const auto e = load_error("eval:\n  methods: [wiener, tikonov]\n");
  EXPECT_EQ(e.message, e.path +
                           ":2:21: eval.methods[1]: expected one of [ws_prior, "
                           "conventional_prior, gaussian_prior, wiener, tikhonov], got "
                           "'tikonov' (did you mean 'tikhonov'?)");
}

TEST(ConfigErrors, LambdaAcceptsNumbersAndAutoOnly) {
  EXPECT_FALSE(load_text("sampler:\n  lambda: auto\n").sampler.lambda.has_value());
  EXPECT_EQ(load_text("sampler:\n  lambda: 0.5\n").sampler.lambda, 0.5);
  const auto word = load_error("sampler:\n  lambda: often\n");
  EXPECT_EQ(word.message,
            word.path + ":2:11: sampler.lambda: expected a number or 'auto', got 'often'");
  const auto negative = load_error("sampler:\n  lambda: -1\n");
  EXPECT_EQ(negative.message,
            negative.path + ":2:11: sampler.lambda: -1 is out of range (must be >= 0)");
}

// ---------------------------------------------------------------------------------------------
// Errors: ranges

TEST(ConfigErrors, OutOfRangeInterval) {
  const auto e = load_error("model:\n  dropout: 1.5\n");
  EXPECT_EQ(e.message, e.path + ":2:12: model.dropout: 1.5 is out of range [0, 1)");
}

TEST(ConfigErrors, OutOfRangeOneSided) {
  const auto e = load_error("train:\n  lr: 0\n");
  EXPECT_EQ(e.message, e.path + ":2:7: train.lr: 0 is out of range (must be > 0)");
  const auto size = load_error("data:\n  image_size: 4\n");
  EXPECT_EQ(size.message, size.path + ":2:15: data.image_size: 4 is out of range (must be >= 8)");
  const auto eps = load_error("model:\n  t_eps: 0.5\n");
  EXPECT_EQ(eps.message, eps.path + ":2:10: model.t_eps: 0.5 is out of range (0, 0.1]");
}

TEST(ConfigErrors, ValueNotInAllowedSet) {
  const auto e = load_error("data:\n  channels: 2\n");
  EXPECT_EQ(e.message, e.path + ":2:13: data.channels: 2 is not allowed (allowed: 1, 3)");
  const auto sign = load_error("model:\n  score_sign: 0\n");
  EXPECT_EQ(sign.message, sign.path + ":2:15: model.score_sign: 0 is not allowed (allowed: -1, 1)");
}

TEST(ConfigErrors, ChannelsMustSuitGroupNorm) {
  const auto e = load_error("model:\n  n_channels: 48\n");
  EXPECT_EQ(e.message, e.path +
                           ":2:15: model.n_channels: 48 is not a positive multiple of 32 "
                           "(GroupNorm uses 32 groups)");
}

TEST(ConfigErrors, KernelSizeMustBeOdd) {
  const auto e = load_error("task:\n  kernel_size: 4\n");
  EXPECT_EQ(e.message, e.path +
                           ":2:16: task.kernel_size: 4 is not an odd number >= 1 (the kernel "
                           "needs a centre pixel)");
}

TEST(ConfigErrors, ListEntryOutOfRangeIsLocated) {
  const auto e = load_error("model:\n  ch_mults: [1, 0, 2]\n");
  EXPECT_EQ(e.message, e.path + ":2:17: model.ch_mults[1]: 0 is out of range (must be > 0)");
}

TEST(ConfigErrors, MethodsMustBeNonEmptyAndUnique) {
  const auto empty = load_error("eval:\n  methods: []\n");
  EXPECT_EQ(empty.message, empty.path + ":2:12: eval.methods: must not be empty");
  const auto twice = load_error("eval:\n  methods: [wiener, ws_prior, wiener]\n");
  EXPECT_EQ(twice.message,
            twice.path + ":2:31: eval.methods[2]: wiener is listed twice (also entry 0)");
}

TEST(ConfigErrors, NestedNoiseIsValidatedLikeTheTopLevel) {
  const auto e = load_error("task:\n  noise:\n    white_fraction: 2\n");
  EXPECT_EQ(e.message, e.path + ":3:21: task.noise.white_fraction: 2 is out of range [0, 1]");
}

// ---------------------------------------------------------------------------------------------
// Errors: cross-field

TEST(ConfigErrors, IsAttnLengthMustMatchChMults) {
  const auto e = load_error("model:\n  ch_mults: [1, 2, 2, 2]\n  is_attn: [false, true]\n");
  EXPECT_EQ(e.message, e.path +
                           ":3:12: model.is_attn: has 2 entries but model.ch_mults has 4 (one "
                           "attention flag per resolution level)");
}

TEST(ConfigErrors, IsAttnMismatchPointsAtChMultsWhenIsAttnIsDefault) {
  const auto e = load_error("model:\n  ch_mults: [1, 2]\n");
  EXPECT_EQ(e.message, e.path +
                           ":2:13: model.is_attn: has 3 entries but model.ch_mults has 2 (one "
                           "attention flag per resolution level)");
}

TEST(ConfigErrors, GrfSigmaMinMustNotExceedMax) {
  const auto e = load_error("noise:\n  grf_sigma_min: 5\n");
  EXPECT_EQ(e.message,
            e.path + ":2:18: noise.grf_sigma_min: 5 is greater than noise.grf_sigma_max (4)");
  const auto nested = load_error("task:\n  noise:\n    grf_sigma_max: 0.5\n");
  EXPECT_EQ(nested.message, nested.path +
                                ":3:20: task.noise.grf_sigma_min: 1 is greater than "
                                "task.noise.grf_sigma_max (0.5)");
}

// kernel_sum samples a spatial Gaussian kernel: a spectrum-only family has none. Once accepted
// and then refused by the noise generator, without a position; now refused where it is written.
TEST(ConfigErrors, KernelSumNeedsASpatialKernelFamily) {
  const auto e = load_error("noise:\n  family: power_law\n  normalisation: kernel_sum\n");
  EXPECT_EQ(e.message, e.path +
                           ":3:18: noise.normalisation: kernel_sum needs noise.family white or "
                           "grf (a sampled spatial kernel), not power_law; use unit_variance");
  const auto nested = load_error(
      "task:\n  noise:\n    normalisation: kernel_sum\n"
      "    family: mixture\n");
  EXPECT_EQ(nested.message.rfind(nested.path + ":3:20: task.noise.normalisation: kernel_sum", 0),
            0u)
      << nested.message;
  EXPECT_NO_THROW(load_config(
      write_file("kernel_sum_grf.yaml", "noise:\n  family: grf\n  normalisation: kernel_sum\n")));
}

// Only networks wsdiff builds are model types: `unet` once passed the schema and failed when the
// network was made.
TEST(ConfigErrors, ModelTypeIsANetworkWsdiffBuilds) {
  const auto e = load_error("model:\n  type: unet\n");
  EXPECT_EQ(e.message,
            e.path + ":2:9: model.type: expected one of [ddpm_unet, gaussian], got 'unet'");
}

TEST(ConfigErrors, BetaMaxMustExceedBetaMin) {
  const auto e = load_error("model:\n  beta_min: 5\n  beta_max: 5\n");
  EXPECT_EQ(e.message, e.path + ":3:13: model.beta_max: 5 must be greater than model.beta_min (5)");
}

TEST(ConfigErrors, ProximalLikelihoodNeedsTheExponentialSampler) {
  const auto e = load_error("sampler:\n  method: heun\n  likelihood: proximal\n");
  EXPECT_EQ(e.message, e.path +
                           ":3:15: sampler.likelihood: proximal takes the exponential "
                           "integrator's steps; set sampler.method to exponential (it is heun)");
}

TEST(ConfigErrors, LoaderWorkersAreBounded) {
  const auto e = load_error("data:\n  workers: 100000\n");
  EXPECT_EQ(e.message, e.path + ":2:12: data.workers: 100000 is out of range [0, 256]");
}

TEST(ConfigErrors, ImageSizeMustSurviveTheDownsampling) {
  const auto e = load_error(
      "data:\n  image_size: 36\nmodel:\n  image_size: 36\n"
      "  ch_mults: [1, 2, 2, 2]\n  is_attn: [false, false, false, false]\n");
  EXPECT_EQ(e.message, e.path +
                           ":4:15: model.image_size: 36 is not divisible by 8, which the 4 "
                           "resolution levels of model.ch_mults need");
}

TEST(ConfigErrors, DataAndModelShapesMustAgree) {
  const auto e = load_error("data:\n  channels: 3\n");
  EXPECT_EQ(e.message, e.path + ":2:13: model.image_channels: 1 does not match data.channels (3)");
}

// ---------------------------------------------------------------------------------------------
// --set overrides

TEST(ConfigOverrides, ScalarOverride) {
  const Config c = load_config("", {"train.lr=1e-3", "data.random_flip=true", "run.name=my run"});
  EXPECT_EQ(c.train.lr, 1e-3);
  EXPECT_TRUE(c.data.random_flip);
  EXPECT_EQ(c.run.name, "my run");
}

TEST(ConfigOverrides, ApplyAfterTheFileInOrder) {
  const Config c = load_text("train:\n  lr: 0.1\n  steps: 7\n",
                             {"train.lr=0.5", "train.lr=0.25", " train.keep_last = 9"});
  EXPECT_EQ(c.train.lr, 0.25);
  EXPECT_EQ(c.train.steps, 7);
  EXPECT_EQ(c.train.keep_last, 9);
}

// `wsdiff solve` and `wsdiff sample` start from a stored config: --set edits it, --config
// replaces only its sampler section (read with the same --set), and every value is checked.
TEST(ConfigLayering, OverridesEditTheStoredConfigAndAFileReplacesItsSampler) {
  Config stored;
  stored.task.blur_sigma = 3.0;
  stored.sampler.steps = 77;
  stored.model.n_channels = 64;
  const Config edited = layer_config(stored, "stored", "", {"sampler.steps=12"});
  EXPECT_EQ(edited.sampler.steps, 12);
  EXPECT_EQ(edited.task.blur_sigma, 3.0);
  EXPECT_EQ(edited.model.n_channels, 64);

  const std::string sampler_file = write_file(
      "layer_sampler.yaml", "sampler:\n  steps: 40\n  method: heun\nmodel:\n  n_channels: 32\n");
  const Config layered = layer_config(stored, "stored", sampler_file, {"sampler.seed=5"});
  EXPECT_EQ(layered.sampler.steps, 40);
  EXPECT_EQ(layered.sampler.method, SamplerMethod::kHeun);
  EXPECT_EQ(layered.sampler.seed, 5u);
  EXPECT_EQ(layered.model.n_channels, 64);  // only the sampler section comes from the file
  EXPECT_EQ(layered.task.blur_sigma, 3.0);

  EXPECT_EQ(error_of([&] { layer_config(stored, "stored", "", {"sampler.steps=-3"}); }),
            "--set sampler.steps=-3: sampler.steps: -3 is out of range [1, 100000]");
  stored.task.blur_sigma = -1.0;  // a bad stored value is reported against the stored config
  EXPECT_EQ(error_of([&] { layer_config(stored, "stored", "", {}); }),
            "stored: task.blur_sigma: -1 is out of range (must be > 0)");
}

TEST(ConfigOverrides, NestedKey) {
  const Config c = load_config("", {"task.noise.family=grf", "task.noise.grf_sigma_max=6"});
  EXPECT_EQ(c.task.noise.family, NoiseFamily::kGrf);
  EXPECT_EQ(c.task.noise.grf_sigma_max, 6.0);
  EXPECT_EQ(c.noise, NoiseConfig{});
}

TEST(ConfigOverrides, ListAndMapValues) {
  const Config c = load_config(
      "", {"model.ch_mults=[1,2]", "model.is_attn=[false, true]", "eval.methods=[tikhonov]",
           "task.noise={family: power_law, power_exponent: 1.5}", "sampler.lambda=auto"});
  EXPECT_EQ(c.model.ch_mults, (std::vector<int>{1, 2}));
  EXPECT_EQ(c.model.is_attn, (std::vector<bool>{false, true}));
  EXPECT_EQ(c.eval.methods, (std::vector<EvalMethod>{EvalMethod::kTikhonov}));
  EXPECT_EQ(c.task.noise.family, NoiseFamily::kPowerLaw);
  EXPECT_EQ(c.task.noise.power_exponent, 1.5);
  EXPECT_FALSE(c.sampler.lambda.has_value());
}

TEST(ConfigOverrides, CanRepairAnInvalidFileValue) {
  const Config c = load_text("model:\n  dropout: 1.5\n", {"model.dropout=0.2"});
  EXPECT_EQ(c.model.dropout, 0.2);
}

TEST(ConfigOverrides, BadValue) {
  EXPECT_EQ(override_error({"train.lr=abc"}),
            "--set train.lr=abc: train.lr: expected a number, got 'abc'");
  EXPECT_EQ(override_error({"model.ch_mults=[1,x]"}),
            "--set model.ch_mults=[1,x]: model.ch_mults[1]: expected an integer, got 'x'");
  EXPECT_EQ(override_error({"train.lr.x=1"}),
            "--set train.lr.x=1: train.lr: expected a number, got a map");
}

TEST(ConfigOverrides, OutOfRangeIsReportedAtTheOverride) {
  EXPECT_EQ(override_error({"model.dropout=1.5"}),
            "--set model.dropout=1.5: model.dropout: 1.5 is out of range [0, 1)");
  // The file set the key too, but the override is what is wrong now.
  const auto e = load_error("model:\n  dropout: 0.2\n", {"model.dropout=2"});
  EXPECT_EQ(e.message, "--set model.dropout=2: model.dropout: 2 is out of range [0, 1)");
  EXPECT_EQ(override_error({"model.ch_mults=[1,0,2]", "model.is_attn=[false,false,false]"}),
            "--set model.ch_mults=[1,0,2]: model.ch_mults[1]: 0 is out of range (must be > 0)");
}

TEST(ConfigOverrides, FileErrorIsNotMaskedByAnUnrelatedOverride) {
  const auto e = load_error("train:\n  lr: 0\n", {"train.steps=10"});
  EXPECT_EQ(e.message, e.path + ":2:7: train.lr: 0 is out of range (must be > 0)");
}

TEST(ConfigOverrides, CrossFieldErrorPointsAtTheOverride) {
  EXPECT_EQ(override_error({"model.ch_mults=[1,2]"}),
            "--set model.ch_mults=[1,2]: model.is_attn: has 3 entries but model.ch_mults has 2 "
            "(one attention flag per resolution level)");
}

TEST(ConfigOverrides, UnknownKey) {
  EXPECT_EQ(override_error({"train.lrr=1"}),
            "--set train.lrr=1: unknown key 'train.lrr' (did you mean 'train.lr'?)");
  EXPECT_EQ(override_error({"trian.lr=1"}),
            "--set trian.lr=1: unknown key 'trian' (did you mean 'train'?)");
  EXPECT_EQ(override_error({"task.noise.sigma=1"}),
            "--set task.noise.sigma=1: unknown key 'task.noise.sigma'");
}

TEST(ConfigOverrides, Malformed) {
  EXPECT_EQ(override_error({"train.lr"}),
            "--set train.lr: expected section.key=value (no '=' found)");
  EXPECT_EQ(override_error({"lr=1"}),
            "--set lr=1: expected section.key=value, got 'lr' without a section");
  EXPECT_EQ(override_error({"train..lr=1"}),
            "--set train..lr=1: expected section.key=value, got an empty key component");
  EXPECT_EQ(override_error({"=1"}),
            "--set =1: expected section.key=value, got an empty key component");
}

TEST(ConfigOverrides, InvalidYamlValue) {
  EXPECT_EQ(override_error({"model.ch_mults=[1,2"}),
            "--set model.ch_mults=[1,2: model.ch_mults: invalid YAML value: end of sequence flow "
            "not found");
}

TEST(ConfigOverrides, EmptyValueClearsStringsOnly) {
  const Config c = load_text("eval:\n  checkpoint: a.pt\n", {"eval.checkpoint="});
  EXPECT_EQ(c.eval.checkpoint, "");
  EXPECT_EQ(override_error({"train.lr="}),
            "--set train.lr=: train.lr: expected a number, got nothing");
}

// ---------------------------------------------------------------------------------------------
// Shipped example configs

std::vector<fs::path> shipped_configs() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(WSD_SOURCE_DIR) / "configs")) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
  }
  return files;
}

TEST(ShippedConfigs, EveryFileLoadsAndRoundTrips) {
  const auto files = shipped_configs();
  ASSERT_GE(files.size(), 3u) << "no configs found under " << WSD_SOURCE_DIR << "/configs";
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    Config c;
    EXPECT_NO_THROW(c = load_config(file.string()))
        << error_of([&] { load_config(file.string()); });
    EXPECT_EQ(parse_config(to_yaml(c), "round_trip.yaml"), c);
  }
}

TEST(ShippedConfigs, CifarUsesTheAuthorsNetwork) {
  const Config c = load_config(std::string(WSD_SOURCE_DIR) + "/configs/cifar10_ws_ddpm_unet.yaml");
  EXPECT_EQ(c.data.reader, DataReader::kCifar10);
  EXPECT_EQ(c.data.channels, 3);
  EXPECT_EQ(c.model.type, ModelType::kDdpmUnet);
  EXPECT_EQ(c.model.n_channels, 64);
  EXPECT_EQ(c.model.ch_mults, (std::vector<int>{1, 2, 2, 4}));
  EXPECT_EQ(c.model.is_attn, (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(c.model.n_blocks, 4);
  EXPECT_EQ(c.model.image_size, 32);
  EXPECT_EQ(c.model.image_channels, 3);
  EXPECT_EQ(c.train.batch_size, 128);
  EXPECT_EQ(c.noise.family, NoiseFamily::kGrf);
}

TEST(ShippedConfigs, FashionMnistIsASmallGrayGrfDdpmUnet) {
  const Config c = load_config(std::string(WSD_SOURCE_DIR) + "/configs/fashion_mnist_ws.yaml");
  EXPECT_EQ(c.data.reader, DataReader::kIdx);
  EXPECT_EQ(c.data.image_size, 32);
  EXPECT_EQ(c.data.channels, 1);
  EXPECT_EQ(c.model.type, ModelType::kDdpmUnet);
  EXPECT_EQ(c.model.n_channels, 32);
  EXPECT_EQ(c.noise.family, NoiseFamily::kGrf);
}

// One file per task: experiments/deblur_dehaze.yaml is the deblurring-through-haze task.
TEST(ShippedConfigs, TaskConfigDescribesDeblurringWithStructuredNoise) {
  const Config c = load_config(std::string(WSD_SOURCE_DIR) + "/experiments/deblur_dehaze.yaml");
  EXPECT_EQ(c.task.operator_name, OperatorType::kGaussianBlur);
  EXPECT_EQ(c.task.noise.family, NoiseFamily::kGrf);
  EXPECT_EQ(c.sampler.likelihood, LikelihoodType::kProximal);
  EXPECT_EQ(c.sampler.method, SamplerMethod::kExponential);
}

// ---------------------------------------------------------------------------------------------
// Helpers

// A renamed spelling keeps parsing, and configs are written back in the current one.
TEST(ConfigEnums, AnEarlierSpellingParsesToTheRenamedValue) {
  const Config c = load_text("sampler:\n  likelihood: jalal\n");
  EXPECT_EQ(c.sampler.likelihood, LikelihoodType::kNormalisedGradient);
  EXPECT_EQ(enum_name(LikelihoodType::kNormalisedGradient), "normalised_gradient");
  EXPECT_NE(to_yaml(c).find("likelihood: normalised_gradient"), std::string::npos);
  EXPECT_EQ(parse_config(to_yaml(c), "written.yaml").sampler.likelihood,
            LikelihoodType::kNormalisedGradient);
}

TEST(ConfigEnums, NamesAndParsingAreInverse) {
  static_assert(enum_name(NoiseFamily::kPowerLaw) == "power_law");
  static_assert(parse_enum<OperatorType>("gaussian_blur") == OperatorType::kGaussianBlur);
  static_assert(!parse_enum<OperatorType>("blur").has_value());
  for (const auto& entry : EnumTraits<EvalMethod>::kValues) {
    EXPECT_EQ(parse_enum<EvalMethod>(enum_name(entry.value)), entry.value);
  }
  for (const auto& entry : EnumTraits<SamplerMethod>::kValues) {
    Config c;
    c.sampler.method = entry.value;
    EXPECT_EQ(parse_config(to_yaml(c), "enum.yaml").sampler.method, entry.value) << entry.name;
  }
}

TEST(ConfigFormat, NumbersPrintShortAndExact) {
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(20.0), "20");
  EXPECT_EQ(format_value(2e-4), "0.0002");
  EXPECT_EQ(format_value(1e-7), "1e-07");
  EXPECT_EQ(std::stod(format_value(0.1 + 0.2)), 0.1 + 0.2);
  EXPECT_EQ(format_value(std::optional<double>()), "auto");
  EXPECT_EQ(format_value(std::vector<bool>{true, false}), "[true, false]");
}

TEST(ConfigSuggest, FindsTyposOnly) {
  EXPECT_EQ(closest_match("trian", {"data", "train", "task"}), "train");
  EXPECT_EQ(closest_match("lr", {"lr", "steps"}), "lr");
  EXPECT_FALSE(closest_match("optimiser_settings", {"data", "train"}).has_value());
}

}  // namespace
}  // namespace wsd
