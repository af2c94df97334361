#include "operators/operator_factory.hpp"

#include <cmath>
#include <sstream>
#include <string>

#include "core/util/errors.hpp"
#include "operators/blur_kernels.hpp"
#include "operators/convolution_operator.hpp"
#include "operators/downsample.hpp"
#include "operators/identity.hpp"
#include "operators/idt.hpp"
#include "operators/inpaint.hpp"
#include "operators/laplace.hpp"

namespace wsd {
namespace {

template <class T>
void require(bool ok, const char* key, const T& value, const std::string& why) {
  if (ok) return;
  std::ostringstream msg;
  msg << "task." << key << " " << value << " " << why;
  throw InputError(msg.str());
}

std::string size_string(const std::vector<int64_t>& shape) {
  return std::to_string(shape[1]) + "x" + std::to_string(shape[2]);
}

void require_kernel_size(const TaskConfig& task) {
  require(task.kernel_size >= 1 && task.kernel_size % 2 == 1, "kernel_size", task.kernel_size,
          "is not an odd number >= 1");
}

}  // namespace

LinearOperator make_operator(const TaskConfig& task, const std::vector<int64_t>& input_shape) {
  if (input_shape.size() != 3 || input_shape[0] < 1 || input_shape[1] < 1 || input_shape[2] < 1) {
    throw InputError("forward operator: image shape must be [C, H, W] with positive sizes");
  }
  const auto& shape = input_shape;
  switch (task.operator_name) {
    case OperatorType::kIdentity:
      return make_linear_operator<IdentityOperatorImpl>(shape);
    case OperatorType::kGaussianBlur:
      require(task.blur_sigma > 0 && std::isfinite(task.blur_sigma), "blur_sigma", task.blur_sigma,
              "must be > 0");
      require_kernel_size(task);
      return make_convolution("gaussian_blur", gaussian_kernel(task.blur_sigma, task.kernel_size),
                              task.boundary, shape);
    case OperatorType::kBoxBlur:
      require_kernel_size(task);
      return make_convolution("box_blur", box_kernel(task.kernel_size), task.boundary, shape);
    case OperatorType::kMotionBlur:
      require(task.motion_length > 0 && std::isfinite(task.motion_length), "motion_length",
              task.motion_length, "must be > 0");
      require(std::isfinite(task.motion_angle_deg), "motion_angle_deg", task.motion_angle_deg,
              "must be finite");
      return make_convolution("motion_blur",
                              motion_kernel(task.motion_length, task.motion_angle_deg),
                              task.boundary, shape);
    case OperatorType::kDownsample:
      require(task.downsample_factor >= 1, "downsample_factor", task.downsample_factor,
              "must be >= 1");
      require(shape[1] % task.downsample_factor == 0 && shape[2] % task.downsample_factor == 0,
              "downsample_factor", task.downsample_factor,
              "does not divide image size " + size_string(shape));
      return make_linear_operator<DownsampleOperatorImpl>(task.downsample_factor, shape);
    case OperatorType::kInpaint: {
      require(task.mask_fraction >= 0 && task.mask_fraction <= 1, "mask_fraction",
              task.mask_fraction, "is not in [0, 1]");
      const auto mask = task.mask_kind == MaskKind::kBox
                            ? box_mask(shape[1], shape[2], task.mask_fraction)
                            : random_mask(shape[1], shape[2], 1 - task.mask_fraction, task.seed);
      return make_linear_operator<InpaintOperatorImpl>(mask, shape);
    }
    case OperatorType::kLaplace:
      require(task.laplace_c > 0 && std::isfinite(task.laplace_c), "laplace_c", task.laplace_c,
              "must be > 0");
      require(task.pixel_size > 0 && std::isfinite(task.pixel_size), "pixel_size", task.pixel_size,
              "must be > 0");
      return make_laplace(task.laplace_c, task.pixel_size, shape);
    case OperatorType::kIdt: {
      require(task.pixel_size > 0 && std::isfinite(task.pixel_size), "pixel_size", task.pixel_size,
              "must be > 0");
      require(task.wavelength > 0 && std::isfinite(task.wavelength), "wavelength", task.wavelength,
              "must be > 0");
      require(task.na > 0 && std::isfinite(task.na), "na", task.na, "must be > 0");
      require(task.led_grid >= 1, "led_grid", task.led_grid, "must be >= 1");
      require(task.led_na_spacing >= 0 && std::isfinite(task.led_na_spacing), "led_na_spacing",
              task.led_na_spacing, "must be >= 0");
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

}  // namespace wsd
