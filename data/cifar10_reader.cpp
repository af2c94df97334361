#include "data/cifar10_reader.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "data/transforms.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

// The data_batch_<k>.bin files of a directory, by k (so 10 sorts after 9).
std::vector<std::string> train_files(const fs::path& dir) {
  const std::regex pattern(R"(data_batch_(\d+)\.bin)");
  std::vector<std::pair<long, std::string>> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, pattern)) found.emplace_back(std::stol(m[1]), entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> files;
  for (auto& f : found) files.push_back(std::move(f.second));
  return files;
}

std::vector<uint8_t> read_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InputError("cannot open '" + path + "'");
  const auto bytes = static_cast<int64_t>(in.tellg());
  if (bytes == 0 || bytes % Cifar10Dataset::kRecordBytes != 0) {
    throw InputError(
        "'" + path + "' is truncated or not CIFAR-10 binary: " + std::to_string(bytes) +
        " bytes is not a whole number of " + std::to_string(Cifar10Dataset::kRecordBytes) +
        "-byte records (1 label byte + 3x32x32 pixels)");
  }
  std::vector<uint8_t> data(static_cast<size_t>(bytes));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(data.data()), bytes)) {
    throw InputError("cannot read '" + path + "'");
  }
  return data;
}

}  // namespace

Cifar10Dataset::Cifar10Dataset(const std::string& path, const std::string& split) {
  if (split != "train" && split != "test") {
    throw InputError("CIFAR-10 split must be 'train' or 'test', got '" + split + "'");
  }
  std::vector<std::string> files;
  if (fs::is_directory(path)) {
    if (split == "train") {
      files = train_files(path);
    } else if (fs::exists(fs::path(path) / "test_batch.bin")) {
      files = {(fs::path(path) / "test_batch.bin").string()};
    }
    if (files.empty()) {
      throw InputError(
          "no '" + std::string(split == "train" ? "data_batch_*.bin" : "test_batch.bin") +
          "' in '" + path + "' (expected the CIFAR-10 binary version, " + "cifar-10-batches-bin)");
    }
  } else if (fs::exists(path)) {
    files = {path};
  } else {
    throw InputError("data.path '" + path + "' does not exist");
  }

  std::vector<torch::Tensor> records;
  int64_t total = 0;
  for (const auto& file : files) {
    auto bytes = read_records(file);
    const int64_t n = static_cast<int64_t>(bytes.size()) / kRecordBytes;
    for (int64_t r = 0; r < n; ++r) {
      const int label = bytes[static_cast<size_t>(r * kRecordBytes)];
      if (label > 9) {
        throw InputError("'" + file + "' record " + std::to_string(r) + " has label " +
                         std::to_string(label) +
                         "; CIFAR-10 labels are 0-9 (not CIFAR-10 binary?)");
      }
    }
    records.push_back(torch::from_blob(bytes.data(), {n, kRecordBytes}, torch::kUInt8).clone());
    parts_.push_back({file, total});
    total += n;
  }
  const auto all = torch::cat(records);
  labels_ = all.select(1, 0).to(torch::kInt64);
  images_ = all.narrow(1, 1, kRecordBytes - 1).reshape({total, 3, 32, 32}).contiguous();
}

Sample Cifar10Dataset::get(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "CIFAR-10 index ", index, " out of range");
  Sample sample;
  sample.image = bytes_to_unit_range(images_[index]);
  sample.label = labels_.data_ptr<int64_t>()[index];
  return sample;
}

std::string Cifar10Dataset::describe() const {
  std::string files = parts_.front().path;
  if (parts_.size() > 1) files += " and " + std::to_string(parts_.size() - 1) + " more";
  return "CIFAR-10 " + files + " (" + std::to_string(size()) + " images 32x32 RGB)";
}

std::string Cifar10Dataset::sample_name(int64_t index) const {
  auto part = parts_.begin();
  while (std::next(part) != parts_.end() && std::next(part)->first <= index) ++part;
  return "'" + part->path + "' record " + std::to_string(index - part->first);
}

}  // namespace wsd
