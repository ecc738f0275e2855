// NumPy .npy v1.0 headers for '<f2' C-order arrays. The header (magic, version, length, dict,
// space padding, '\n') totals a multiple of `align`: 64 for the reference layout (128 bytes for the
// shapes we write), 4096 for O_DIRECT so the payload starts block-aligned. Both are valid .npy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kv::io {

std::string npy_header(const std::vector<std::uint64_t>& shape, std::size_t align = 64);
// Same bytes without allocating: size of the header, and the header written into `out`
// (returns the bytes written, 0 when `out` is too small or the header exceeds v1.0's 64 KiB).
std::size_t npy_header_size(const std::vector<std::uint64_t>& shape, std::size_t align = 64);
std::size_t write_npy_header(std::span<std::byte> out, const std::vector<std::uint64_t>& shape,
                             std::size_t align = 64);

struct NpyInfo {
  std::vector<std::uint64_t> shape;
  std::string descr;
  bool fortran_order = false;
  std::size_t header_bytes = 0;  // payload offset
};
// Parses a header prefix (at least the first 10 bytes + header length). nullopt if invalid.
std::optional<NpyInfo> parse_npy_header(std::string_view bytes);

}  // namespace kv::io
