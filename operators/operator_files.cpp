#include "operators/operator_files.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/io/h5_file.hpp"
#include "core/util/errors.hpp"
#include "data/image_decode.hpp"

namespace wsd {
namespace {

// Where a file's errors are reported: "task.psf_file 'path': what".
struct FileSource {
  std::string key;
  std::string path;

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(key + " '" + path + "': " + what);
  }
};

std::string shape_text(torch::IntArrayRef sizes) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  out << ']';
  return out.str();
}

bool is_hdf5(const std::string& path) {
  static constexpr std::array<char, 8> kSignature{'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  std::array<char, 8> head{};
  std::ifstream in(path, std::ios::binary);
  in.read(head.data(), head.size());
  return in.gcount() == static_cast<std::streamsize>(head.size()) && head == kSignature;
}

// The array a file holds, float64: an HDF5 dataset as stored, an image's gray pixels in [0, 1]
// (8-bit levels kept exact).
torch::Tensor read_array(const FileSource& src, const std::string& dataset, bool allow_image) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(src.path, ec)) src.fail("no such file");
  if (is_hdf5(src.path)) {
    try {
      const auto file = h5::File::open_read(src.path);
      if (!file.exists(dataset)) src.fail("has no dataset " + dataset);
      return file.read_tensor(dataset).to(torch::kFloat64);
    } catch (const h5::H5Error& e) {
      src.fail(std::string("unreadable HDF5: ") + e.what());
    }
  }
  if (!allow_image) src.fail("is not an HDF5 file (it must hold " + dataset + ")");
  torch::Tensor image;
  try {
    image = decode_image(src.path);
  } catch (const InputError& e) {
    src.fail(std::string("neither HDF5 nor a readable image: ") + e.what());
  }
  if (image.size(0) != 1) src.fail("is a colour image; it must be gray (one channel)");
  return torch::round((image[0].to(torch::kFloat64) + 1.0) * 127.5) / 255.0;
}

// A 2D array, also from [1, S1, S2].
torch::Tensor as_plane(const FileSource& src, torch::Tensor a, const std::string& what) {
  if (a.dim() == 3 && a.size(0) == 1) a = a[0];
  if (a.dim() != 2 || a.numel() == 0) {
    src.fail(what + " must be a 2D array, got shape " + shape_text(a.sizes()));
  }
  if (!torch::isfinite(a).all().item<bool>()) src.fail("holds NaN or infinite values");
  return a;
}

}  // namespace

torch::Tensor read_psf(const std::string& path, PsfCentre centre) {
  const FileSource src{"task.psf_file", path};
  auto psf = as_plane(src, read_array(src, "/psf", true), "the PSF");
  const double sum = psf.sum().item<double>();
  if (!(sum > 0)) {
    src.fail("sums to " + std::to_string(sum) + "; a PSF must have a positive sum");
  }
  if (std::abs(sum - 1.0) > 1e-9) {
    spdlog::info("{} '{}': PSF normalised from sum {:.6g} to 1", src.key, path, sum);
    psf = psf / sum;
  }
  if (centre == PsfCentre::kCorner) {
    psf = torch::roll(psf, {psf.size(0) / 2, psf.size(1) / 2}, {0, 1});
  }
  // Origin at (S/2, S/2): an even side gets a zero at its end, so the origin is its middle.
  return torch::constant_pad_nd(psf, {0, 1 - psf.size(1) % 2, 0, 1 - psf.size(0) % 2}, 0.0)
      .contiguous();
}

torch::Tensor read_transfer_function(const std::string& path, int64_t h, int64_t w) {
  const FileSource src{"task.transfer_file", path};
  auto stored = read_array(src, "/transfer", false);
  const int64_t half = w / 2 + 1;
  const std::string expected = "[" + std::to_string(h) + ", " + std::to_string(half) + "]";
  const bool real = stored.dim() == 2;
  if (!(real || (stored.dim() == 3 && stored.size(2) == 2)) || stored.size(0) != h ||
      stored.size(1) != half) {
    src.fail("/transfer is " + shape_text(stored.sizes()) + "; a " + std::to_string(h) + "x" +
             std::to_string(w) + " image needs " + expected + " (real) or " +
             expected.substr(0, expected.size() - 1) + ", 2] (real, imaginary) on the rfft2 grid");
  }
  if (!torch::isfinite(stored).all().item<bool>()) src.fail("holds NaN or infinite values");
  const auto t =
      real ? stored.to(torch::kComplexDouble) : torch::view_as_complex(stored.contiguous());
  const double scale = t.abs().max().item<double>();
  if (!(scale > 0)) src.fail("/transfer is zero everywhere");

  // Row ky of the mirrored grid holds T(-ky) = T((h - ky) mod h).
  const auto mirror = torch::remainder(h - torch::arange(h), h);
  const auto conj_mirror = t.index_select(0, mirror).conj();
  std::vector<int64_t> self_mirrored = {0};
  if (w % 2 == 0) self_mirrored.push_back(w / 2);
  for (const int64_t kx : self_mirrored) {
    const auto gap = (t.select(1, kx) - conj_mirror.select(1, kx)).abs();
    const double worst = gap.max().item<double>();
    if (worst > 1e-6 * scale) {
      const auto row = gap.argmax().item<int64_t>();
      src.fail("column kx = " + std::to_string(kx) + " is not Hermitian: T(ky = " +
               std::to_string(row) + ") differs from conj T(-ky) by " + std::to_string(worst) +
               " (DC and Nyquist bins must be real; real images need T(-f) = conj T(f))");
    }
  }
  // Columns past W/2: T(ky, kx) = conj T(-ky, w - kx).
  const auto rest = conj_mirror.slice(1, 1, w - w / 2).flip({1});
  auto full = torch::cat({t, rest}, 1);
  // Within the tolerance above; exact from here on.
  for (const int64_t kx : self_mirrored) {
    full.select(1, kx).copy_(0.5 * (t.select(1, kx) + conj_mirror.select(1, kx)));
  }
  return full.view({1, 1, h, w});
}

torch::Tensor read_mask(const std::string& path, int64_t h, int64_t w) {
  const FileSource src{"task.mask_file", path};
  const auto mask = as_plane(src, read_array(src, "/mask", true), "the mask");
  if (mask.size(0) != h || mask.size(1) != w) {
    src.fail("the mask is " + std::to_string(mask.size(0)) + "x" + std::to_string(mask.size(1)) +
             "; the image is " + std::to_string(h) + "x" + std::to_string(w));
  }
  if (mask.min().item<double>() < 0 || mask.max().item<double>() > 1) {
    src.fail("mask weights must lie in [0, 1], found [" +
             std::to_string(mask.min().item<double>()) + ", " +
             std::to_string(mask.max().item<double>()) + "]");
  }
  if (!(mask.max().item<double>() > 0)) src.fail("the mask keeps no pixel (all weights 0)");
  const bool binary = ((mask == 0) | (mask == 1)).all().item<bool>();
  spdlog::info("{} '{}': {} mask, mean weight {:.4f}", src.key, path,
               binary ? "binary" : "weighted", mask.mean().item<double>());
  return mask.contiguous();
}

}  // namespace wsd
