#pragma once

// The safetensors format (what the Python `safetensors` package reads and writes): an 8-byte
// little-endian header length N, N bytes of JSON header (padded with spaces to a multiple of 8)
// naming each tensor's dtype, shape and byte range in the data section, then the raw
// little-endian data. A neutral way to hand weights to other tools: no pickle, no HDF5.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/checkpoint/checkpoint.hpp"

namespace wsd {

// The header's free-form "__metadata__": string keys to string values.
using SafetensorsMetadata = std::map<std::string, std::string>;

struct SafetensorsContents {
  StateDict tensors;  // in the order of their data offsets (the writer's order)
  SafetensorsMetadata metadata;
};

// The file's bytes. Tensors are written contiguous, on the CPU, in their own dtype (float32,
// float64, float16, bfloat16, int64, int32, int16, int8, uint8 or bool; any other throws
// InputError), in the order given; names must be unique and not "__metadata__".
std::vector<uint8_t> encode_safetensors(const StateDict& tensors,
                                        const SafetensorsMetadata& metadata);

// Writes encode_safetensors's bytes atomically (core/io/atomic_file.hpp).
void write_safetensors(const std::string& path, const StateDict& tensors,
                       const SafetensorsMetadata& metadata);

// Parses `bytes` of a file named `source`. Throws InputError, one line naming `source`, on a
// truncated file, a header length beyond the file, a header that is not a JSON object of the
// format's fields, a dtype listed above as unsupported, a shape that disagrees with its byte
// range, or byte ranges outside the data section or overlapping one another.
SafetensorsContents decode_safetensors(const std::vector<uint8_t>& bytes,
                                       const std::string& source);

// Reads and decodes `path`; a missing or unreadable file is an InputError too.
SafetensorsContents read_safetensors(const std::string& path);

}  // namespace wsd
