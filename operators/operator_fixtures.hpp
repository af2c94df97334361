#pragma once

// Small files for the operators defined by files (operator_files.hpp), made for one image shape:
// what the registry's file-defined entries are built from, so that the operator tests cover
// them like every other operator. Each is deliberately awkward: an asymmetric PSF of even sides,
// a complex (non-zero-phase) transfer function, a mask of fractional weights.

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

#include "core/config/config_types.hpp"

namespace wsd {

// A unique path in the system's temporary folder, ending in `suffix`.
std::string temporary_operator_file(const std::string& suffix);

// An asymmetric PSF [6, 4] with its origin at the `center` convention's pixel (3, 2), and the
// same PSF in the `corner` layout.
torch::Tensor fixture_psf();

// Writes the file that `task` names for a [C, H, W] image (its psf_file, transfer_file or
// mask_file, set to a temporary path here), calls `use`, and removes the file again.
void with_fixture_files(TaskConfig task, const std::vector<int64_t>& input_shape,
                        const std::function<void(const TaskConfig&)>& use);

}  // namespace wsd
