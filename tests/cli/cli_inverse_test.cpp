// simulate -> solve -> eval through the executable, on a small IDX dataset the test writes and a
// Gaussian prior trained from it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "core/io/h5_file.hpp"
#include "infer/metrics/psnr.hpp"
#include "tests/support/process.hpp"
#include "tests/support/synthetic_idx.hpp"
#include "tests/support/test_data.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSize = 16;

fs::path temp(const std::string& name) { return fs::path(::testing::TempDir()) / name; }

// A task config on a blob dataset: mild Gaussian blur and strong noise of the prior's own family
// (white here: the setting of the WS likelihood step, Sigma_y proportional to K K^T), the mean of
// 8 posterior samples, lambda chosen by the discrepancy principle.
fs::path write_task(const fs::path& data_dir) {
  const fs::path path = temp("deblur.yaml");
  std::ofstream(path) << "data:\n  path: " << data_dir.string()
                      << "\n  validation_images: 32\n  image_size: " << kSize
                      << "\nmodel:\n  image_size: " << kSize
                      << "\ntask:\n  operator: gaussian_blur\n  blur_sigma: 1.0\n"
                         "  kernel_size: 7\n  noise_level: 0.2\n  seed: 3\n"
                         "  noise:\n    family: white\n"
                         "noise:\n  family: white\n"
                         "sampler:\n  steps: 100\n  likelihood: ws\n  lambda: auto\n"
                         "  batch_size: 32\n  samples: 8\n"
                         "eval:\n  n_images: 4\n  statistics_images: 200\n";
  return path;
}

