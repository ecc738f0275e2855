// The storage directory: safety checks and file ownership (the reference deletes every *.npy in
// --cache-dir at start; we never delete or write through a file we did not create; docs/cache.md).
//   * cache_dir_problem(): refuses system directories (/etc /bin /sbin /usr /lib* /boot /sys /proc
//     /dev /root /var/lib /var/log /run and everything below; /home /var /mnt /media /srv /opt
//     themselves; / itself), checked on the RESOLVED path component by component (so /etcetera is
//     fine and a symlink into /etc is not), and an unwritable directory or parent.
//   * CacheDir::open(): creates the directory if needed (or a temporary kv_cache_XXXXXX directory
//     when none is given), opens it once (every later call is relative to that fd), takes an
//     exclusive lock (one run per directory) on `<dir>/.kv-cache-manifest`, which must be a
//     regular single-link file of our user starting with our header (a symlink or a foreign file
//     is refused, exit 2, never truncated), and removes ONLY the files a previous run of ours
//     listed there that are still ours (regular, one link, our uid, and the recorded inode and
//     size, or a valid .npy whose shape matches its size when none was recorded).
//   * wrap(): a StorageBackend decorator that appends each key to the manifest before its first
//     write, fails (EEXIST) a write that would overwrite a file we did not create, and remembers
//     each written file's inode and size. The backends themselves recreate the file on every write
//     (unlink + O_CREAT|O_EXCL|O_NOFOLLOW), so a link planted between writes is never followed.
//   * finish(): removes our files (only those still ours), or keeps them and rewrites the manifest
//     with their inodes and sizes (--keep-cache, so the next run cleans exactly them); a temporary
//     directory is removed as a whole. Optionally in the background, through a trash directory
//     that carries our marker (a later run removes only a marked, old one of our uid, and in it
//     only regular *.npy files).
#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "engine/io/backend.hpp"

namespace kv::engine {

inline constexpr const char* kManifestName = ".kv-cache-manifest";
inline constexpr const char* kTrashPrefix = ".kv-cache-trash-";  // + pid

// nullopt when `dir` is acceptable as --cache-dir, else what is wrong with it.
std::optional<std::string> cache_dir_problem(const std::string& dir);
// The same with the exit code: kPermissionDenied for an unwritable directory or parent,
// kInvalidArguments otherwise.
struct CacheDirCheck {
  std::optional<std::string> problem;
  ExitCode code = ExitCode::kInvalidArguments;
};
CacheDirCheck cache_dir_check(const std::string& dir);

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
  std::size_t owned_count() const;  // files created through wrap() so far

  struct Cleanup {
    std::size_t removed = 0;  // our files removed (or moved to the trash being deleted)
    bool kept = false;
    bool background = false;  // a detached remover is freeing the space
  };
  // Idempotent. keep = --keep-cache. background: move our files into `<dir>/.kv-cache-trash-<pid>`
  // (a temporary directory as a whole) and delete that in a detached process, so freeing many GiB
  // does not delay the exit; a later run removes a trash directory whose process is gone.
  // `progress`, when given, counts the owned files handled so far (read by a progress display).
  Cleanup finish(bool keep, bool background = false, std::atomic<std::size_t>* progress = nullptr);

  struct State;

 private:
  CacheDir();
  std::shared_ptr<State> st_;
};

}  // namespace kv::engine
