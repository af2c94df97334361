#include "core/io/safetensors_file.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "core/io/atomic_file.hpp"
#include "core/util/errors.hpp"

namespace wsd {
namespace {

// The format's data and length are little-endian; tensors are copied byte for byte.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes little-endian");

constexpr const char* kMetadataKey = "__metadata__";
// The Python package refuses larger headers; so does this reader, before parsing anything.
constexpr uint64_t kMaxHeaderBytes = 100u * 1000u * 1000u;

struct DType {
  const char* name;
  torch::ScalarType type;
};

constexpr DType kDTypes[] = {{"F32", torch::kFloat32}, {"F64", torch::kFloat64},
                             {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
                             {"I64", torch::kInt64},   {"I32", torch::kInt32},
                             {"I16", torch::kInt16},   {"I8", torch::kInt8},
                             {"U8", torch::kUInt8},    {"BOOL", torch::kBool}};

const char* dtype_name(torch::ScalarType type, const std::string& tensor) {
  for (const auto& d : kDTypes) {
    if (d.type == type) return d.name;
  }
  throw InputError("tensor '" + tensor + "' has dtype " + std::string(c10::toString(type)) +
                   ", which safetensors export does not write");
}

const DType* dtype_of(const std::string& name) {
  for (const auto& d : kDTypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

torch::Tensor cpu_contiguous(const torch::Tensor& t) {
  return t.detach().to(torch::kCPU).contiguous();
}

struct Entry {
  uint64_t begin = 0, end = 0;
  std::string name;
  const DType* dtype = nullptr;
  std::vector<int64_t> shape;
};

}  // namespace

std::vector<uint8_t> encode_safetensors(const StateDict& tensors,
                                        const SafetensorsMetadata& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::vector<torch::Tensor> data;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == kMetadataKey || !names.insert(name).second) {
      throw InputError("tensor name '" + name + "' is reserved or repeated in a safetensors file");
    }
    data.push_back(cpu_contiguous(tensor));
    const uint64_t size = data.back().numel() * data.back().element_size();
    header[name] = {{"dtype", dtype_name(tensor.scalar_type(), name)},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<uint8_t> bytes(8 + text.size() + offset);
  const uint64_t n = text.size();
  std::memcpy(bytes.data(), &n, 8);
  std::memcpy(bytes.data() + 8, text.data(), text.size());
  uint8_t* out = bytes.data() + 8 + text.size();
  for (const auto& t : data) {
    const size_t size = t.numel() * t.element_size();
    if (size > 0) std::memcpy(out, t.data_ptr(), size);
    out += size;
  }
  return bytes;
}

void write_safetensors(const std::string& path, const StateDict& tensors,
                       const SafetensorsMetadata& metadata) {
  write_file_atomically(path, encode_safetensors(tensors, metadata), "safetensors file");
}

SafetensorsContents decode_safetensors(const std::vector<uint8_t>& bytes,
                                       const std::string& source) {
  const auto fail = [&](const std::string& why) {
    return InputError("'" + source + "' is not a readable safetensors file: " + why);
  };
  if (bytes.size() < 8) {
    throw fail("truncated (" + std::to_string(bytes.size()) + " bytes, not even a header length)");
  }
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8 || n > kMaxHeaderBytes) {
    throw fail("header length " + std::to_string(n) + " goes beyond the file's " +
               std::to_string(bytes.size()) + " bytes (truncated, or not safetensors)");
  }
  const uint64_t data_size = bytes.size() - 8 - n;
  const uint8_t* data = bytes.data() + 8 + n;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + n);
  } catch (const nlohmann::json::exception& e) {
    throw fail("header is not JSON (" + std::string(e.what()) + ")");
  }
  if (!header.is_object()) throw fail("header is not a JSON object");

  SafetensorsContents contents;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      if (!value.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) throw fail("__metadata__ value of '" + key + "' is not a string");
        contents.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    const auto bad = [&](const std::string& why) { return fail("tensor '" + name + "': " + why); };
    if (!value.is_object() || !value.contains("dtype") || !value["dtype"].is_string() ||
        !value.contains("shape") || !value["shape"].is_array() || !value.contains("data_offsets") ||
        !value["data_offsets"].is_array()) {
      throw bad("needs dtype (string), shape and data_offsets (arrays)");
    }
    Entry e;
    e.name = name;
    const std::string dtype = value["dtype"].get<std::string>();
    e.dtype = dtype_of(dtype);
    if (e.dtype == nullptr) {
      throw bad("unsupported dtype '" + dtype +
                "' (read: F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    }
    uint64_t numel = 1;
    for (const auto& d : value["shape"]) {
      if (!d.is_number_unsigned()) throw bad("shape holds something other than a size");
      const uint64_t size = d.get<uint64_t>();
      if (size > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, size, &numel)) {
        throw bad("shape is too large");
      }
      e.shape.push_back(static_cast<int64_t>(size));
    }
    const auto& offsets = value["data_offsets"];
    if (offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      throw bad("data_offsets is not a pair of byte offsets");
    }
    e.begin = offsets[0].get<uint64_t>();
    e.end = offsets[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size) {
      throw bad("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                "] lie outside the data section of " + std::to_string(data_size) + " bytes");
    }
    uint64_t expected = 0;
    if (__builtin_mul_overflow(numel, c10::elementSize(e.dtype->type), &expected) ||
        expected != e.end - e.begin) {
      throw bad("shape and dtype need " + std::to_string(expected) + " bytes, data_offsets hold " +
                std::to_string(e.end - e.begin));
    }
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  for (size_t k = 1; k < entries.size(); ++k) {
    if (entries[k].begin < entries[k - 1].end) {
      throw fail("tensors '" + entries[k - 1].name + "' and '" + entries[k].name +
                 "' overlap in the data section");
    }
  }
  for (const auto& e : entries) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), data + e.begin, e.end - e.begin);
    contents.tensors.emplace_back(e.name, std::move(t));
  }
  return contents;
}

SafetensorsContents read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read '" + path + "'");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError("cannot read '" + path + "'");
  return decode_safetensors(bytes, path);
}

}  // namespace wsd
