#pragma once

#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace wsd {

struct FolderOptions {
  int64_t min_size = 0;    // images whose height or width is smaller are bad samples
  int64_t exact_size = 0;  // > 0: images must be exact_size x exact_size
  bool skip_bad = false;   // leave out unreadable / unfit files (logged, counted) or throw
};

// Every PNG/JPEG/BMP/TGA/PGM/PPM file under a directory, recursively, in sorted path order. Gray
// and RGB files may be mixed (the loader converts to data.channels). Headers are checked when
// the folder is opened, pixels when a sample is read.
class ImageFolderDataset final : public Dataset {
 public:
  // Throws InputError for a missing or empty directory and, unless skip_bad, for the first file
  // whose header cannot be read or whose size does not fit the options.
  ImageFolderDataset(const std::string& directory, FolderOptions options);

  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  Sample get(int64_t index) const override;  // BadSampleError when the pixels cannot be decoded
  std::string describe() const override;
  std::string sample_name(int64_t index) const override;

  int64_t skipped() const { return skipped_; }

 private:
  std::string directory_;
  std::vector<std::string> files_;
  int64_t skipped_ = 0;
};

}  // namespace wsd
