#include "data/idx_reader.hpp"

#include <zlib.h>

#include <torch/torch.h>

#include <filesystem>
#include <vector>

#include "core/util/errors.hpp"
#include "data/transforms.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

// gzread reads plain files too, so one path serves .gz and uncompressed IDX files.
std::vector<uint8_t> read_maybe_gzipped(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw InputError("cannot open '" + path + "'");
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> chunk(1 << 20);
  int n = 0;
  while ((n = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0) {
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
  }
  int err = Z_OK;
  const char* msg = gzerror(file, &err);
  const std::string why = msg != nullptr ? msg : "";
  gzclose(file);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) {
    throw InputError("'" + path + "' is corrupt or truncated: " + why);
  }
  return bytes;
}

uint32_t big_endian(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
         uint32_t{b[at + 3]};
}

// Returns the dimensions after checking the magic number (unsigned bytes, `rank` dims) and size.
std::vector<int64_t> parse_header(const std::vector<uint8_t>& bytes, const std::string& path,
                                  int rank) {
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  const uint32_t expected_magic = 0x0800u | static_cast<uint32_t>(rank);
  if (bytes.size() < 4 || big_endian(bytes, 0) != expected_magic) {
    throw InputError("'" + path + "' is not an IDX file of " + std::to_string(rank) +
                     "-d unsigned bytes (wrong magic number)");
  }
  if (bytes.size() < header) throw InputError("'" + path + "' is truncated (header)");
  std::vector<int64_t> dims;
  size_t payload = 1;
  for (int i = 0; i < rank; ++i) {
    dims.push_back(big_endian(bytes, 4 + 4 * static_cast<size_t>(i)));
    payload *= static_cast<size_t>(dims.back());
  }
  if (bytes.size() != header + payload) {
    throw InputError("'" + path + "' is truncated or has trailing data: " +
                     std::to_string(bytes.size() - header) + " data bytes, header says " +
                     std::to_string(payload));
  }
  return dims;
}

std::string find_file(const std::string& directory, const std::string& stem) {
  for (const char* suffix : {".gz", ""}) {
    const fs::path candidate = fs::path(directory) / (stem + suffix);
    if (fs::exists(candidate)) return candidate.string();
  }
  return {};
}

}  // namespace

IdxDataset::IdxDataset(const std::string& directory, const std::string& split) {
  if (split != "train" && split != "test") {
    throw InputError("IDX split must be 'train' or 'test', got '" + split + "'");
  }
  const std::string prefix = split == "train" ? "train" : "t10k";
  images_path_ = find_file(directory, prefix + "-images-idx3-ubyte");
  if (images_path_.empty()) {
    throw InputError("no '" + prefix + "-images-idx3-ubyte[.gz]' in '" + directory +
                     "' (for Fashion-MNIST: apt-get install dataset-fashion-mnist)");
  }
  const auto bytes = read_maybe_gzipped(images_path_);
  const auto dims = parse_header(bytes, images_path_, 3);
  images_ = torch::from_blob(const_cast<uint8_t*>(bytes.data()) + 16, dims, torch::kUInt8).clone();

  const std::string labels_path = find_file(directory, prefix + "-labels-idx1-ubyte");
  if (!labels_path.empty()) {
    const auto label_bytes = read_maybe_gzipped(labels_path);
    const auto label_dims = parse_header(label_bytes, labels_path, 1);
    if (label_dims[0] != dims[0]) {
      throw InputError("'" + labels_path + "' has " + std::to_string(label_dims[0]) +
                       " labels for " + std::to_string(dims[0]) + " images");
    }
    labels_ =
        torch::from_blob(const_cast<uint8_t*>(label_bytes.data()) + 8, label_dims, torch::kUInt8)
            .to(torch::kInt64);
  }
}

Sample IdxDataset::get(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "IDX index ", index, " out of range [0, ", size(), ")");
  Sample sample;
  sample.image = bytes_to_unit_range(images_[index].unsqueeze(0));
  if (labels_.defined()) sample.label = labels_.data_ptr<int64_t>()[index];
  return sample;
}

std::string IdxDataset::describe() const {
  return "IDX " + images_path_ + " (" + std::to_string(size()) + " images " +
         std::to_string(images_.size(1)) + "x" + std::to_string(images_.size(2)) + ")";
}

std::string IdxDataset::sample_name(int64_t index) const {
  return "'" + images_path_ + "' image " + std::to_string(index);
}

}  // namespace wsd
