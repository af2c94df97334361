#pragma once

// Measurements a user brings: images or arrays that did not come from `wsdiff simulate`, packed
// with the task that declares their operator and noise into the measurement file format
// (infer/eval/measurement_set.hpp), so that `wsdiff solve` takes them as it takes simulated ones.
//
// Where they may come from (`path`):
// - a folder of image files (PNG/JPEG/BMP/TGA/PGM/PPM, sorted by path): 8-bit pixels map to
//   [-1, 1] as p / 127.5 - 1, like training images; gray files for one-channel measurements, RGB
//   for three (an RGB file whose channels are equal counts as gray);
// - one image file, as a folder of one;
// - an HDF5 file (extension .h5 or .hdf5) with `dataset` [N, C, H, W] or [N, H, W]: uint8 as
//   above, floats as data.float_range says (unit: [0, 1], symmetric: already [-1, 1]), which is
//   how measurements that are not images (a Laplacian, IDT's intensity contrasts) come in.
// Every array must have the operator's output shape exactly: measurements are never resized,
// which would change their physics.

#include <torch/types.h>

#include <string>
#include <vector>

#include "core/config/config_types.hpp"
#include "infer/eval/measurement_set.hpp"

namespace wsd {

// [N, per_image...] float32 in image units from `path` (above); `what` names the role ("the
// measurements", "the ground truth") in errors. Throws InputError naming the file for a shape,
// channel or value problem (NaN, a float outside its declared range).
torch::Tensor read_user_arrays(const std::string& path, const std::string& dataset,
                               FloatRange float_range, const std::vector<int64_t>& per_image,
                               const std::string& what);

// The measurement set of the task `config` declares: y from `images`, and x_true from `truth`
// when it is not empty (then PSNR and SSIM can be reported). Measurements of an image-valued
// operator (MeasurementTraits::is_image) far outside the image range are refused: they are in
// other units than the prior's. Each measurement gets the seed its index would have in a
// simulated set, for the steps that draw noise.
MeasurementSet pack_measurements(const Config& config, const std::string& images,
                                 const std::string& truth, const std::string& dataset);

}  // namespace wsd
