// .npy v1.0 header writer (numpy's layout: sorted dict keys, growth-axis spare spaces, padding to
// `align`) and a small tolerant parser for headers of version 1.0, 2.0 and 3.0.
#include "engine/io/npy.hpp"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <span>

namespace kv::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;
constexpr std::size_t kGrowthAxisMaxDigits = 21;  // numpy's spare room for growing shape[0]

void skip_ws(std::string_view s, std::size_t& i) {
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
}

bool parse_quoted(std::string_view s, std::size_t& i, std::string& out) {
  skip_ws(s, i);
  if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) return false;
  const char q = s[i++];
  const std::size_t end = s.find(q, i);
  if (end == std::string_view::npos) return false;
  out.assign(s.substr(i, end - i));
  i = end + 1;
  return true;
}

bool parse_shape(std::string_view s, std::size_t& i, std::vector<std::uint64_t>& shape) {
  skip_ws(s, i);
  if (i >= s.size() || s[i] != '(') return false;
  ++i;
  shape.clear();
  for (;;) {
    skip_ws(s, i);
    if (i >= s.size()) return false;
    if (s[i] == ')') {
      ++i;
      return true;
    }
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    std::uint64_t v = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      const std::uint64_t d = static_cast<std::uint64_t>(s[i] - '0');
      if (v > (UINT64_MAX - d) / 10) return false;
      v = v * 10 + d;
      ++i;
    }
    if (i < s.size() && (s[i] == 'L')) ++i;  // python2 long suffix
    shape.push_back(v);
    skip_ws(s, i);
    if (i < s.size() && s[i] == ',') ++i;
  }
}

}  // namespace

const char* npy_descr(NpyDtype d) {
  switch (d) {
    case NpyDtype::kFloat16: return "<f2";
    case NpyDtype::kFloat32: return "<f4";
    case NpyDtype::kInt8: return "|i1";
  }
  return "<f2";
}

std::uint64_t npy_itemsize(NpyDtype d) {
  switch (d) {
    case NpyDtype::kFloat16: return 2;
    case NpyDtype::kFloat32: return 4;
    case NpyDtype::kInt8: return 1;
  }
  return 2;
}

NpyDtype npy_dtype_for_itemsize(int bytes) {
  if (bytes == 4) return NpyDtype::kFloat32;
  if (bytes == 1) return NpyDtype::kInt8;
  return NpyDtype::kFloat16;
}

namespace {
// The dict text plus numpy's growth-axis spare spaces, formatted into `out` (no heap).
std::size_t format_dict(const std::vector<std::uint64_t>& shape, NpyDtype dtype, char* out,
                        std::size_t cap) {
  std::size_t n = 0;
  const auto put = [&](const char* s, std::size_t len) {
    if (n + len <= cap) std::memcpy(out + n, s, len);
    n += len;
  };
  static constexpr char kHead[] = "{'descr': '";
  put(kHead, sizeof kHead - 1);
  put(npy_descr(dtype), 3);
  static constexpr char kMid[] = "', 'fortran_order': False, 'shape': (";
  put(kMid, sizeof kMid - 1);
  std::size_t first_digits = 0;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) put(", ", 2);
    char tmp[24];
    const int len =
        std::snprintf(tmp, sizeof tmp, "%llu", static_cast<unsigned long long>(shape[i]));
    if (i == 0) first_digits = static_cast<std::size_t>(len);
    put(tmp, static_cast<std::size_t>(len));
  }
  if (shape.size() == 1) put(",", 1);
  put("), }", 4);
  if (!shape.empty() && first_digits < kGrowthAxisMaxDigits) {
    for (std::size_t i = first_digits; i < kGrowthAxisMaxDigits; ++i) put(" ", 1);
  }
  return n;
}
}  // namespace

