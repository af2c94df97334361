// The safetensors reader and writer (core/io/safetensors_file.hpp): what is written comes back
// bit for bit, and a malformed file is one InputError line naming it.
#include "core/io/safetensors_file.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/util/errors.hpp"
#include "tests/support/files.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

StateDict sample_tensors() {
  torch::manual_seed(3);
  return {{"conv.weight", torch::randn({4, 3, 3, 3})},
          {"transposed", torch::arange(12, torch::kFloat64).reshape({3, 4}).t()},  // strided
          {"half", torch::randn({5}).to(torch::kFloat16)},
          {"bf16", torch::randn({2, 2}).to(torch::kBFloat16)},
          {"steps", torch::arange(7, torch::kInt64)},
          {"mask", torch::tensor({true, false, true})},
          {"bytes", torch::arange(256, torch::kInt32).to(torch::kUInt8)},
          {"scalar", torch::tensor(2.5f)},
          {"empty", torch::zeros({0, 3})}};
}

// A file with this header (a JSON text, unpadded) and data section.
std::vector<uint8_t> file_of(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes(8 + header.size());
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    decode_safetensors(bytes, "bad.safetensors");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SafetensorsFile, RoundTripKeepsNamesOrderDtypesValuesAndMetadata) {
  const fs::path dir = test::fresh_dir("safetensors_round_trip");
  const std::string path = (dir / "w.safetensors").string();
  const StateDict written = sample_tensors();
  const SafetensorsMetadata metadata = {{"format", "pt"}, {"note", "a \"quoted\"\nline"}};
  write_safetensors(path, written, metadata);

  const SafetensorsContents read = read_safetensors(path);
  EXPECT_EQ(read.metadata, metadata);
  ASSERT_EQ(read.tensors.size(), written.size());
  for (size_t k = 0; k < written.size(); ++k) {
    SCOPED_TRACE(written[k].first);
    EXPECT_EQ(read.tensors[k].first, written[k].first);
    EXPECT_EQ(read.tensors[k].second.scalar_type(), written[k].second.scalar_type());
    EXPECT_EQ(read.tensors[k].second.sizes(), written[k].second.sizes());
    EXPECT_TRUE(torch::equal(read.tensors[k].second, written[k].second));
  }
  // Nothing but the file itself is left in the folder (the write went through a temporary).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(SafetensorsFile, HeaderIsPaddedJsonWithOffsetsIntoTheDataSection) {
  const auto bytes = encode_safetensors({{"a", torch::ones({3})}, {"b", torch::zeros({2, 2})}},
                                        {{"format", "pt"}});
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + (3 + 4) * 4);
  const auto header = nlohmann::json::parse(std::string(bytes.begin() + 8, bytes.begin() + 8 + n));
  EXPECT_EQ(header["__metadata__"]["format"], "pt");
  EXPECT_EQ(header["a"]["dtype"], "F32");
  EXPECT_EQ(header["a"]["data_offsets"], nlohmann::json({0, 12}));
  EXPECT_EQ(header["b"]["shape"], nlohmann::json({2, 2}));
  EXPECT_EQ(header["b"]["data_offsets"], nlohmann::json({12, 28}));
}

TEST(SafetensorsFile, WriterRefusesRepeatedNamesAndUnwritableDtypes) {
  EXPECT_THROW(encode_safetensors({{"a", torch::ones(1)}, {"a", torch::ones(1)}}, {}), InputError);
  EXPECT_THROW(encode_safetensors({{"__metadata__", torch::ones(1)}}, {}), InputError);
  EXPECT_THROW(encode_safetensors({{"c", torch::ones(1, torch::kComplexFloat)}}, {}), InputError);
}

TEST(SafetensorsFile, MalformedFilesAreOneLineErrorsNamingTheFile) {
  const std::vector<uint8_t> twelve(12, 0);
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]})";
  const struct {
    const char* what;
    std::vector<uint8_t> bytes;
    const char* expected;
  } cases[] = {
      {"too short", {1, 2, 3}, "truncated"},
      {"data section cut short", file_of("{" + ok_entry + "}", {}), "outside the data"},
      {"length field past the end",
       [] {
         auto b = file_of("{}", {});
         b[0] = 0xff;
         return b;
       }(),
       "header length 255 goes beyond"},
      {"bad JSON", file_of("{\"a\": [1, ", twelve), "header is not JSON"},
      {"not an object", file_of("[1, 2]", {}), "not a JSON object"},
      {"unsupported dtype",
       file_of(R"({"a":{"dtype":"F8_E4M3","shape":[12],"data_offsets":[0,12]}})", twelve),
       "unsupported dtype 'F8_E4M3'"},
      {"offsets outside",
       file_of(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", twelve),
       "lie outside the data section of 12 bytes"},
      {"offsets reversed",
       file_of(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", twelve), "lie outside"},
      {"overlap",
       file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
               twelve),
       "tensors 'a' and 'b' overlap"},
      {"shape against offsets",
       file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}})", twelve),
       "need 8 bytes, data_offsets hold 12"},
      {"negative size",
       file_of(R"({"a":{"dtype":"F32","shape":[-3],"data_offsets":[0,12]}})", twelve),
       "shape holds something other than a size"},
      {"missing field", file_of(R"({"a":{"dtype":"F32","shape":[3]}})", twelve), "needs dtype"},
      {"metadata value not a string", file_of(R"({"__metadata__":{"k":1}})", {}),
       "value of 'k' is not a string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string message = error_of(c.bytes);
    EXPECT_NE(message.find("'bad.safetensors'"), std::string::npos) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  // The same header with its data in place is fine: the cases above fail for their one reason.
  const auto good = decode_safetensors(file_of("{" + ok_entry + "}", twelve), "good");
  ASSERT_EQ(good.tensors.size(), 1u);
  EXPECT_TRUE(torch::equal(good.tensors[0].second, torch::zeros({3})));
}

TEST(SafetensorsFile, AMissingFileIsAnInputError) {
  EXPECT_THROW(read_safetensors((fs::path(::testing::TempDir()) / "absent.safetensors").string()),
               InputError);
}

}  // namespace
}  // namespace wsd
