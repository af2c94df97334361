#include "cli/command_noise_fit.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/output_paths.hpp"
#include "core/noise/noise_spectrum_fit.hpp"
#include "data/noise_frames.hpp"

namespace wsd::cli {
namespace {

struct NoiseFitOptions {
  std::string frames;
  std::string dataset = "/frames";
  std::string out;
  std::string mean = "frame";
};

// The report goes to stdout: what the estimate rests on, the pixel std to use as
// task.noise_level, and per band the power with its relative standard error.
void print_report(const NoiseSpectrumFit& fit, const std::string& units, const std::string& out) {
  const NoiseSpectrum& s = fit.spectrum;
  std::cout << fmt::format("noise spectrum of {} frames {} x {} from {} ({}; {} mean removed)\n",
                           s.frames, s.height, s.width, s.source, units, s.mean_removal);
  std::cout << fmt::format("pixel std {:.6g} (image units; use it as task.noise_level)\n",
                           fit.pixel_std);
  std::cout << "band  |f| (cycles/px)  frequencies  power        relative se\n";
  for (size_t b = 0; b < fit.bands.size(); ++b) {
    const NoiseBand& band = fit.bands[b];
    std::cout << fmt::format("{:<5d} {:.4f}-{:<8.4f} {:>11d}  {:<12.6g} {:.4f}\n", b, band.f_low,
                             band.f_high, band.frequencies, band.power, band.relative_se);
  }
  std::cout << "-> " << out << "\n";
}

int run_noise_fit(const NoiseFitOptions& o) {
  refuse_output_over_inputs(o.out, "--out", {{"--frames", o.frames}});
  ensure_writable_file(o.out, "--out");
  const NoiseFrames frames = read_noise_frames(o.frames, o.dataset);
  const NoiseSpectrumFit fit = fit_noise_spectrum(
      frames.frames, o.mean == "temporal" ? MeanRemoval::kTemporal : MeanRemoval::kFrame, o.frames);
  write_noise_spectrum(o.out, fit.spectrum);
  print_report(fit, frames.units, o.out);
  return 0;
}

}  // namespace

Command add_noise_fit_command(CLI::App& noise) {
  auto* app = noise.add_subcommand(
      "fit",
      "Estimate a stationary noise power spectrum from blank, dark or background frames, for "
      "noise.family measured (noise.spectrum_file). Frames are brought to image units ([-1, 1] "
      "images): 8-bit pixels p as p / 127.5 - 1, float HDF5 frames taken as already in image "
      "units. Prints the pixel std (the task.noise_level to use) and, per radial frequency band, "
      "the power and its relative standard error");
  auto o = std::make_shared<NoiseFitOptions>();
  app->add_option("--frames", o->frames,
                  "HDF5 file ([N, H, W] or [N, 1, H, W], uint8 or float) or folder of gray "
                  "images, all of one size; at least 2 frames")
      ->required();
  app->add_option("--dataset", o->dataset, "HDF5: the frames' dataset")->capture_default_str();
  app->add_option("-o,--out", o->out, "spectrum file (.h5: /power, /power_se and attributes)")
      ->required();
  app->add_option("--mean", o->mean,
                  "frame: remove each frame's own mean (keeps fixed-pattern noise, the DC power "
                  "is its neighbours'); temporal: remove the per-pixel mean over the frames "
                  "(removes fixed-pattern noise)")
      ->check(CLI::IsMember({"frame", "temporal"}))
      ->capture_default_str();
  return {app, [=]() { return run_noise_fit(*o); }};
}

}  // namespace wsd::cli
