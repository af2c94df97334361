#include "operators/operator_factory.hpp"

#include <string>

#include "core/config/config_error.hpp"
#include "core/config/config_validation.hpp"
#include "core/util/errors.hpp"
#include "operators/blur_kernels.hpp"
#include "operators/convolution_operator.hpp"
#include "operators/downsample.hpp"
#include "operators/fourier_diagonal_operator.hpp"
#include "operators/identity.hpp"
#include "operators/idt.hpp"
#include "operators/inpaint.hpp"
#include "operators/laplace.hpp"
#include "operators/operator_files.hpp"

namespace wsd {
namespace {

std::string size_string(const std::vector<int64_t>& shape) {
  return std::to_string(shape[1]) + "x" + std::to_string(shape[2]);
}

// The value rules of the task section live in its schema (core/config/config_schema.hpp); a task
// built in code, not loaded from a file, is held to them here.
void check_task_values(const TaskConfig& task) {
  try {
    validate_task_section(task);
  } catch (const ConfigError& e) {
    throw InputError(e.what());
  }
}

}  // namespace

LinearOperator make_operator(const TaskConfig& task, const std::vector<int64_t>& input_shape) {
  if (input_shape.size() != 3 || input_shape[0] < 1 || input_shape[1] < 1 || input_shape[2] < 1) {
    throw InputError("forward operator: image shape must be [C, H, W] with positive sizes");
  }
  check_task_values(task);
  const auto& shape = input_shape;
  switch (task.operator_name) {
    case OperatorType::kIdentity:
      return make_linear_operator<IdentityOperatorImpl>(shape);
    case OperatorType::kGaussianBlur:
      return make_convolution("gaussian_blur", gaussian_kernel(task.blur_sigma, task.kernel_size),
                              task.boundary, shape);
    case OperatorType::kBoxBlur:
      return make_convolution("box_blur", box_kernel(task.kernel_size), task.boundary, shape);
    case OperatorType::kMotionBlur:
      return make_convolution("motion_blur",
                              motion_kernel(task.motion_length, task.motion_angle_deg),
                              task.boundary, shape);
    case OperatorType::kDownsample:
      if (shape[1] % task.downsample_factor != 0 || shape[2] % task.downsample_factor != 0) {
        throw InputError("task.downsample_factor " + std::to_string(task.downsample_factor) +
                         " does not divide image size " + size_string(shape));
      }
      return make_linear_operator<DownsampleOperatorImpl>(task.downsample_factor, shape);
    case OperatorType::kInpaint: {
      const auto mask = task.mask_kind == MaskKind::kFile
                            ? read_mask(task.mask_file, shape[1], shape[2])
                        : task.mask_kind == MaskKind::kBox
                            ? box_mask(shape[1], shape[2], task.mask_fraction)
                            : random_mask(shape[1], shape[2], 1 - task.mask_fraction, task.seed);
      return make_linear_operator<InpaintOperatorImpl>(mask, shape);
    }
    case OperatorType::kPsf:
      return make_convolution("psf", read_psf(task.psf_file, task.psf_centre), task.boundary,
                              shape);
    case OperatorType::kTransferFunction:
      return make_linear_operator<FourierDiagonalOperatorImpl>(
          "transfer_function", read_transfer_function(task.transfer_file, shape[1], shape[2]),
          shape);
    case OperatorType::kLaplace:
      return make_laplace(task.laplace_c, task.pixel_size, shape);
    case OperatorType::kIdt: {
      return make_idt(IdtOptions()
                          .wavelength(task.wavelength)
                          .na(task.na)
                          .pixel_size(task.pixel_size)
                          .led_grid(task.led_grid)
                          .led_na_spacing(task.led_na_spacing)
                          .absorption(task.absorption),
                      shape);
    }
  }
  throw InputError("task.operator: unknown operator");
}

std::vector<double> unknown_channel_scales(const TaskConfig& task) {
  if (task.operator_name == OperatorType::kIdt) return idt_unknown_channel_scales(task.absorption);
  return {};
}

std::vector<int64_t> unknown_shape(const TaskConfig& task, int64_t data_channels, int64_t size) {
  const auto scales = unknown_channel_scales(task);
  const int64_t channels = scales.empty() ? data_channels : static_cast<int64_t>(scales.size());
  return {channels, size, size};
}

}  // namespace wsd
