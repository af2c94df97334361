#pragma once

// Builds the forward operator a task config describes, for images of shape [C, H, W]. Bad
// values (also those a hand-built TaskConfig may carry past the schema) throw InputError naming
// the task key, e.g. "task.downsample_factor 3 does not divide image size 32x32".
//
// task.operator -> operator, keys used:
//   identity                -
//   gaussian_blur           blur_sigma, kernel_size, boundary
//   box_blur                kernel_size, boundary
//   motion_blur             motion_length, motion_angle_deg, boundary
//   downsample              downsample_factor
//   inpaint                 mask_kind, mask_fraction (removed), seed (random masks),
//                           mask_file (mask_kind file)
//   psf                     psf_file, psf_centre, boundary
//   transfer_function       transfer_file
//   laplace                 laplace_c, pixel_size
//   idt                     wavelength, na, pixel_size, led_grid, led_na_spacing, absorption

#include <vector>

#include "core/config/config_types.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

LinearOperator make_operator(const TaskConfig& task, const std::vector<int64_t>& input_shape);

// How a task's unknown is made from single-channel images of the data, for operators whose
// unknown is not an image of the data's own channels (IDT: phase, or absorption and phase):
// channel c holds scale[c] times an image of its own, independent of the other channels'. Empty
// for every other operator: the unknown is the data's image as it is.
std::vector<double> unknown_channel_scales(const TaskConfig& task);

// [C, H, W] of a task's unknown for data images of `data_channels` x size x size.
std::vector<int64_t> unknown_shape(const TaskConfig& task, int64_t data_channels, int64_t size);

}  // namespace wsd
