// export: a training checkpoint becomes a prior to ship (EMA weights only, the model card's
// facts inside), which info describes and sample uses.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/checkpoint/checkpoint.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tiny_run.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

fs::path temp(const std::string& name) { return fs::path(::testing::TempDir()) / name; }

// A three-step edm run on synthetic 8x8 images, validated every step.
fs::path train_tiny_run() {
  const fs::path data = test::write_tiny_dataset(temp("export_data"));
  const fs::path run = temp("export_run");
  fs::remove_all(run);
  const auto r = test::run_wsdiff(
      test::tiny_train_args(run, data, 3,
                            {"model.parameterisation=edm", "train.validate_every=1",
                             "train.log_every=1", "train.ema_decay=0.5"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return run;
}

TEST(CliExport, ShipsEmaWeightsWithTheCardFactsAndNothingElse) {
  const fs::path run = train_tiny_run();
  const auto source = (run / "checkpoints" / "last.h5").string();
  const auto prior = temp("exported_prior.h5").string();
  auto r = test::run_wsdiff({"export", "--checkpoint", source, "--out", prior, "--metrics",
                             (run / "metrics.jsonl").string(), "--hardware", "test machine"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const Checkpoint trained = load_checkpoint(source);
  const Checkpoint shipped = load_checkpoint(prior);
  EXPECT_TRUE(shipped.ema.empty());
  EXPECT_TRUE(shipped.optimizer.empty());
  EXPECT_TRUE(shipped.state.rng_states.empty());
  EXPECT_EQ(shipped.state.step, 3);
  EXPECT_EQ(shipped.state.images_seen, 24);
  EXPECT_EQ(shipped.model_info.parameterisation, Parameterisation::kEdm);
  // The shipped model weights are the run's EMA weights, which differ from its raw weights.
  ASSERT_EQ(shipped.model.size(), trained.ema.size());
  bool any_differs_from_raw = false;
  for (size_t i = 0; i < shipped.model.size(); ++i) {
    EXPECT_EQ(shipped.model[i].first, trained.ema[i].first);
    EXPECT_TRUE(torch::equal(shipped.model[i].second, trained.ema[i].second))
        << shipped.model[i].first;
    any_differs_from_raw |= !torch::equal(shipped.model[i].second, trained.model[i].second);
  }
  EXPECT_TRUE(any_differs_from_raw);

  // The provenance holds the last validation loss of metrics.jsonl.
  double last_val = 0;
  std::ifstream metrics(run / "metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("val_loss")) last_val = j["val_loss"].get<double>();
  }
  const auto provenance = nlohmann::json::parse(shipped.provenance_json);
  EXPECT_DOUBLE_EQ(provenance["final_val_loss"].get<double>(), last_val);
  EXPECT_EQ(provenance["final_val_step"].get<int64_t>(), 3);
  EXPECT_EQ(provenance["hardware"].get<std::string>(), "test machine");
  EXPECT_EQ(provenance["weights"].get<std::string>(), "ema");

  r = test::run_wsdiff({"info", prior});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("validation loss"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test machine"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("optimizer state no"), std::string::npos) << r.out;

  // The shipped prior samples like any checkpoint.
  const auto samples = temp("exported_samples");
  r = test::run_wsdiff(
      {"sample", "--checkpoint", prior, "--n", "2", "--steps", "3", "--out", samples.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(samples / "samples.png"));
}

// Exporting a shipped prior again sets the sampler it runs by default and keeps every other
// section and what its file says of its run; fine-tuning from it averages from its weights.
TEST(CliExport, ReexportSetsTheDefaultSamplerAndFineTuningStartsTheAverageThere) {
  const fs::path run = train_tiny_run();
  const auto source = (run / "checkpoints" / "last.h5").string();
  const auto prior = temp("reexport_first.h5").string();
  const auto again = temp("reexport_again.h5").string();
  auto r = test::run_wsdiff({"export", "--checkpoint", source, "--out", prior, "--hardware",
                             "test machine", "--metrics", (run / "metrics.jsonl").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_wsdiff({"export", "--checkpoint", prior, "--out", again, "--set",
                        "sampler.method=dpm_solver_2m", "--set", "sampler.steps=7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Checkpoint first = load_checkpoint(prior), second = load_checkpoint(again);
  EXPECT_EQ(nlohmann::json::parse(second.provenance_json),
            nlohmann::json::parse(first.provenance_json));
  for (size_t i = 0; i < first.model.size(); ++i) {
    EXPECT_TRUE(torch::equal(first.model[i].second, second.model[i].second));
  }
  const auto samples = temp("reexport_samples");
  r = test::run_wsdiff({"sample", "--checkpoint", again, "--n", "1", "--out", samples.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("7 dpm_solver_2m steps"), std::string::npos) << r.err;
  r = test::run_wsdiff({"export", "--checkpoint", prior, "--out", temp("never.h5").string(),
                        "--set", "noise.white_fraction=0.5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--set noise.white_fraction=0.5: export edits only the sampler section"),
            std::string::npos)
      << r.err;

  // One more step from the shipped prior: with decay 0.999 the average stays at its weights
  // (from a random start it would be far from them).
  const fs::path tuned = temp("reexport_tuned");
  fs::remove_all(tuned);
  r = test::run_wsdiff([&] {
    auto args = test::tiny_train_args(tuned, temp("export_data"), 4,
                                      {"model.parameterisation=edm", "train.ema_decay=0.999"});
    args.insert(args.end(), {"--resume", prior});
    return args;
  }());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("holds no EMA of its own"), std::string::npos) << r.err;
  const Checkpoint after = load_checkpoint((tuned / "checkpoints" / "last.h5").string());
  double largest = 0.0, scale = 0.0;
  for (size_t i = 0; i < first.model.size(); ++i) {
    largest =
        std::max(largest, (after.ema[i].second - first.model[i].second).abs().max().item<double>());
    scale = std::max(scale, first.model[i].second.abs().max().item<double>());
  }
  EXPECT_LT(largest, 0.01 * scale);
}

TEST(CliExport, RefusesToOverwriteItsInputAndNamesBadMetrics) {
  const fs::path run = train_tiny_run();
  const auto source = (run / "checkpoints" / "last.h5").string();
  auto r = test::run_wsdiff({"export", "--checkpoint", source, "--out", source});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is the --checkpoint file"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(source));

  const auto bad = temp("bad_metrics.jsonl");
  std::ofstream(bad) << "{\"step\": 1, \"val_loss\": 0.5}\nnot json\n";
  r = test::run_wsdiff({"export", "--checkpoint", source, "--out", temp("x.h5").string(),
                        "--metrics", bad.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(bad.string() + ":2"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wsd