struct Fixture {
  fs::path data, task, checkpoint;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture f{temp("inverse_data"), {}, {}};
    fs::remove_all(f.data);
    fs::create_directories(f.data);
    test::write_blob_idx_images(f.data / "train-images-idx3-ubyte", 256, kSize, 1);
    test::write_blob_idx_images(f.data / "t10k-images-idx3-ubyte", 16, kSize, 2);
    f.task = write_task(f.data);
    const fs::path run = temp("inverse_prior");
    fs::remove_all(run);
    const auto r = test::run_wsdiff({"train", "--config", f.task.string(), "--out", run.string(),
                                     "--set", "model.type=gaussian", "--set", "train.device=cpu",
                                     "--set", "data.limit=200"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    f.checkpoint = run / "checkpoints" / "last.h5";
    return f;
  }();
  return f;
}

// eval measures the test images it is told to: a range, a list or a seeded random subset; the
// results and the measurement file record which, and an image's measurement (its noise
// included) is the same whichever selection it comes in.
TEST(CliInverse, EvalMeasuresTheSelectedTestImages) {
  const auto& f = fixture();
  const auto run = [&](const std::string& name, const std::vector<std::string>& sets) {
    const fs::path out = temp(name);
    fs::remove_all(out);
    std::vector<std::string> args = {"eval",
                                     "--config",
                                     f.task.string(),
                                     "--out",
                                     out.string(),
                                     "--set",
                                     "eval.methods=[wiener]",
                                     "--set",
                                     "eval.save_png=false",
                                     "--json"};
    for (const auto& s : sets) args.insert(args.end(), {"--set", s});
    const auto r = test::run_wsdiff(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto task = nlohmann::json::parse(r.out)["tasks"][0];
    const h5::File file =
        h5::File::open_read((out / task["name"].get<std::string>() / "measurements.h5").string());
    return std::tuple{task["images"], file.read_tensor("/y"), file.read_tensor("/x_true")};
  };
  const auto [range, y_range, x_range] =
      run("select_range", {"eval.images=range", "eval.first_image=3", "eval.n_images=4"});
  EXPECT_EQ(range["selection"], "range");
  EXPECT_EQ(range["indices"], nlohmann::json({3, 4, 5, 6}));
  const auto [list, y_list, x_list] =
      run("select_list", {"eval.images=list", "eval.image_list=[5,3]"});
  EXPECT_EQ(list["indices"], nlohmann::json({5, 3}));
  EXPECT_TRUE(torch::equal(x_list[0], x_range[2]));
  EXPECT_TRUE(torch::equal(x_list[1], x_range[0]));
  EXPECT_TRUE(torch::equal(y_list[0], y_range[2]));
  const auto [random, y_random, x_random] =
      run("select_random", {"eval.images=random", "eval.n_images=6", "eval.image_seed=11"});
  const auto indices = random["indices"].get<std::vector<int64_t>>();
  ASSERT_EQ(indices.size(), 6u);
  EXPECT_EQ(std::set<int64_t>(indices.begin(), indices.end()).size(), 6u);
  for (const auto i : indices) EXPECT_TRUE(i >= 0 && i < 16) << i;
  const auto [again, y_again, x_again] =
      run("select_random_again", {"eval.images=random", "eval.n_images=6", "eval.image_seed=11"});
  EXPECT_EQ(again["indices"], random["indices"]);
  const auto [other, y_other, x_other] =
      run("select_random_other", {"eval.images=random", "eval.n_images=6", "eval.image_seed=12"});
  EXPECT_NE(other["indices"], random["indices"]);
  // An index beyond the test split is one clear error.
  const auto bad = test::run_wsdiff({"eval", "--config", f.task.string(), "--out",
                                     temp("select_bad").string(), "--set", "eval.methods=[wiener]",
                                     "--set", "eval.images=list", "--set", "eval.image_list=[99]"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("image 99 is not in the test split (16 images)"), std::string::npos)
      << bad.err;
}

TEST(CliInverse, SimulateThenSolveImprovesOnTheMeasurement) {
  const auto& f = fixture();
  const fs::path meas = temp("meas.h5"), recon = temp("recon.h5");
  auto r = test::run_wsdiff({"simulate", "--config", f.task.string(), "--n", "4", "--out",
                             meas.string(), "--device", "cpu"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const h5::File m = h5::File::open_read(meas.string());
  EXPECT_EQ(m.attr_string("/", "format"), "wsdiff-measurements");
  EXPECT_EQ(m.attr_string("/", "operator"), "gaussian_blur");
  const auto truth = m.read_tensor("/x_true"), y = m.read_tensor("/y");
  ASSERT_EQ(truth.sizes(), (std::vector<int64_t>{4, 1, kSize, kSize}));
  ASSERT_EQ(y.sizes(), truth.sizes());
  // The measurement is the blurred truth plus noise of the configured level (std 0.2; the blur
  // itself changes these smooth blobs little).
  const double residual_std = (y - truth).std().item<double>();
  EXPECT_GT(residual_std, 0.15);
  EXPECT_LT(residual_std, 0.4);

  r = test::run_wsdiff({"solve", "--checkpoint", f.checkpoint.string(), "--measurements",
                        meas.string(), "--out", recon.string(), "--device", "cpu"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("PSNR"), std::string::npos) << r.err;
  const h5::File s = h5::File::open_read(recon.string());
  const auto x_hat = s.read_tensor("/x_hat");
  ASSERT_EQ(x_hat.sizes(), truth.sizes());
  const auto stored = s.read_tensor("/psnr");
  EXPECT_LT((stored - psnr(x_hat, truth)).abs().max().item<double>(), 1e-6);
  EXPECT_GT(stored.mean().item<double>(), psnr(y, truth).mean().item<double>() + 1.0);
  EXPECT_EQ(s.attr_int("/", "steps"), 100);
}

// --validation measures the validation images, the end of the training split held out of
// training (where eval chooses its data weights), with their own seeds: settings are tuned there,
// never on the test images.
TEST(CliInverse, SimulateValidationMeasuresTheEndOfTheTrainingSplit) {
  const auto& f = fixture();
  const fs::path test_meas = temp("val_test.h5"), val_meas = temp("val_val.h5");
  auto r = test::run_wsdiff({"simulate", "--config", f.task.string(), "--n", "2", "--out",
                             test_meas.string(), "--device", "cpu"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_wsdiff({"simulate", "--config", f.task.string(), "--n", "2", "--out",
                        val_meas.string(), "--device", "cpu", "--validation"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("validation images"), std::string::npos) << r.err;
  const auto train_bytes =
      test::write_blob_idx_images(temp("val_train_copy.idx"), 256, kSize, 1).to(torch::kFloat32);
  const auto last_two = (train_bytes.slice(0, 254) / 127.5 - 1.0).unsqueeze(1);
  const h5::File v = h5::File::open_read(val_meas.string());
  EXPECT_LT((v.read_tensor("/x_true") - last_two).abs().max().item<double>(), 1e-5);
  const h5::File t = h5::File::open_read(test_meas.string());
  EXPECT_GT((v.read_tensor("/x_true") - t.read_tensor("/x_true")).abs().max().item<double>(), 0.1);
  EXPECT_FALSE(torch::equal(v.read_tensor("/seeds"), t.read_tensor("/seeds")));
}

// `wsdiff bench --what solve` quotes speed with quality: its PSNR is the one `wsdiff solve` gets
// for the same images, prior and sampler (per-image seeds make both the same computation).
TEST(CliInverse, SolveBenchmarkReportsTheSolvesQuality) {
  const auto& f = fixture();
  const fs::path meas = temp("bench_meas.h5"), recon = temp("bench_recon.h5");
  auto r = test::run_wsdiff({"simulate", "--config", f.task.string(), "--n", "2", "--out",
                             meas.string(), "--device", "cpu"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> sampler = {"--set", "sampler.steps=20", "--set",
                                            "sampler.samples=2"};
  std::vector<std::string> solve = {"solve",          "--checkpoint", f.checkpoint.string(),
                                    "--measurements", meas.string(),  "--out",
                                    recon.string(),   "--device",     "cpu"};
  solve.insert(solve.end(), sampler.begin(), sampler.end());
  r = test::run_wsdiff(solve);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double solved =
      h5::File::open_read(recon.string()).read_tensor("/psnr").mean().item<double>();

  std::vector<std::string> bench = {"bench",
                                    "--what",
                                    "solve",
                                    "--checkpoint",
                                    f.checkpoint.string(),
                                    "--measurements",
                                    meas.string(),
                                    "--batch",
                                    "2",
                                    "--device",
                                    "cpu",
                                    "--json"};
  bench.insert(bench.end(), sampler.begin(), sampler.end());
  r = test::run_wsdiff(bench);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["what"], "solve");
  EXPECT_EQ(report["images"], 2);
  EXPECT_EQ(report["sampler"]["steps"], 20);
  EXPECT_NEAR(report["psnr_db"].get<double>(), solved, 1e-4);
  EXPECT_GT(report["s_per_image"].get<double>(), 0.0);
  EXPECT_GT(report["ssim"].get<double>(), 0.0);

  // More measurements than the file holds: one line, usage exit code.
  bench[8] = "3";
  r = test::run_wsdiff(bench);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("holds 2 measurements"), std::string::npos) << r.err;
}

TEST(CliInverse, EvalWritesResultsTablesAndFigure) {
  const auto& f = fixture();
  const fs::path out = temp("eval_out");
  fs::remove_all(out);
  const auto r = test::run_wsdiff({"eval", "--config", f.task.string(), "--out", out.string(),
                                   "--set", "eval.methods=[gaussian_prior,wiener,tikhonov]",
                                   "--device", "cpu", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto results = nlohmann::json::parse(r.out);
  ASSERT_EQ(results["tasks"].size(), 1u);
  const auto& task = results["tasks"][0];
  EXPECT_EQ(task["name"], "deblur");
  std::map<std::string, double> psnr_of;
  for (const auto& m : task["methods"]) {
    psnr_of[m["method"]] = m["psnr"]["mean"];
    EXPECT_EQ(m["psnr"]["per_image"].size(), 4u);
  }
  ASSERT_EQ(psnr_of.size(), 4u);  // the measurement itself and three methods
  // Wiener and Tikhonov solve the same linear-Gaussian model exactly.
  EXPECT_NEAR(psnr_of["wiener"], psnr_of["tikhonov"], 0.01);
  EXPECT_GT(psnr_of["wiener"], psnr_of["measurement"]);
  EXPECT_GT(psnr_of["gaussian_prior"], psnr_of["measurement"]);
  EXPECT_TRUE(fs::exists(out / "results.json"));
  EXPECT_TRUE(fs::exists(out / "deblur" / "figure.png"));
  EXPECT_TRUE(fs::exists(out / "deblur" / "wiener.h5"));
  std::ifstream md(out / "results.md");
  const std::string table((std::istreambuf_iterator<char>(md)), {});
  EXPECT_NE(table.find("| wiener |"), std::string::npos) << table;
}

TEST(CliInverse, BadInputsAreOneLineErrors) {
  const auto& f = fixture();
  // A checkpoint is not a measurement file.
  auto r = test::run_wsdiff({"solve", "--checkpoint", f.checkpoint.string(), "--measurements",
                             f.checkpoint.string(), "--out", temp("x.h5").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("not a wsdiff measurement file"), std::string::npos) << r.err;
  // A prior method without its checkpoint.
  r = test::run_wsdiff({"eval", "--config", f.task.string(), "--out", temp("e").string(), "--set",
                        "eval.methods=[ws_prior]"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("eval.checkpoint is empty"), std::string::npos) << r.err;
  // The Wiener filter on an operator without a transfer function.
  r = test::run_wsdiff({"eval", "--config", f.task.string(), "--out", temp("e2").string(), "--set",
                        "eval.methods=[wiener]", "--set", "task.operator=downsample"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("Fourier-diagonal"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wsd

namespace wsd {
namespace {

// Mean +- t(0.975, n-1) s / sqrt(n), computed here from the per-image values.
std::pair<double, double> expected_ci95(const std::vector<double>& v) {
  static const double kT[] = {0, 12.706, 4.303, 3.182, 2.776, 2.571};
  const double n = static_cast<double>(v.size());
  double mean = 0, ss = 0;
  for (double x : v) mean += x / n;
  for (double x : v) ss += (x - mean) * (x - mean);
  const double half = kT[v.size() - 1] * std::sqrt(ss / (n - 1)) / std::sqrt(n);
  return {mean - half, mean + half};
}

// lambda is chosen per prior method on measurements of the training split, reported with
// every trial; means carry 95% intervals; two priors get their paired difference.
TEST(CliInverse, EvalChoosesLambdaOnValidationImagesAndReportsIntervals) {
  const auto& f = fixture();
  const fs::path out = temp("eval_lambda_out");
  fs::remove_all(out);
  const auto r = test::run_wsdiff({"eval",
                                   "--config",
                                   f.task.string(),
                                   "--out",
                                   out.string(),
                                   "--set",
                                   "eval.methods=[ws_prior,conventional_prior,wiener]",
                                   "--set",
                                   "eval.checkpoint=" + f.checkpoint.string(),
                                   "--set",
                                   "eval.conventional_checkpoint=" + f.checkpoint.string(),
                                   "--set",
                                   "eval.lambda_grid=[0.01,1,100]",
                                   "--set",
                                   "eval.validation_images=3",
                                   "--set",
                                   "sampler.samples=1",
                                   "--set",
                                   "sampler.steps=20",
                                   "--device",
                                   "cpu",
                                   "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto task = nlohmann::json::parse(r.out)["tasks"][0];
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& m : task["methods"]) by_name[m["method"]] = m;
  ASSERT_TRUE(by_name.count("ws_prior")) << task.dump();
  ASSERT_TRUE(by_name.count("conventional_prior")) << task.dump();
  const auto& ws = by_name["ws_prior"];
  const auto& choice = ws["lambda_validation"];
  EXPECT_EQ(choice["images"], 3);
  EXPECT_EQ(choice["split"],
            "validation split (the last images of the train split, held out of training)");
  // The grid first, in order; widening may add weights below it (never above the bound).
  ASSERT_GE(choice["trials"].size(), 3u);
  EXPECT_EQ(choice["trials"][0]["lambda"], 0.01);
  EXPECT_EQ(choice["trials"][1]["lambda"], 1.0);
  EXPECT_EQ(choice["trials"][2]["lambda"], 100.0);
  // 100 is beyond the ws step's stability bound at 20 steps (4 / (beta_max dt) = 4): skipped
  // and marked, never chosen.
  EXPECT_EQ(choice["trials"][2].value("unstable", false), true) << choice.dump();
  EXPECT_FALSE(choice["trials"][2].contains("psnr"));
  double best = -1e9, best_lambda = 0;
  for (const auto& t : choice["trials"]) {
    if (t.contains("psnr") && t["psnr"].get<double>() > best) {
      best = t["psnr"], best_lambda = t["lambda"];
    }
  }
  EXPECT_EQ(choice["chosen"].get<double>(), best_lambda);
  // A best weight whose larger neighbour is unstable is at the stability bound, and says so.
  if (best_lambda == 1.0) {
    EXPECT_FALSE(choice["interior"].get<bool>()) << choice.dump();
    EXPECT_NE(choice["stopped_by"].get<std::string>().find("stability"), std::string::npos);
  }
  EXPECT_EQ(ws["lambda"].get<double>(), best_lambda);
  // The two stable weights differ by decades: validation PSNR must tell them apart.
  EXPECT_NE(choice["trials"][0]["psnr"], choice["trials"][1]["psnr"]);

  for (const char* metric : {"psnr", "ssim"}) {
    const auto [lo, hi] = expected_ci95(ws[metric]["per_image"].get<std::vector<double>>());
    EXPECT_NEAR(ws[metric]["ci95"][0].get<double>(), lo, 1e-9) << metric;
    EXPECT_NEAR(ws[metric]["ci95"][1].get<double>(), hi, 1e-9) << metric;
  }
  // The paired difference ws - conventional, from the per-image values.
  const auto a = ws["psnr"]["per_image"].get<std::vector<double>>();
  const auto b = by_name["conventional_prior"]["psnr"]["per_image"].get<std::vector<double>>();
  std::vector<double> diff;
  for (size_t i = 0; i < a.size(); ++i) diff.push_back(a[i] - b[i]);
  const auto [lo, hi] = expected_ci95(diff);
  EXPECT_NEAR(task["paired"]["psnr"]["ci95"][0].get<double>(), lo, 1e-9);
  EXPECT_NEAR(task["paired"]["psnr"]["ci95"][1].get<double>(), hi, 1e-9);
  std::ifstream md(out / "results.md");
  const std::string table((std::istreambuf_iterator<char>(md)), {});
  EXPECT_NE(table.find("(validation"), std::string::npos) << table;
  EXPECT_NE(table.find("Paired difference ws_prior - conventional_prior"), std::string::npos)
      << table;
}

}  // namespace
}  // namespace wsd

namespace wsd {
namespace {

// A copy of a measurement file with /y replaced.
void write_with_y(const fs::path& from, const fs::path& to, const torch::Tensor& y) {
  const h5::File in = h5::File::open_read(from.string());
  h5::File out = h5::File::create(to.string());
  out.write_tensor("/y", y);
  out.write_tensor("/x_true", in.read_tensor("/x_true"));
  out.write_tensor("/seeds", in.read_tensor("/seeds"));
  for (const char* attr : {"format", "config"}) out.set_attr("/", attr, in.attr_string("/", attr));
  out.set_attr("/", "format_version", in.attr_int("/", "format_version"));
}

// Bad measurement files and a prior of the wrong size are one-line input errors (exit 2) that
// name the file and dataset, before any sampling.
TEST(CliInverse, SolveValidatesMeasurementsAgainstTheTaskAndThePrior) {
  const auto& f = fixture();
  const fs::path meas = temp("valid_meas.h5");
  auto r = test::run_wsdiff({"simulate", "--config", f.task.string(), "--n", "2", "--out",
                             meas.string(), "--device", "cpu"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto y = h5::File::open_read(meas.string()).read_tensor("/y");
  auto with_nan = y.clone();
  with_nan[1][0][3][4] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::pair<torch::Tensor, std::string>> cases = {
      {with_nan, "NaN or Inf"},
      {y.narrow(2, 0, 8).narrow(3, 0, 8).contiguous(), "expected [N, 1, 16, 16]"},
      {y.select(1, 0).contiguous(), "expected [N, 1, 16, 16]"}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const fs::path bad = temp("bad_meas_" + std::to_string(i) + ".h5");
    write_with_y(meas, bad, cases[i].first);
    r = test::run_wsdiff({"solve", "--checkpoint", f.checkpoint.string(), "--measurements",
                          bad.string(), "--out", temp("never.h5").string(), "--device", "cpu"});
    EXPECT_EQ(r.exit_code, 2) << i << r.err;
    EXPECT_NE(r.err.find(bad.string() + ": dataset /y"), std::string::npos) << i << r.err;
    EXPECT_NE(r.err.find(cases[i].second), std::string::npos) << i << r.err;
    EXPECT_FALSE(fs::exists(temp("never.h5")));
  }
  // A 32 x 32 network for these 16 x 16 measurements.
  const fs::path network = temp("network_32.h5");
  r = test::run_wsdiff({"import", "--from", test::reference_fixture(), "--out", network.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_wsdiff({"solve", "--checkpoint", network.string(), "--measurements", meas.string(),
                        "--out", temp("never.h5").string(), "--device", "cpu"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("models 1 x 32 x 32 images, but the task's unknowns are 1 x 16 x 16"),
            std::string::npos)
      << r.err;
}

// Measurements a user brings, packed with the task that declares them, solve as simulated ones:
// the same y (from an HDF5 array) gives the same reconstruction and PSNR, without a truth there
// is no PSNR, and arrays that do not fit the task are one-line errors naming the file.
TEST(CliInverse, PackedMeasurementsSolveLikeSimulatedOnes) {
  const auto& f = fixture();
  const fs::path meas = temp("pack_sim.h5"), arrays = temp("pack_arrays.h5");
  auto r = test::run_wsdiff({"simulate", "--config", f.task.string(), "--n", "3", "--out",
                             meas.string(), "--device", "cpu"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const h5::File m = h5::File::open_read(meas.string());
  const auto y = m.read_tensor("/y"), truth = m.read_tensor("/x_true");
  {
    h5::File out = h5::File::create(arrays.string());
    out.write_tensor("/y", y.squeeze(1).contiguous());  // [N, H, W] is taken as one channel
    out.write_tensor("/x_true", truth);
    out.write_tensor("/too_big", (y * 255.0).contiguous());
    out.write_tensor("/small", y.narrow(3, 0, 12).contiguous());
  }
  const auto solve = [&](const fs::path& in, const fs::path& out) {
    return test::run_wsdiff({"solve", "--checkpoint", f.checkpoint.string(), "--measurements",
                             in.string(), "--out", out.string(), "--device", "cpu"});
  };
  const fs::path packed = temp("pack_packed.h5"), bare = temp("pack_bare.h5");
  const std::vector<std::string> declare = {"--config", f.task.string(), "--set",
                                            "data.float_range=symmetric"};
  const auto pack = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "pack");
    args.insert(args.end(), declare.begin(), declare.end());
    return test::run_wsdiff(args);
  };
  r = pack({"--images", arrays.string(), "--truth", arrays.string(), "--out", packed.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = pack({"--images", arrays.string(), "--out", bare.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("no ground truth"), std::string::npos) << r.err;

  ASSERT_EQ(solve(meas, temp("pack_sim_recon.h5")).exit_code, 0);
  ASSERT_EQ(solve(packed, temp("pack_packed_recon.h5")).exit_code, 0);
  r = solve(bare, temp("pack_bare_recon.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const h5::File a = h5::File::open_read(temp("pack_sim_recon.h5").string());
  const h5::File b = h5::File::open_read(temp("pack_packed_recon.h5").string());
  const h5::File c = h5::File::open_read(temp("pack_bare_recon.h5").string());
  EXPECT_TRUE(torch::allclose(a.read_tensor("/x_hat"), b.read_tensor("/x_hat"), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(a.read_tensor("/x_hat"), c.read_tensor("/x_hat"), 0, 1e-6));
  EXPECT_LT((a.read_tensor("/psnr") - b.read_tensor("/psnr")).abs().max().item<double>(), 1e-5);
  EXPECT_FALSE(c.exists("/psnr"));

  // eval scores a packed file like the simulated one it came from (Wiener: no prior needed),
  // and a file without truth cannot be scored.
  const auto eval_wiener = [&](const std::string& name, const std::vector<std::string>& sets) {
    std::vector<std::string> args = {
        "eval",   "--config", f.task.string(),         "--out", temp(name).string(),
        "--json", "--set",    "eval.methods=[wiener]", "--set", "eval.save_png=false"};
    for (const auto& set : sets) args.insert(args.end(), {"--set", set});
    return test::run_wsdiff(args);
  };
  r = eval_wiener("pack_eval_sim", {"eval.n_images=3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto simulated = nlohmann::json::parse(r.out)["tasks"][0];
  r = eval_wiener("pack_eval_file", {"eval.measurements=" + packed.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto packed_task = nlohmann::json::parse(r.out)["tasks"][0];
  EXPECT_EQ(packed_task["images"]["file"], packed.string());
  EXPECT_EQ(packed_task["n_images"], 3);
  EXPECT_NEAR(packed_task["methods"][1]["psnr"]["mean"].get<double>(),
              simulated["methods"][1]["psnr"]["mean"].get<double>(), 1e-4);
  r = eval_wiener("pack_eval_bare", {"eval.measurements=" + bare.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(bare.string() + ": no ground truth (/x_true)"), std::string::npos) << r.err;

  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--images", arrays.string(), "--dataset", "/small"},
       "dataset /small is [3, 1, 16, 12], a measurement must be [N, 1, 16, 16] for the task"},
      {{"--images", arrays.string(), "--dataset", "/too_big"},
       "of the measurement values lie outside"},
      {{"--images", arrays.string(), "--dataset", "/missing"}, "no dataset /missing"},
      {{"--images", temp("pack_nothing").string()}, "no such file or folder"}};
  for (const auto& [args, message] : bad) {
    auto all = args;
    all.insert(all.end(), {"--out", temp("pack_never.h5").string()});
    r = pack(all);
    EXPECT_EQ(r.exit_code, 2) << message << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(temp("pack_never.h5")));
  }
}

// Settings that cannot work are refused before any compute, in one line with exit 2: a data
// weight beyond the ws step's stability bound, a --set of the task the measurement file fixes,
// an output path that cannot be written. A reverse process that diverges anyway (the
// normalised_gradient step has no computable bound) stops with exit 1, naming the setting, and
// writes nothing.
TEST(CliInverse, UnworkableSettingsFailFastWithOneLine) {
  const auto& f = fixture();
  const fs::path meas = temp("fail_fast_meas.h5"), never = temp("fail_fast_never.h5");
  auto r = test::run_wsdiff({"simulate", "--config", f.task.string(), "--n", "2", "--out",
                             meas.string(), "--device", "cpu"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto solve = [&](std::vector<std::string> extra, const fs::path& out) {
    std::vector<std::string> args = {"solve",          "--checkpoint", f.checkpoint.string(),
                                     "--measurements", meas.string(),  "--out",
                                     out.string(),     "--device",     "cpu"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_wsdiff(args);
  };
  // Progress lines may come first; the failure is one line, the last.
  const auto one_line = [](const test::ProcessResult& r) {
    const auto at = r.err.find("error: ");
    return at != std::string::npos && r.err.find('\n', at) + 1 == r.err.size();
  };
  // 100 steps, ||A||^2 = 1: the ws step is stable for lambda < 4 / (beta_max dt) ~ 20.
  r = solve({"--set", "sampler.lambda=1e4", "--set", "sampler.samples=1"}, never);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("stable only for lambda < 20"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("100 euler steps"), std::string::npos) << r.err;
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_FALSE(fs::exists(never));

  r = solve({"--set", "task.operator=identity"}, never);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("fixes the task"), std::string::npos) << r.err;

  const fs::path blocker = temp("fail_fast_a_file");
  std::ofstream(blocker) << "x";
  r = solve({}, blocker / "x.h5");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--out '" + (blocker / "x.h5").string() + "'"), std::string::npos) << r.err;
  EXPECT_TRUE(one_line(r)) << r.err;
  r = test::run_wsdiff({"sample", "--checkpoint", f.checkpoint.string(), "--out",
                        (blocker / "samples").string(), "--n", "2"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("cannot create the folder"), std::string::npos) << r.err;
  r = test::run_wsdiff(
      {"simulate", "--config", f.task.string(), "--n", "2", "--out", (blocker / "m.h5").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;

  // `jalal`, the step's earlier name, still selects it.
  r = solve({"--set", "sampler.likelihood=jalal", "--set", "sampler.lambda=1e8", "--set",
             "sampler.samples=1"},
            never);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("sampling diverged at step"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sampler.lambda 1e+08"), std::string::npos) << r.err;
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_FALSE(fs::exists(never));
}

}  // namespace
}  // namespace wsd
