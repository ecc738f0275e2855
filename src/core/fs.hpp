// Filesystem helpers: atomic file replacement, reading whole (small) files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace kv::fs {

// Writes `content` to a new `<path>.tmp.XXXXXX` (mkostemp: O_EXCL, so no planted symlink or hard
// link is ever written through), fsyncs it and renames it over `path`, so readers see either the
// old or the new file, never a torn one (rename replaces a symlink at `path` itself, never its
// target). Throws kv::Error (kFileNotFound / kPermissionDenied / kFailure) naming the path.
void atomic_write(const std::filesystem::path& path, std::string_view content);

// Checks, before a run, that atomic_write(path) will be able to create its temp file: creates and
// removes one. Throws as atomic_write does (also for a directory, a missing or read-only parent, a
// name that is too long).
void check_writable(const std::filesystem::path& path);

// Reads a whole file; throws kv::Error naming `what` (e.g. "--config") and the path:
// kFileNotFound when missing, kInvalidArguments for a directory or more than `max_bytes` (so
// /dev/zero or a FIFO cannot make us read without bound), kPermissionDenied when not readable.
std::string read_file(const std::filesystem::path& path, std::string_view what,
                      std::size_t max_bytes = std::size_t{256} << 20);

}  // namespace kv::fs
