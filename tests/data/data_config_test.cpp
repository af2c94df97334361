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
  c.validation_images = 0;
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
  h.validation_images = 0;
  h.reader = DataReader::kHdf5;
  h.path = h5.string();
  EXPECT_EQ(open_dataset(h, DataSplit::kTrain)->size(), 4);
  EXPECT_EQ(open_dataset(h, DataSplit::kTest)->size(), 2);
  h.path = (h5 / "test.h5").string();
  EXPECT_EQ(open_dataset(h, DataSplit::kTrain)->size(), 2);
}

// The validation split is the end of the train split, and the train split never contains it,
// whatever patches or limit the training data takes.
TEST(OpenDataset, ValidationSplitIsTheEndOfTheTrainSplitAndNeverTrainedOn) {
  const auto root = test::fresh_dir("validation_split");
  test::write_cifar(root / "data_batch_1.bin", {0, 1, 2, 3, 4});
  test::write_cifar(root / "test_batch.bin", {5, 6});
  DataConfig c;
  c.reader = DataReader::kCifar10;
  c.path = root.string();
  c.validation_images = 2;
  const auto train = open_dataset(c, DataSplit::kTrain);
  const auto validation = open_validation_dataset(c);
  ASSERT_EQ(train->size(), 3);
  ASSERT_EQ(validation->size(), 2);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(train->get(i).label, i);
  EXPECT_EQ(validation->get(0).label, 3);
  EXPECT_EQ(validation->get(1).label, 4);
  EXPECT_NE(validation->sample_name(1).find("record 4"), std::string::npos)
      << validation->sample_name(1);
  EXPECT_EQ(open_dataset(c, DataSplit::kTest)->size(), 2);  // the test split is not cut

  c.limit = 2;
  c.patch_size = 8;
  c.patches_per_image = 2;
  EXPECT_EQ(open_dataset(c, DataSplit::kTrain)->size(), 2);
  EXPECT_EQ(open_validation_dataset(c)->size(), 2);  // whole images, no limit
  c.limit = 0;
  EXPECT_EQ(open_dataset(c, DataSplit::kTrain)->size(), 6);  // 3 images x 2 patches

  c.validation_images = 5;
  const std::string all = test::error_of([&] { open_dataset(c, DataSplit::kTrain); });
  EXPECT_NE(all.find("data.validation_images = 5 holds out every image of the train split"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("set it below 5, or 0 to hold none out"), std::string::npos) << all;
  c.validation_images = 0;
  EXPECT_EQ(open_dataset(c, DataSplit::kTrain)->size(), 10);
  EXPECT_EQ(test::error_of([&] { open_validation_dataset(c); }),
            "data.validation_images is 0: this data has no validation split");
}

}  // namespace
}  // namespace wsd
