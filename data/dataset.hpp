#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "core/util/errors.hpp"

namespace wsd {

// One training image [C, H, W] in [-1, 1] image units and its label (-1 when there is none).
struct Sample {
  torch::Tensor image;
  int64_t label = -1;
};

// One sample that cannot be used (undecodable file, NaN pixels, wrong size); the message names
// the file and index. Under data.on_bad_sample: skip the loader replaces the sample instead of
// stopping. Problems with a whole file (missing, wrong format, truncated) are plain InputErrors.
class BadSampleError : public InputError {
 public:
  using InputError::InputError;
};

// Random access to a fixed set of images; readers validate their files when they open them.
// get() may be called from several loader threads at once.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Sample get(int64_t index) const = 0;
  virtual std::string describe() const = 0;
  // Where sample `index` comes from, for error messages: a file, and a record when the file
  // holds many samples.
  virtual std::string sample_name(int64_t index) const {
    return "sample " + std::to_string(index) + " of " + describe();
  }
};

}  // namespace wsd
