#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace wsd {

// One training image [C, H, W] in [-1, 1] image units and its label (-1 when there is none).
struct Sample {
  torch::Tensor image;
  int64_t label = -1;
};

// Random access to a fixed set of images; readers validate their files when they open them.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Sample get(int64_t index) const = 0;
  virtual std::string describe() const = 0;
};

}  // namespace wsd
