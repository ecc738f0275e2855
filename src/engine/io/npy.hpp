// NumPy .npy v1.0 headers for C-order arrays of the model's element type ('<f2', '<f4' or '|i1';
// docs/metrics.md, ".npy files"). The header (magic, version, length, dict, space padding, '\n')
// totals a multiple of `align`: 64 for the reference layout (128 bytes for the shapes we write),
// 4096 for O_DIRECT so the payload starts block-aligned. Both are valid .npy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kv::io {

// Element type of an object's payload. Every descr has 3 characters, so the header size does not
// depend on the type.
enum class NpyDtype : std::uint8_t { kFloat16, kFloat32, kInt8 };
const char* npy_descr(NpyDtype d);       // "<f2", "<f4", "|i1"
std::uint64_t npy_itemsize(NpyDtype d);  // 2, 4, 1
// The type a model's objects are stored in, from its element size (ModelConfig::dtype_bytes()):
// 4 → float32, 1 → int8, anything else → float16 (bfloat16 too: numpy has no bfloat16 and the
// reference stores it as float16).
NpyDtype npy_dtype_for_itemsize(int bytes);

std::string npy_header(const std::vector<std::uint64_t>& shape, std::size_t align = 64,
                       NpyDtype dtype = NpyDtype::kFloat16);
// Same bytes without allocating: size of the header, and the header written into `out`
// (returns the bytes written, 0 when `out` is too small or the header exceeds v1.0's 64 KiB).
std::size_t npy_header_size(const std::vector<std::uint64_t>& shape, std::size_t align = 64);
std::size_t write_npy_header(std::span<std::byte> out, const std::vector<std::uint64_t>& shape,
                             std::size_t align = 64, NpyDtype dtype = NpyDtype::kFloat16);

struct NpyInfo {
  std::vector<std::uint64_t> shape;
  std::string descr;
  bool fortran_order = false;
  std::size_t header_bytes = 0;  // payload offset
};
// Parses a header prefix (at least the first 10 bytes + header length). nullopt if invalid.
std::optional<NpyInfo> parse_npy_header(std::string_view bytes);

}  // namespace kv::io
