// Internal helpers shared by the storage backends (not part of the contract).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io/backend.hpp"

namespace kv::io::detail {

inline constexpr std::uint64_t kDirectAlign = 4096;

inline std::uint64_t round_up(std::uint64_t v, std::uint64_t a) {
  return (v + a - 1) / a * a;
}

// Options with the chunk size rounded to 4 KiB and the budget at least one chunk.
BackendOptions normalized(const BackendOptions& o);

std::filesystem::path object_path(const std::filesystem::path& dir, const std::string& key);

// Sets ok=false, error=err and "<what> <path>: <strerror>" (only the first failure is kept).
void set_failure(IoResult& r, int err, std::string_view what, const std::filesystem::path& path);

// pwrite/pread loops. write_full: 0 or errno (a write that makes no progress is EIO).
int write_full(int fd, const std::byte* p, std::size_t n, std::uint64_t off);
// read_full: reads up to n bytes (fewer only at EOF); *got = bytes read; 0 or errno.
int read_full(int fd, std::byte* p, std::size_t n, std::uint64_t off, std::size_t* got);
int sync_fd(int fd, SyncMode mode);            // 0 or errno
int preallocate(int fd, std::uint64_t bytes);  // 0 or errno

// Checks the first bytes of a file against the spec (descr of spec.dtype, C order, shape when
// given, shape × 2 == payload_bytes). Returns the header size, or 0 with *why set. No heap on the
// common path (our own header layouts are compared byte for byte first).
std::size_t check_header(std::string_view first, const ObjectSpec& spec, std::string* why);

// The object directory, opened once (O_DIRECTORY) when the backend is made: object files are opened
// relative to it, so replacing the directory (or a parent) by a symlink later changes nothing. When
// it cannot be opened, fd() is AT_FDCWD and names are full paths.
class ObjectDir {
 public:
  explicit ObjectDir(const std::filesystem::path& dir);
  ~ObjectDir();
  ObjectDir(const ObjectDir&) = delete;
  ObjectDir& operator=(const ObjectDir&) = delete;
  int fd() const { return fd_; }
  // The name to pass to the *at() calls for `<key>.npy`.
  std::string name(const std::string& key) const;

 private:
  std::filesystem::path dir_;
  int fd_;
};

// Opens `<key>.npy` for a (re)write so that no symlink or hard link planted under that name is ever
// written through, on every write, not only a key's first: an existing regular file of our user
// with a single link (our own, from an earlier write) is reused and truncated (so its inode stays
// the same); anything else under the name (a symlink: O_NOFOLLOW; a hard link; a FIFO; another
// user's file) is unlinked (only the name goes) and the file is created O_CREAT|O_EXCL|O_NOFOLLOW.
// -1 with errno set on failure (EEXIST when something was planted between the two calls).
int create_object(const ObjectDir& dir, const std::string& key, bool direct);
// O_RDONLY|O_NOFOLLOW (a symlink is ELOOP, never followed; a FIFO does not block). -1 with errno.
int open_object(const ObjectDir& dir, const std::string& key, bool direct);
// unlinkat of the name (never follows a link). 0 or errno.
int remove_object(const ObjectDir& dir, const std::string& key);

// Creates a uniquely named file `<dir>/<stem>XXXXXX` with O_EXCL (mkostemp: never a planted link)
// and O_DIRECT when asked; -1 with errno. *path gets the name.
int create_unique(const std::filesystem::path& dir, const std::string& stem, bool direct,
                  std::string* path);

// Creates a unique `<dir>/.kv_probe_direct.XXXXXX` with O_DIRECT and writes one aligned block: true
// when the filesystem accepts O_DIRECT. *err gets the errno when refused.
bool direct_io_supported(const std::filesystem::path& dir, int* err);

std::unique_ptr<StorageBackend> make_posix_backend(const BackendOptions& opts);
// nullptr (and *why set) when io_uring cannot be set up here.
// Notes about degraded features (e.g. fixed buffers refused) are appended to *notes.
std::unique_ptr<StorageBackend> make_uring_backend(const BackendOptions& opts, std::string* why,
                                                   std::vector<std::string>* notes);

}  // namespace kv::io::detail
