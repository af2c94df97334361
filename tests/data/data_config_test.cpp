// The data section as users write it: new keys, their validation and the loader they configure.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/config/config_loader.hpp"
#include "data/batch_loader.hpp"
#include "data/dataset_factory.hpp"
#include "tests/data/data_files.hpp"
#include "tests/support/error_of.hpp"

namespace wsd {
namespace {

std::string config_error(const std::string& yaml) {
  return test::error_of<ConfigError>([&] { parse_config(yaml, "data.yaml"); });
}

TEST(DataConfig, ReaderKeysParseAndTheRunAddsOnlyItsShardToTheLoader) {
  const Config c = parse_config(
      "data:\n  reader: hdf5\n  path: x.h5\n  fit: resize\n  hdf5_dataset: /pixels\n"
      "  hdf5_layout: nhwc\n  hdf5_labels: /y\n  float_range: symmetric\n  patch_size: 16\n"
      "  patches_per_image: 4\n  patch_seed: 9\n  workers: 3\n  prefetch: 6\n"
      "  pin_memory: false\n  on_bad_sample: skip\n",
      "data.yaml");
  EXPECT_EQ(c.data.fit, DataFit::kResize);
  EXPECT_EQ(c.data.hdf5_dataset, "/pixels");
  EXPECT_EQ(c.data.hdf5_layout, Hdf5Layout::kNhwc);
  EXPECT_EQ(c.data.float_range, FloatRange::kSymmetric);
  EXPECT_EQ(c.data.patches_per_image, 4);
  // The loader takes the data section itself; the run adds only what the process knows.
  const LoaderRuntime r = LoaderRuntime::for_training(c, 1, 2, torch::kCPU);
  EXPECT_EQ(r.batch_size, c.train.batch_size);
  EXPECT_EQ(r.seed, c.train.seed);
  EXPECT_EQ(r.rank, 1);
  EXPECT_EQ(r.world_size, 2);
  EXPECT_EQ(r.pin_device, -1);  // never pinned on a CPU run
  EXPECT_EQ(LoaderRuntime::for_training(c, 0, 1, torch::Device("cuda:1")).pin_device, 1);
}

TEST(DataConfig, BadValuesNameKeyAndLine) {
  const std::string fit = config_error("data:\n  fit: stretch\n");
  EXPECT_EQ(fit.rfind("data.yaml:2:8: data.fit: expected one of [center, resize, random_crop, "
                      "none], got 'stretch'",
                      0),
            0u)
      << fit;
  EXPECT_EQ(config_error("data:\n  patch_size: 4\n"),
            "data.yaml:2:15: data.patch_size: 4 is out of range (must be 0 or >= 8)");
  EXPECT_EQ(config_error("data:\n  patches_per_image: 3\n"),
            "data.yaml:2:22: data.patches_per_image: 3 needs data.patch_size > 0 (patches are "
            "cut only when a patch size is set)");
  EXPECT_EQ(config_error("data:\n  prefetch: 0\n"),
            "data.yaml:2:13: data.prefetch: 0 is out of range (must be >= 1)");
}

TEST(OpenDataset, EachReaderWithSplitsPatchesAndLimit) {
  const auto root = test::fresh_dir("factory");
  DataConfig c;
  c.path = (root / "missing").string();
  try {
    open_dataset(c, DataSplit::kTrain);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "data.path '" + c.path + "' does not exist");
  }

  test::write_cifar(root / "data_batch_1.bin", {1, 2, 3, 4, 5});
  test::write_cifar(root / "test_batch.bin", {6, 7});
  c.reader = DataReader::kCifar10;
  c.path = root.string();
  EXPECT_EQ(open_dataset(c, DataSplit::kTrain)->size(), 5);
  EXPECT_EQ(open_dataset(c, DataSplit::kTest)->size(), 2);
  c.limit = 3;
  EXPECT_EQ(open_dataset(c, DataSplit::kTrain)->size(), 3);
  c.limit = 0;
  c.patch_size = 8;
  c.patches_per_image = 3;
  const auto patches = open_dataset(c, DataSplit::kTrain);
  EXPECT_EQ(patches->size(), 15);
  EXPECT_EQ(patches->get(4).image.sizes(), (std::vector<int64_t>{3, 8, 8}));

  // HDF5: <path>/<split>.h5 in a directory, or one file for every split.
  const auto h5 = test::fresh_dir("factory_h5");
  const std::vector<uint8_t> train(4 * 16, 10), test_images(2 * 16, 20);
  test::write_h5(h5 / "train.h5", "/images", H5T_NATIVE_UINT8, {4, 4, 4}, train.data());
  test::write_h5(h5 / "test.h5", "/images", H5T_NATIVE_UINT8, {2, 4, 4}, test_images.data());
  DataConfig h;
  h.reader = DataReader::kHdf5;
  h.path = h5.string();
  EXPECT_EQ(open_dataset(h, DataSplit::kTrain)->size(), 4);
  EXPECT_EQ(open_dataset(h, DataSplit::kTest)->size(), 2);
  h.path = (h5 / "test.h5").string();
  EXPECT_EQ(open_dataset(h, DataSplit::kTrain)->size(), 2);
}

}  // namespace
}  // namespace wsd
