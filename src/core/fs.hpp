// Filesystem helpers: atomic file replacement, reading whole (small) files.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace kv::fs {

// Writes `content` to `<path>.tmp.<pid>`, fsyncs it and renames it over `path`, so readers see either
// the old or the new file, never a torn one. Throws kv::Error (kFileNotFound / kPermissionDenied /
// kFailure) naming the path.
void atomic_write(const std::filesystem::path& path, std::string_view content);

// Reads a whole file; throws kv::Error(kFileNotFound) naming `what` (e.g. "--config") and the path.
std::string read_file(const std::filesystem::path& path, std::string_view what);

}  // namespace kv::fs
