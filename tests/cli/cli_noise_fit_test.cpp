// `wsdiff noise fit` and the measured family through the executable: the written file and the
// report, bad frames, and a prior trained with measured noise that still loads and samples once
// its spectrum file is gone.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "core/checkpoint/checkpoint.hpp"
#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "core/model/prior_loader.hpp"
#include "core/noise/noise_spectrum_file.hpp"
#include "tests/support/process.hpp"
#include "tests/support/synthetic_idx.hpp"
#include "tests/support/tiny_run.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

fs::path temp(const std::string& name) { return fs::path(::testing::TempDir()) / name; }

size_t line_count(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// `n` frames [n, 1, h, w] float32 of anisotropic noise (correlated along y), pixel std ~0.05.
std::string write_frames(const std::string& name, int64_t n, int64_t h, int64_t w) {
  auto gen = at::detail::createCPUGenerator(3);
  auto e = torch::randn({n, 1, h + 2, w}, gen, torch::kFloat64);
  const auto frames =
      0.05 * (e.slice(2, 0, h) + e.slice(2, 1, h + 1) + e.slice(2, 2, h + 2)) / std::sqrt(3.0);
  const std::string path = temp(name).string();
  write_h5_atomically(path,
                      [&](h5::File& f) { f.write_tensor("/frames", frames.to(torch::kFloat32)); });
  return path;
}

TEST(CliNoiseFit, WritesTheSpectrumFileAndReportsTheEstimate) {
  const std::string frames = write_frames("fit_frames.h5", 24, 16, 12);
  const std::string out = temp("fit_noise.h5").string();
  fs::remove(out);
  const auto r = test::run_wsdiff({"noise", "fit", "--frames", frames, "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const NoiseSpectrum spectrum = read_noise_spectrum(out);
  EXPECT_EQ(spectrum.power.sizes(), (std::vector<int64_t>{16, 7}));
  EXPECT_EQ(spectrum.power_se.sizes(), (std::vector<int64_t>{16, 7}));
  EXPECT_EQ(spectrum.frames, 24);
  EXPECT_EQ(spectrum.height, 16);
  EXPECT_EQ(spectrum.width, 12);
  EXPECT_EQ(spectrum.mean_removal, "frame");
  EXPECT_EQ(spectrum.source, frames);
  const h5::File file = h5::File::open_read(out);
  EXPECT_EQ(file.attr_string("/", "format"), kNoiseSpectrumFormat);
  EXPECT_EQ(file.attr_int("/", "format_version"), kNoiseSpectrumFormatVersion);
  EXPECT_NEAR(file.attr_double("/", "pixel_variance"), spectrum.pixel_variance, 1e-15);
  // Three-row averages of white noise: correlated along y, so power falls along fy only.
  EXPECT_GT(spectrum.power[0][4].item<double>(), 3.0 * spectrum.power[6][0].item<double>());

  // The report: frames, the pixel std as stored, one line per band.
  EXPECT_NE(r.out.find("24 frames 16 x 12"), std::string::npos) << r.out;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(r.out, match, std::regex("pixel std ([0-9.eE+-]+)"))) << r.out;
  EXPECT_NEAR(std::stod(match[1]), std::sqrt(spectrum.pixel_variance),
              1e-5 * std::sqrt(spectrum.pixel_variance));
  EXPECT_NEAR(std::stod(match[1]), 0.05, 0.01);
  for (int b = 0; b < 8; ++b) {
    EXPECT_TRUE(std::regex_search(r.out, std::regex("\\n" + std::to_string(b) + " +0\\.")))
        << "band " << b << "\n"
        << r.out;
  }

  const std::string temporal = temp("fit_noise_temporal.h5").string();
  const auto t = test::run_wsdiff(
      {"noise", "fit", "--frames", frames, "--out", temporal, "--mean", "temporal"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_EQ(read_noise_spectrum(temporal).mean_removal, "temporal");
}

TEST(CliNoiseFit, BadFramesExitWithTwoAndOneLineNamingTheFile) {
  const std::string one = write_frames("one_frame.h5", 1, 8, 8);
  const std::string out = temp("bad_fit.h5").string();
  auto r = test::run_wsdiff({"noise", "fit", "--frames", one, "--out", out});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("wsdiff noise: error: " + one + ": 1 frame(s)"), std::string::npos) << r.err;

  const std::string frames = write_frames("dataset_frames.h5", 4, 8, 8);
  r = test::run_wsdiff({"noise", "fit", "--frames", frames, "--dataset", "/images", "--out", out});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(frames + ": has no dataset '/images'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));

  r = test::run_wsdiff({"noise", "fit", "--frames", frames, "--out", out, "--mean", "median"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;

  // The plain `noise` command still needs its --out.
  r = test::run_wsdiff({"noise", "--n", "2"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;

  r = test::run_wsdiff({"noise", "fit", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("image units"), std::string::npos) << r.out;
}

// A shipped prior is one file: a prior trained with the measured family carries its spectrum,
// and loads and samples after the spectrum file is deleted.
TEST(CliNoiseFit, APriorTrainedWithMeasuredNoiseNeedsNoSpectrumFile) {
  const std::string frames = write_frames("prior_frames.h5", 8, 8, 8);
  const std::string spectrum = temp("prior_noise.h5").string();
  auto r = test::run_wsdiff({"noise", "fit", "--frames", frames, "--out", spectrum});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto fitted = read_noise_spectrum(spectrum);

  const fs::path data = test::write_tiny_dataset(temp("measured_prior_data"));
  const fs::path run = temp("measured_prior_run");
  fs::remove_all(run);
  r = test::run_wsdiff(
      test::tiny_train_args(run, data, 2,
                            {"noise.family=measured", "noise.spectrum_file=" + spectrum,
                             "noise.spectrum_white_fraction=0.1", "train.ema_decay=0.5"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string last = (run / "checkpoints" / "last.h5").string();
  const std::string shipped = temp("measured_prior.h5").string();
  r = test::run_wsdiff({"export", "--checkpoint", last, "--out", shipped});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  fs::remove(spectrum);
  for (const auto& prior : {last, shipped}) {
    const Checkpoint checkpoint = load_checkpoint(prior);
    ASSERT_TRUE(checkpoint.measured_noise_power.defined()) << prior;
    const auto loaded = load_prior(checkpoint, prior, true, torch::kCPU);
    const auto expected =
        0.9 * fitted.power / fitted.pixel_variance + 0.1;  // spectrum_white_fraction 0.1
    EXPECT_TRUE(torch::allclose(loaded->noise().psd(8, 8), expected, 1e-12, 1e-12)) << prior;

    const fs::path samples = temp("measured_prior_samples");
    fs::remove_all(samples);
    r = test::run_wsdiff(
        {"sample", "--checkpoint", prior, "--out", samples.string(), "--n", "2", "--steps", "4"});
    EXPECT_EQ(r.exit_code, 0) << prior << "\n" << r.err;
    EXPECT_TRUE(fs::exists(samples / "samples.h5")) << prior;
  }
}

// As a task's measurement noise: simulate draws it and eval's Wiener filter models it; a file
// of another size is one error naming it.
TEST(CliNoiseFit, MeasuredNoiseIsATasksMeasurementNoise) {
  const std::string frames = write_frames("task_frames.h5", 8, 16, 16);
  const std::string spectrum = temp("task_noise.h5").string();
  auto r = test::run_wsdiff({"noise", "fit", "--frames", frames, "--out", spectrum});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Enough training images for any held-out validation share.
  const fs::path data = temp("measured_task_data");
  fs::remove_all(data);
  fs::create_directories(data);
  test::write_blob_idx_images(data / "train-images-idx3-ubyte", 1200, 16, 1);
  test::write_blob_idx_images(data / "t10k-images-idx3-ubyte", 8, 16, 2);
  const fs::path config = temp("measured_task.yaml");
  std::ofstream(config) << "data: {path: " << data.string() << ", image_size: 16}\n"
                        << "model: {image_size: 16, n_channels: 32, ch_mults: [1], "
                           "is_attn: [false], n_blocks: 1}\n"
                        << "task:\n  operator: identity\n  noise_level: 0.05\n"
                        << "  noise: {family: measured, spectrum_file: " << spectrum << "}\n"
                        << "eval: {methods: [wiener], n_images: 2, statistics_images: 32}\n";
  const fs::path measurements = temp("measured_task_y.h5");
  r = test::run_wsdiff(
      {"simulate", "--config", config.string(), "--n", "2", "--out", measurements.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const h5::File file = h5::File::open_read(measurements.string());
  const auto b =
      file.read_tensor("/y").to(torch::kFloat64) - file.read_tensor("/x_true").to(torch::kFloat64);
  EXPECT_GT(b.std().item<double>(), 0.02);
  EXPECT_LT(b.std().item<double>(), 0.1);

  const fs::path eval = temp("measured_task_eval");
  fs::remove_all(eval);
  r = test::run_wsdiff({"eval", "--config", config.string(), "--out", eval.string(), "--set",
                        "eval.save_png=false"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = test::run_wsdiff({"simulate", "--config", config.string(), "--n", "2", "--out",
                        measurements.string(), "--set", "data.image_size=8", "--set",
                        "model.image_size=8"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // One error line (progress lines may precede it) naming the file and both sizes.
  const auto at = r.err.find("wsdiff simulate: error: " + spectrum);
  ASSERT_NE(at, std::string::npos) << r.err;
  const std::string error = r.err.substr(at);
  EXPECT_EQ(line_count(error), 1u) << r.err;
  EXPECT_NE(error.find("16 x 16"), std::string::npos) << r.err;
  EXPECT_NE(error.find("8 x 8"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wsd
