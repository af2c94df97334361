#pragma once

// CRC-32 (the IEEE 802.3 polynomial of zlib, PNG and gzip), so that a checksum written by
// wsdiff can be checked by any tool: crc32("123456789") == 0xCBF43926.

#include <cstddef>
#include <cstdint>

namespace wsd {

// The CRC of `size` bytes at `data`, continuing from `crc` (0 to start).
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace wsd
