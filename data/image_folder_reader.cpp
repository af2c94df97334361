#include "data/image_folder_reader.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "data/image_decode.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

const char* const kExtensions = "png, jpg, jpeg, bmp, tga, pgm, ppm";

bool is_image_file(const fs::path& path) {
  static const std::set<std::string> extensions = {".png", ".jpg", ".jpeg", ".bmp",
                                                   ".tga", ".pgm", ".ppm"};
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extensions.count(ext) > 0;
}

// Empty when the header says the file can be used, else why not.
std::string header_problem(const std::string& file, const FolderOptions& o) {
  const ImageInfo info = probe_image(file);
  if (!info.ok) return "'" + file + "' is not a readable image: " + info.error;
  const std::string size = std::to_string(info.height) + "x" + std::to_string(info.width);
  if (o.exact_size > 0 && (info.height != o.exact_size || info.width != o.exact_size)) {
    return "'" + file + "' is " + size + ", expected " + std::to_string(o.exact_size) + "x" +
           std::to_string(o.exact_size) + " (data.fit: none)";
  }
  if (std::min(info.height, info.width) < o.min_size) {
    return "'" + file + "' is " + size + ", smaller than data.patch_size " +
           std::to_string(o.min_size);
  }
  return {};
}

}  // namespace

ImageFolderDataset::ImageFolderDataset(const std::string& directory, FolderOptions options)
    : directory_(directory) {
  if (!fs::exists(directory)) throw InputError("data.path '" + directory + "' does not exist");
  if (!fs::is_directory(directory)) {
    throw InputError("data.path '" + directory + "' is not a directory (data.reader: folder)");
  }
  std::vector<std::string> candidates;
  for (const auto& entry : fs::recursive_directory_iterator(
           directory, fs::directory_options::follow_directory_symlink)) {
    if (entry.is_regular_file() && is_image_file(entry.path())) {
      candidates.push_back(entry.path().string());
    }
  }
  if (candidates.empty()) {
    throw InputError("'" + directory + "' contains no images (" + kExtensions + ")");
  }
  std::sort(candidates.begin(), candidates.end());
  for (auto& file : candidates) {
    const std::string problem = header_problem(file, options);
    if (problem.empty()) {
      files_.push_back(std::move(file));
    } else if (options.skip_bad) {
      ++skipped_;
      spdlog::warn("data.on_bad_sample skip: {}", problem);
    } else {
      throw InputError(problem);
    }
  }
  if (files_.empty()) {
    throw InputError("'" + directory + "' has no usable images: all " + std::to_string(skipped_) +
                     " were skipped");
  }
  if (skipped_ > 0) {
    spdlog::warn("{}: {} of {} files skipped", directory, skipped_, candidates.size());
  }
}

Sample ImageFolderDataset::get(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "image folder index ", index, " out of range");
  return Sample{decode_image(files_[static_cast<size_t>(index)]), -1};
}

std::string ImageFolderDataset::describe() const {
  std::string text = "image folder " + directory_ + " (" + std::to_string(size()) + " images";
  if (skipped_ > 0) text += ", " + std::to_string(skipped_) + " skipped";
  return text + ")";
}

std::string ImageFolderDataset::sample_name(int64_t index) const {
  return "'" + files_[static_cast<size_t>(index)] + "' (image " + std::to_string(index) + ")";
}

}  // namespace wsd
