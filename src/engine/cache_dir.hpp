// The storage directory: safety checks and file ownership (issue #4 item 8; the reference deletes
// every *.npy in --cache-dir at start, kv-cache-engine.md §8.21 — we never delete a file we did not
// create).
//   * cache_dir_problem(): refuses system directories (/etc /bin /sbin /usr/bin /usr/sbin /boot
//   /sys
//     /proc /dev /root and / itself), checked on the RESOLVED path component by component (so
//     /etcetera is fine and a symlink into /etc is not), and an unwritable directory or parent.
//   * CacheDir::open(): creates the directory if needed (or a temporary kv_cache_XXXXXX directory
//   when
//     none is given), takes an exclusive lock (one run per directory), and removes ONLY the files
//     that a previous run of ours listed in `<dir>/.kv-cache-manifest`.
//   * wrap(): a StorageBackend decorator that appends each key to the manifest before its first
//   write,
//     and fails (EEXIST) a write that would overwrite a file we did not create.
//   * finish(): removes our files (or keeps them and the manifest with --keep-cache, so the next
//   run
//     cleans them); a temporary directory is removed as a whole. Optionally in the background.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/backend.hpp"

namespace kv::engine {

inline constexpr const char* kManifestName = ".kv-cache-manifest";
inline constexpr const char* kTrashPrefix = ".kv-cache-trash-";  // + pid

// nullopt when `dir` is acceptable as --cache-dir, else what is wrong with it.
std::optional<std::string> cache_dir_problem(const std::string& dir);

class CacheDir {
 public:
  // Throws kv::Error naming --cache-dir on failure (kInvalidArguments when another run holds the
  // lock).
  static std::unique_ptr<CacheDir> open(const std::string& dir);
  ~CacheDir();
  CacheDir(const CacheDir&) = delete;
  CacheDir& operator=(const CacheDir&) = delete;

  const std::filesystem::path& path() const;
  bool temporary() const;
  std::size_t stale_removed() const;  // files of a previous run of ours removed at start
  std::size_t foreign_npy() const;    // other *.npy files found at start (left untouched)

  std::unique_ptr<io::StorageBackend> wrap(std::unique_ptr<io::StorageBackend> inner);
  // From now on writes through wrap()'s backend fail with ECANCELED (shutdown with stragglers).
  void seal();
  std::vector<std::string> owned_keys() const;

  struct Cleanup {
    std::size_t removed = 0;  // our files removed (or moved to the trash being deleted)
    bool kept = false;
    bool background = false;  // a detached remover is freeing the space
  };
  // Idempotent. keep = --keep-cache. background: move our files into `<dir>/.kv-cache-trash-<pid>`
  // (a temporary directory as a whole) and delete that in a detached process, so freeing many GiB
  // does not delay the exit; a later run removes a trash directory whose process is gone.
  Cleanup finish(bool keep, bool background = false);

  struct State;

 private:
  CacheDir();
  std::shared_ptr<State> st_;
};

}  // namespace kv::engine
