#include "core/noise/noise_spectrum_file.hpp"

#include <torch/torch.h>

#include <filesystem>

#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"
#include "core/util/shape_text.hpp"

namespace wsd {
namespace {

h5::File open_spectrum_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) {
    throw InputError(path + ": no such noise spectrum file (write one with `wsdiff noise fit`)");
  }
  if (fs::is_directory(status)) {
    throw InputError(path +
                     ": is a folder; a noise spectrum file from `wsdiff noise fit` is needed");
  }
  try {
    return h5::File::open_read(path);
  } catch (const h5::H5Error&) {
    throw InputError(path +
                     ": not a readable noise spectrum file (not HDF5, truncated or corrupt)");
  }
}

}  // namespace

double full_grid_mean(const torch::Tensor& power, int64_t width) {
  const int64_t h = power.size(-2);
  const auto multiplicity = rfft2_multiplicity(h, width);
  return ((power.to(torch::kFloat64) * multiplicity).sum() / static_cast<double>(h * width))
      .item<double>();
}

void write_noise_spectrum(const std::string& path, const NoiseSpectrum& spectrum) {
  write_h5_atomically(path, [&](h5::File& file) {
    file.set_attr("/", "format", std::string(kNoiseSpectrumFormat));
    file.set_attr("/", "format_version", kNoiseSpectrumFormatVersion);
    file.write_tensor("/power", spectrum.power.to(torch::kCPU, torch::kFloat64).contiguous());
    file.set_attr("/power", "units",
                  std::string("E|rfft2_ortho(n)|^2 per frequency, image units ([-1, 1] images); "
                              "mean over the full grid = pixel variance"));
    if (spectrum.power_se.defined()) {
      file.write_tensor("/power_se",
                        spectrum.power_se.to(torch::kCPU, torch::kFloat64).contiguous());
    }
    file.set_attr("/", "frames", spectrum.frames);
    file.set_attr("/", "height", spectrum.height);
    file.set_attr("/", "width", spectrum.width);
    file.set_attr("/", "pixel_variance", spectrum.pixel_variance);
    file.set_attr("/", "mean_removal", spectrum.mean_removal);
    file.set_attr("/", "source", spectrum.source);
  });
}

NoiseSpectrum read_noise_spectrum(const std::string& path) {
  const h5::File file = open_spectrum_file(path);
  try {
    if (!file.has_attr("/", "format") || file.attr_string("/", "format") != kNoiseSpectrumFormat) {
      throw InputError(path + ": not a wsdiff noise spectrum file (no format \"" +
                       std::string(kNoiseSpectrumFormat) +
                       "\" attribute; write one with `wsdiff noise fit`)");
    }
    const int64_t version = file.attr_int("/", "format_version");
    if (version != kNoiseSpectrumFormatVersion) {
      throw InputError(path + ": noise spectrum format_version " + std::to_string(version) +
                       "; this wsdiff reads version " +
                       std::to_string(kNoiseSpectrumFormatVersion));
    }
    NoiseSpectrum spectrum;
    spectrum.height = file.attr_int("/", "height");
    spectrum.width = file.attr_int("/", "width");
    spectrum.frames = file.has_attr("/", "frames") ? file.attr_int("/", "frames") : 0;
    spectrum.mean_removal =
        file.has_attr("/", "mean_removal") ? file.attr_string("/", "mean_removal") : "";
    spectrum.source = file.has_attr("/", "source") ? file.attr_string("/", "source") : "";
    if (!file.exists("/power")) throw InputError(path + ": has no /power dataset");
    const std::vector<int64_t> expected = {spectrum.height, spectrum.width / 2 + 1};
    const auto read = [&](const std::string& name) {
      auto t = file.read_tensor(name);
      if (!t.is_floating_point()) throw InputError(path + ": " + name + " is not floating point");
      t = t.to(torch::kFloat64);
      if (t.sizes().vec() != expected) {
        throw InputError(path + ": " + name + " is " + shape_text(t.sizes().vec()) + ", expected " +
                         shape_text(expected) + " for height " + std::to_string(spectrum.height) +
                         " and width " + std::to_string(spectrum.width));
      }
      if (!torch::isfinite(t).all().item<bool>() || (t < 0).any().item<bool>()) {
        throw InputError(path + ": " + name + " holds negative, NaN or infinite values");
      }
      return t;
    };
    if (spectrum.height < 1 || spectrum.width < 1) {
      throw InputError(path + ": height and width must be positive");
    }
    spectrum.power = read("/power");
    if (file.exists("/power_se")) spectrum.power_se = read("/power_se");
    spectrum.pixel_variance = full_grid_mean(spectrum.power, spectrum.width);
    if (!(spectrum.pixel_variance > 0)) {
      throw InputError(path + ": the spectrum's pixel variance is 0 (the frames were constant)");
    }
    return spectrum;
  } catch (const h5::H5Error& e) {
    throw InputError(path + ": cannot read the noise spectrum file: " + e.what());
  }
}

}  // namespace wsd
