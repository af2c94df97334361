#include "core/io/h5_file.hpp"
#include "tests/support/test_data.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace wsd::h5 {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / name).string();
}

std::string fixture() { return test::reference_fixture(); }

TEST(H5File, TensorsOfEveryStoredDtypeRoundTrip) {
  const std::string path = temp_path("roundtrip.h5");
  torch::manual_seed(3);
  const auto f32 = torch::randn({2, 3, 5});
  const auto f64 = torch::randn({7}, torch::kFloat64);
  const auto i64 = torch::arange(-4, 8, torch::kInt64).reshape({3, 4});
  const auto u8 = torch::randint(0, 255, {9}, torch::kUInt8);
  const auto scalar = torch::tensor(2.5);
  {
    File file = File::create(path);
    file.write_tensor("/a/b/f32", f32);
    file.write_tensor("/f64", f64);
    file.write_tensor("/i64", i64);
    file.write_tensor("/u8", u8);
    file.write_tensor("/scalar", scalar);
  }
  const File file = File::open_read(path);
  EXPECT_TRUE(torch::equal(file.read_tensor("/a/b/f32"), f32));
  EXPECT_TRUE(torch::equal(file.read_tensor("/f64"), f64));
  EXPECT_TRUE(torch::equal(file.read_tensor("/i64"), i64));
  EXPECT_TRUE(torch::equal(file.read_tensor("/u8"), u8));
  EXPECT_EQ(file.read_tensor("/scalar").dim(), 0);
  EXPECT_FLOAT_EQ(file.read_tensor("/scalar").item<float>(), 2.5f);
  EXPECT_EQ(file.list("/a"), std::vector<std::string>{"b"});
  EXPECT_TRUE(file.is_group("/a/b"));
  EXPECT_FALSE(file.is_group("/f64"));
}

// What a data loader reads: the shape and dtype without the data, and single entries along the
// first axis converted to the dtype asked for; a range past the end names the file.
TEST(H5File, DatasetInfoAndRowReads) {
  const std::string path = temp_path("rows.h5");
  const auto images = torch::randint(0, 255, {5, 3, 4, 2}, torch::kUInt8);
  { File::create(path).write_tensor("/images", images); }
  const File file = File::open_read(path);
  const File::DatasetInfo info = file.dataset_info("/images");
  EXPECT_EQ(info.shape, (std::vector<int64_t>{5, 3, 4, 2}));
  EXPECT_EQ(info.dtype, torch::kUInt8);
  EXPECT_TRUE(torch::equal(file.read_rows("/images", 2, 2, torch::kUInt8), images.slice(0, 2, 4)));
  const auto as_float = file.read_rows("/images", 4, 1, torch::kFloat32);
  EXPECT_EQ(as_float.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(as_float, images.slice(0, 4, 5).to(torch::kFloat32)));
  try {
    file.read_rows("/images", 4, 2, torch::kUInt8);
    FAIL() << "expected an error";
  } catch (const H5Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
  }
}

// A row reader keeps its dataset (and so its file) open: it reads after the File it came from is
// gone, entry after entry, and names the file and dataset when a range is out of bounds.
TEST(H5File, RowReaderOutlivesItsFileAndReadsEntryByEntry) {
  const std::string path = temp_path("row_reader.h5");
  const auto images = torch::randint(0, 255, {6, 2, 3}, torch::kUInt8);
  { File::create(path).write_tensor("/images", images); }
  RowReader reader;
  { reader = File::open_read(path).row_reader("/images"); }
  for (int64_t i = 5; i >= 0; --i) {
    EXPECT_TRUE(torch::equal(reader.read(i, 1, torch::kUInt8)[0], images[i])) << "entry " << i;
  }
  EXPECT_TRUE(
      torch::equal(reader.read(1, 3, torch::kFloat64), images.slice(0, 1, 4).to(torch::kFloat64)));
  try {
    reader.read(-1, 1, torch::kUInt8);
    FAIL() << "expected an error";
  } catch (const H5Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'/images'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(RowReader().read(0, 1, torch::kUInt8), H5Error);
}

TEST(H5File, AttributesRoundTrip) {
  const std::string path = temp_path("attrs.h5");
  {
    File file = File::create(path);
    file.set_attr("/", "name", std::string("wsdiff \xc3\xa9"));
    file.set_attr("/group", "count", int64_t{-42});
    file.set_attr("/group", "scale", 0.125);
    file.set_attr("/group", "count", int64_t{43});  // overwrite
  }
  const File file = File::open_read(path);
  EXPECT_EQ(file.attr_string("/", "name"), "wsdiff \xc3\xa9");
  EXPECT_EQ(file.attr_int("/group", "count"), 43);
  EXPECT_DOUBLE_EQ(file.attr_double("/group", "scale"), 0.125);
  EXPECT_FALSE(file.has_attr("/group", "missing"));
  EXPECT_THROW(file.attr_string("/group", "count"), H5Error);
}

TEST(H5File, ReadsH5pyAttributesOfTheReferenceFixture) {
  const File file = File::open_read(fixture());
  EXPECT_EQ(file.attr_int("/", "image_channels"), 1);
  EXPECT_EQ(file.attr_ints("/", "ch_mults").size(), 3u);
  // h5py stores booleans as an int8 enum; they must come back as 0/1.
  for (const int64_t v : file.attr_ints("/", "is_attn")) EXPECT_TRUE(v == 0 || v == 1);
  const auto x = file.read_tensor("/input/x");
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 1, 32, 32}));
  EXPECT_EQ(x.scalar_type(), torch::kFloat32);
}

TEST(H5File, ErrorsNameTheFileAndTheObject) {
  const std::string path = temp_path("errors.h5");
  { File::create(path).write_tensor("/x", torch::zeros({2})); }
  const File file = File::open_read(path);
  try {
    file.read_tensor("/missing/thing");
    FAIL() << "expected an error";
  } catch (const H5Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/missing/thing"), std::string::npos) << e.what();
  }
  EXPECT_THROW(File::open_read(temp_path("does-not-exist.h5")), H5Error);
  const std::string text = temp_path("not-hdf5.h5");
  std::ofstream(text) << "plain text, not HDF5";
  EXPECT_THROW(File::open_read(text), H5Error);
}

}  // namespace
}  // namespace wsd::h5
