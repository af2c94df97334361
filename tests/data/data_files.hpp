#pragma once

// Small dataset files in the real formats, written by the data tests themselves.

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/files.hpp"

namespace wsd::test {

namespace fs = std::filesystem;


inline void write_file(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// CIFAR-10 binary records: label byte, then the R, G and B planes of 32x32 pixels. Record r has
// label labels[r] and pixel (c, y, x) = (r * 7 + c * 50 + y + x) % 256.
inline uint8_t cifar_pixel(int64_t record, int64_t c, int64_t y, int64_t x) {
  return static_cast<uint8_t>((record * 7 + c * 50 + y + x) % 256);
}

inline void write_cifar(const fs::path& path, const std::vector<uint8_t>& labels,
                        int64_t first_record = 0) {
  std::vector<uint8_t> bytes;
  for (size_t r = 0; r < labels.size(); ++r) {
    bytes.push_back(labels[r]);
    for (int64_t c = 0; c < 3; ++c) {
      for (int64_t y = 0; y < 32; ++y) {
        for (int64_t x = 0; x < 32; ++x) {
          bytes.push_back(cifar_pixel(first_record + static_cast<int64_t>(r), c, y, x));
        }
      }
    }
  }
  write_file(path, bytes);
}

// One HDF5 dataset of the given native type and shape (a new file unless `append`).
inline void write_h5(const fs::path& path, const std::string& name, hid_t type,
                     const std::vector<hsize_t>& dims, const void* data, bool append = false) {
  const hid_t file = append ? H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)
                            : H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0) << path;
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  // Chunked by sample, as large image arrays usually are.
  const hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
  std::vector<hsize_t> chunk = dims;
  chunk[0] = 1;
  H5Pset_chunk(plist, static_cast<int>(chunk.size()), chunk.data());
  const hid_t links = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(links, 1);
  const hid_t dataset = H5Dcreate2(file, name.c_str(), type, space, links, plist, H5P_DEFAULT);
  ASSERT_GE(dataset, 0) << name;
  ASSERT_GE(H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
  H5Dclose(dataset);
  H5Pclose(plist);
  H5Pclose(links);
  H5Sclose(space);
  H5Fclose(file);
}

}  // namespace wsd::test
