// A fresh temporary directory (mkdtemp under $TMPDIR), removed with everything in it at scope exit.
// One home for the tests' temp dirs (tests/support/; see docs/architecture.md).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kv::testsupport {

struct TempDir {
  std::filesystem::path path;

  // Under `base` (default: $TMPDIR or /tmp), named <prefix>_XXXXXX.
  explicit TempDir(std::string_view prefix = "kvtest",
                   const std::filesystem::path& base = std::filesystem::temp_directory_path()) {
    std::string tmpl = (base / (std::string(prefix) + "_XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path operator/(const std::string& name) const { return path / name; }

  // Writes `content` to <dir>/<name> (parents created) and returns that path.
  std::filesystem::path write(const std::string& name, const std::string& content) const {
    const std::filesystem::path p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    return p;
  }
};

}  // namespace kv::testsupport