std::size_t npy_header_size(const std::vector<std::uint64_t>& shape, std::size_t align) {
  if (align == 0) align = 64;
  const std::size_t hlen =
      format_dict(shape, NpyDtype::kFloat16, nullptr, 0) + 1;  // same for every dtype
  // numpy: padlen = align - ((magic + 4 + hlen) % align), a full `align` when already aligned.
  const std::size_t padlen = align - ((kMagicLen + 4 + hlen) % align);
  return kMagicLen + 4 + hlen + padlen;
}

std::size_t write_npy_header(std::span<std::byte> out, const std::vector<std::uint64_t>& shape,
                             std::size_t align, NpyDtype dtype) {
  const std::size_t total = npy_header_size(shape, align);
  const std::size_t len = total - kMagicLen - 4;
  if (out.size() < total || len > 0xffff) return 0;
  char* p = reinterpret_cast<char*>(out.data());
  std::memcpy(p, kMagic, kMagicLen);
  p[6] = 1;
  p[7] = 0;
  p[8] = static_cast<char>(len & 0xff);
  p[9] = static_cast<char>((len >> 8) & 0xff);
  const std::size_t dict = format_dict(shape, dtype, p + 10, len);
  std::memset(p + 10 + dict, ' ', len - dict - 1);
  p[total - 1] = '\n';
  return total;
}

std::string npy_header(const std::vector<std::uint64_t>& shape, std::size_t align, NpyDtype dtype) {
  std::string out(npy_header_size(shape, align), '\0');
  const std::size_t n =
      write_npy_header(std::as_writable_bytes(std::span<char>(out)), shape, align, dtype);
  out.resize(n);
  return out;
}

std::optional<NpyInfo> parse_npy_header(std::string_view bytes) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0) return std::nullopt;
  const auto u8 = [&](std::size_t i) {
    return static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i]));
  };
  const unsigned major = static_cast<unsigned>(u8(6));
  std::size_t prefix = 0;
  std::uint64_t hlen = 0;
  if (major == 1) {
    prefix = 10;
    hlen = u8(8) | (u8(9) << 8);
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return std::nullopt;
    prefix = 12;
    hlen = u8(8) | (u8(9) << 8) | (u8(10) << 16) | (u8(11) << 24);
  } else {
    return std::nullopt;
  }
  if (bytes.size() < prefix + hlen || hlen == 0) return std::nullopt;
  const std::string_view d = bytes.substr(prefix, hlen);
  if (d.back() != '\n') return std::nullopt;

  NpyInfo info;
  info.header_bytes = prefix + hlen;
  bool have_descr = false, have_order = false, have_shape = false;
  std::size_t i = 0;
  skip_ws(d, i);
  if (i >= d.size() || d[i] != '{') return std::nullopt;
  ++i;
  for (;;) {
    skip_ws(d, i);
    if (i >= d.size()) return std::nullopt;
    if (d[i] == '}') break;
    std::string key;
    if (!parse_quoted(d, i, key)) return std::nullopt;
    skip_ws(d, i);
    if (i >= d.size() || d[i] != ':') return std::nullopt;
    ++i;
    skip_ws(d, i);
    if (key == "descr") {
      if (!parse_quoted(d, i, info.descr)) return std::nullopt;
      have_descr = true;
    } else if (key == "fortran_order") {
      if (d.substr(i, 4) == "True") {
        info.fortran_order = true;
        i += 4;
      } else if (d.substr(i, 5) == "False") {
        info.fortran_order = false;
        i += 5;
      } else {
        return std::nullopt;
      }
      have_order = true;
    } else if (key == "shape") {
      if (!parse_shape(d, i, info.shape)) return std::nullopt;
      have_shape = true;
    } else {
      return std::nullopt;  // numpy itself rejects extra keys
    }
    skip_ws(d, i);
    if (i < d.size() && d[i] == ',') ++i;
  }
  if (!have_descr || !have_order || !have_shape) return std::nullopt;
  return info;
}

}  // namespace kv::io
