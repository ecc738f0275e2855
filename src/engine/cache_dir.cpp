#include "engine/cache_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"
#include "core/log.hpp"
#include "engine/io/npy.hpp"

extern char** environ;

namespace kv::engine {

namespace fs = std::filesystem;

namespace {

// System directories refused with everything below them, and directories refused only themselves.
constexpr std::array<const char*, 15> kForbidden = {
    "/etc", "/bin",  "/sbin", "/usr",  "/lib",     "/lib32",   "/lib64", "/boot",
    "/sys", "/proc", "/dev",  "/root", "/var/lib", "/var/log", "/run"};
constexpr std::array<const char*, 6> kForbiddenItself = {"/home",  "/var", "/mnt",
                                                         "/media", "/srv", "/opt"};

bool within(const fs::path& p, const fs::path& prefix) {
  auto pi = p.begin();
  for (auto qi = prefix.begin(); qi != prefix.end(); ++qi, ++pi) {
    if (pi == p.end() || *pi != *qi) return false;
  }
  return true;
}

fs::path resolve(const std::string& dir) {
  std::error_code ec;
  fs::path abs = fs::absolute(fs::path(dir), ec);
  if (ec) abs = fs::path(dir);
  fs::path r = fs::weakly_canonical(abs, ec);
  if (ec) r = abs.lexically_normal();
  // Drop a trailing empty component ("/tmp/x/" → "/tmp/x").
  if (!r.has_filename() && r.has_parent_path() && r != r.root_path()) r = r.parent_path();
  return r;
}

// Starts a detached `sh -c 'rm -rf -- "$1"; rmdir -- "$2"'` in its own session (stdio on /dev/null)
// so that freeing the blocks of many GiB (slow on a discard-mounted filesystem) does not delay the
// benchmark's exit. Returns false if it could not be started (the caller then deletes in the
// foreground).
bool spawn_remover(const fs::path& tree, const fs::path& rmdir_after) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  if (posix_spawn_file_actions_init(&fa) != 0) return false;
  if (posix_spawnattr_init(&attr) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return false;
  }
  for (int fd = 0; fd <= 2; ++fd)
    posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGINT);
  sigaddset(&def, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const std::string t = tree.string(), r = rmdir_after.string();
  const char* argv[] = {"sh",
                        "-c",
                        "rm -rf -- \"$1\"; [ -n \"$2\" ] && rmdir -- \"$2\" 2>/dev/null; exit 0",
                        "kv-cache-cleanup",
                        t.c_str(),
                        r.c_str(),
                        nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0;
}

bool pid_alive(long pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

bool valid_key(const std::string& k) {
  return !k.empty() && k.find_first_of(std::string_view("/\n\0", 3)) == std::string::npos &&
         k[0] != '.';
}

constexpr std::string_view kManifestMagic = "# kv-cache manifest v";  // first bytes of ours
constexpr const char* kTrashMarker = ".kv-cache-trash-marker";
constexpr std::string_view kTrashMagic = "kv-cache trash directory v1\n";

// Inode and size of a file as we left it; ino == 0 when not known (the write failed or was cut
// short by a crash), size == kSizeUnknown when only the inode was recorded.
constexpr off_t kSizeUnknown = -1;
struct Owned {
  ino_t ino = 0;
  off_t size = kSizeUnknown;
};

// Why a file we opened is not one of ours to write or delete: it must be a regular file with one
// link, owned by our effective user.
std::optional<std::string> not_ours(const struct stat& sb) {
  if (!S_ISREG(sb.st_mode)) return std::string("not a regular file");
  if (sb.st_nlink != 1) return std::string("it has other hard links");
  if (sb.st_uid != ::geteuid()) return std::string("owned by another user");
  return std::nullopt;
}

// True when `<dirfd>/<name>` is a regular file of ours: one link, our uid, and either the recorded
// inode and size, or (nothing recorded) a valid .npy header whose shape matches the file size.
bool is_our_file(int dirfd, const std::string& name, const Owned& rec) {
  const int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat sb {};
  bool ok = ::fstat(fd, &sb) == 0 && !not_ours(sb);
  if (ok && rec.ino != 0) {
    ok = sb.st_ino == rec.ino && (rec.size == kSizeUnknown || sb.st_size == rec.size);
  } else if (ok) {
    std::array<char, 4096> buf{};
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
    const auto info =
        n > 0 ? io::parse_npy_header({buf.data(), static_cast<std::size_t>(n)}) : std::nullopt;
    std::uint64_t elems = 1;
    if (info)
      for (auto d : info->shape) elems *= d;
    ok = info && info->descr == "<f2" &&
         info->header_bytes + elems * 2 == static_cast<std::uint64_t>(sb.st_size);
  }
  ::close(fd);
  return ok;
}

// A trash directory of an earlier run of ours whose remover did not finish: a directory of our
// uid holding our marker, its pid gone and older than 10 minutes (a young one may still be being
// deleted). Only its regular *.npy files and the marker are removed, then the (empty) directory.
void remove_stale_trash(int dirfd, const std::string& name) {
  struct stat sb {};
  const long pid = std::strtol(name.c_str() + std::strlen(kTrashPrefix), nullptr, 10);
  if (::fstatat(dirfd, name.c_str(), &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode) ||
      sb.st_uid != ::geteuid() || ::time(nullptr) - sb.st_mtime <= 600 || pid_alive(pid))
    return;
  const int tfd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (tfd < 0) return;
  bool marked = false;
  if (const int mfd = ::openat(tfd, kTrashMarker, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      mfd >= 0) {
    std::array<char, 64> buf{};
    struct stat mb {};
    const ssize_t n = ::read(mfd, buf.data(), buf.size());
    marked = ::fstat(mfd, &mb) == 0 && !not_ours(mb) && n > 0 &&
             std::string_view(buf.data(), static_cast<std::size_t>(n)) == kTrashMagic;
    ::close(mfd);
  }
  if (marked) {
    if (DIR* d = ::fdopendir(::dup(tfd))) {
      std::vector<std::string> names;
      while (const dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n.size() > 4 && n.ends_with(".npy")) names.push_back(n);
      }
      ::closedir(d);
      for (const auto& n : names) {
        struct stat fb {};
        if (::fstatat(tfd, n.c_str(), &fb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(fb.st_mode) &&
            fb.st_uid == ::geteuid())
          ::unlinkat(tfd, n.c_str(), 0);
      }
      ::unlinkat(tfd, kTrashMarker, 0);
      ::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR);  // only when nothing else is left in it
    }
  }
  ::close(tfd);
}

// Writes all of `s` at the current offset of fd; 0 or errno.
int write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

// Reads the whole manifest through its fd.
std::string read_all(int fd) {
  std::string out;
  std::array<char, 65536> buf{};
  off_t off = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
    off += n;
  }
  return out;
}

}  // namespace

std::optional<std::string> cache_dir_problem(const std::string& dir) {
  return cache_dir_check(dir).problem;
}

CacheDirCheck cache_dir_check(const std::string& dir) {
  CacheDirCheck c;
  if (dir.empty()) {
    c.problem = "must not be empty";
    return c;
  }
  const fs::path r = resolve(dir);
  if (r == r.root_path()) {
    c.problem = fmt::format("refusing the root directory '{}'", r.string());
    return c;
  }
  for (const char* f : kForbidden) {
    if (within(r, fs::path(f))) {
      c.problem = fmt::format("refusing system directory '{}' (resolved: {}, under {})", dir,
                              r.string(), f);
      return c;
    }
  }
  for (const char* f : kForbiddenItself) {
    if (r == fs::path(f)) {
      c.problem = fmt::format("refusing '{}' itself (resolved: {}); use a directory below it", dir,
                              r.string());
      return c;
    }
  }
  std::error_code ec;
  if (fs::exists(r, ec)) {
    if (!fs::is_directory(r, ec)) {
      c.problem = fmt::format("'{}' exists and is not a directory", r.string());
    } else if (::access(r.c_str(), W_OK | X_OK) != 0) {
      c.problem = fmt::format("directory '{}' is not writable", r.string());
      c.code = ExitCode::kPermissionDenied;
    }
    return c;
  }
  fs::path parent = r.parent_path();
  while (!parent.empty() && !fs::exists(parent, ec) && parent != parent.root_path())
    parent = parent.parent_path();
  if (!parent.empty() && ::access(parent.c_str(), W_OK | X_OK) != 0) {
    c.problem = fmt::format("parent directory '{}' is not writable", parent.string());
    c.code = ExitCode::kPermissionDenied;
  }
  return c;
}

struct CacheDir::State {
  fs::path dir;
  int dir_fd = -1;
  bool temporary = false;
  bool created = false;
  int manifest_fd = -1;
  std::size_t stale_removed = 0, foreign_npy = 0;
  std::mutex mu;
  std::unordered_map<std::string, Owned> keys;
  bool sealed = false;
  bool finished = false;
  std::string line;  // reused buffer

  fs::path npy(const std::string& key) const { return dir / (key + ".npy"); }

  // Records `key` before its first write. 0 = go ahead, else errno.
  int record(const std::string& key, std::string* why) {
    std::lock_guard lk(mu);
    if (sealed) {
      *why = "run is shutting down";
      return ECANCELED;
    }
    if (keys.count(key)) return 0;
    if (!valid_key(key)) {
      *why = "invalid key";
      return EINVAL;
    }
    struct stat sb {};
    if (::fstatat(dir_fd, (key + ".npy").c_str(), &sb, AT_SYMLINK_NOFOLLOW) == 0) {
      *why = fmt::format(
          "refusing to overwrite {}: not created by this kv-cache run (remove it or use another "
          "--cache-dir)",
          npy(key).string());
      return EEXIST;
    }
    line.assign(key);
    line.push_back('\n');
    if (const int e = write_all(manifest_fd, line); e != 0) {
      *why = fmt::format("cannot record {} in the manifest: {}", key, std::strerror(e));
      return e;
    }
    keys.emplace(key, Owned{});
    return 0;
  }

  // After a successful write: remembers the file's inode and size (removals check them). A key's
  // inode goes into the manifest when it is first known or changes (normally once per key: the
  // backends keep the inode of a file of ours across rewrites), so a crashed run's files can be
  // told from files that replaced them.
  void written(const std::string& key) {
    struct stat sb {};
    const bool ok =
        ::fstatat(dir_fd, (key + ".npy").c_str(), &sb, AT_SYMLINK_NOFOLLOW) == 0 && !not_ours(sb);
    std::lock_guard lk(mu);
    auto it = keys.find(key);
    if (it == keys.end()) return;
    const Owned now = ok ? Owned{sb.st_ino, sb.st_size} : Owned{};
    if (now.ino != it->second.ino && now.ino != 0 && manifest_fd >= 0)
      write_all(manifest_fd, fmt::format("@ {} - {}\n", now.ino, key));
    it->second = now;
  }

  // Removes (or moves into trash_fd) our file `key` when it is still the one we wrote.
  bool remove_ours(const std::string& key, const Owned& rec, int trash_fd) {
    const std::string name = key + ".npy";
    if (!is_our_file(dir_fd, name, rec)) return false;
    if (trash_fd >= 0) return ::renameat(dir_fd, name.c_str(), trash_fd, name.c_str()) == 0;
    return ::unlinkat(dir_fd, name.c_str(), 0) == 0;
  }
};

namespace {

class OwnedBackend final : public io::StorageBackend {
 public:
  OwnedBackend(std::unique_ptr<io::StorageBackend> inner, std::shared_ptr<CacheDir::State> st)
      : inner_(std::move(inner)), st_(std::move(st)) {}
  const char* name() const override { return inner_->name(); }
  io::IoResult write(const io::ObjectSpec& spec, const io::PayloadSource& src) override {
    std::string why;
    if (int e = st_->record(spec.key, &why); e != 0) {
      io::IoResult r;
      r.ok = false;
      r.error = e;
      r.message = why;
      return r;
    }
    io::IoResult r = inner_->write(spec, src);
    if (r.ok) st_->written(spec.key);
    return r;
  }
  io::IoResult read(const io::ObjectSpec& spec, io::PayloadSink* sink) override {
    return inner_->read(spec, sink);
  }
  bool remove(const std::string& key) override { return inner_->remove(key); }
  fs::path path_for(const std::string& key) const override { return inner_->path_for(key); }
  std::uint64_t peak_inflight_bytes() const override { return inner_->peak_inflight_bytes(); }

 private:
  std::unique_ptr<io::StorageBackend> inner_;
  std::shared_ptr<CacheDir::State> st_;
};

}  // namespace

CacheDir::CacheDir() : st_(std::make_shared<State>()) {}

namespace {

// Opens (or creates) the manifest so that nothing but a regular, single-link file of our user that
// is empty or starts with our magic is ever used: a symlink is refused (O_NOFOLLOW), a new one is
// created O_EXCL, and a foreign file is never truncated.
int open_manifest(int dir_fd, const fs::path& manifest) {
  int fd = ::openat(dir_fd, kManifestName, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    fd = ::openat(dir_fd, kManifestName, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ELOOP)
    throw usage_error("--cache-dir",
                      fmt::format("{} is a symbolic link, not a kv-cache manifest; refusing to "
                                  "use it (remove it, or use another --cache-dir)",
                                  manifest.string()));
  if (fd < 0)
    throw Error(ExitCode::kPermissionDenied, fmt::format("--cache-dir: cannot open {}: {}",
                                                         manifest.string(), std::strerror(errno)));
  struct stat sb {};
  std::optional<std::string> why;
  if (::fstat(fd, &sb) != 0) {
    why = std::strerror(errno);
  } else if ((why = not_ours(sb))) {
  } else if (sb.st_size > 0) {
    std::array<char, kManifestMagic.size()> head{};
    const ssize_t n = ::pread(fd, head.data(), head.size(), 0);
    if (n != static_cast<ssize_t>(head.size()) ||
        std::string_view(head.data(), head.size()) != kManifestMagic)
      why = "it does not start with the kv-cache manifest header";
  }
  if (why) {
    ::close(fd);
    throw usage_error("--cache-dir", fmt::format("{} is not a kv-cache manifest of ours ({}); "
                                                 "refusing to use it (remove it, or use another "
                                                 "--cache-dir)",
                                                 manifest.string(), *why));
  }
  return fd;
}

// Manifest lines: "<key>" (recorded before the key's first write), "@ <ino> - <key>" (its inode,
// once written) or "@ <ino> <size> <key>" (the file as it was left, when the cache is kept). The
// last line for a key wins.
std::unordered_map<std::string, Owned> parse_manifest(const std::string& text) {
  std::unordered_map<std::string, Owned> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("@ ", 0) != 0) {
      if (valid_key(line)) out.emplace(line, Owned{});
      continue;
    }
    char* end = nullptr;
    const unsigned long long ino = std::strtoull(line.c_str() + 2, &end, 10);
    if (end == line.c_str() + 2 || *end != ' ') continue;
    Owned rec{static_cast<ino_t>(ino), kSizeUnknown};
    const char* p = end + 1;
    if (*p == '-') {
      ++p;
    } else {
      const long long size = std::strtoll(p, &end, 10);
      if (end == p) continue;
      rec.size = static_cast<off_t>(size);
      p = end;
    }
    if (*p != ' ' || rec.ino == 0) continue;
    const std::string key(p + 1);
    if (valid_key(key)) out[key] = rec;
  }
  return out;
}

}  // namespace

std::unique_ptr<CacheDir> CacheDir::open(const std::string& dir) {
  std::unique_ptr<CacheDir> cd(new CacheDir());
  State& st = *cd->st_;
  std::error_code ec;
  if (dir.empty()) {
    std::string tmpl = (fs::temp_directory_path(ec) / "kv_cache_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw Error(ExitCode::kFailure,
                  fmt::format("--cache-dir: cannot create a temporary directory {}: {}", tmpl,
                              std::strerror(errno)));
    st.dir = tmpl;
    st.temporary = true;
    st.created = true;
  } else {
    if (auto check = cache_dir_check(dir); check.problem)
      throw Error(check.code, "--cache-dir: " + *check.problem);
    st.dir = resolve(dir);
    if (!fs::exists(st.dir, ec)) {
      fs::create_directories(st.dir, ec);
      if (ec)
        throw Error(ExitCode::kPermissionDenied, fmt::format("--cache-dir: cannot create {}: {}",
                                                             st.dir.string(), ec.message()));
      st.created = true;
    }
  }
  // Everything below is relative to this fd: the directory cannot be swapped under us.
  st.dir_fd = ::open(st.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (st.dir_fd < 0)
    throw Error(ExitCode::kPermissionDenied, fmt::format("--cache-dir: cannot open {}: {}",
                                                         st.dir.string(), std::strerror(errno)));

  const fs::path manifest = st.dir / kManifestName;
  st.manifest_fd = open_manifest(st.dir_fd, manifest);
  if (::flock(st.manifest_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(st.manifest_fd);
    st.manifest_fd = -1;
    throw usage_error("--cache-dir",
                      fmt::format("{} is in use by another kv-cache run (lock on {})",
                                  st.dir.string(), manifest.string()));
  }

  // Files a previous run of ours recorded (it was interrupted, crashed or ran with --keep-cache),
  // removed only when each is still the file we left (is_our_file).
  for (const auto& [key, rec] : parse_manifest(read_all(st.manifest_fd))) {
    if (st.remove_ours(key, rec, -1)) ++st.stale_removed;
  }
  if (::ftruncate(st.manifest_fd, 0) != 0 || ::lseek(st.manifest_fd, 0, SEEK_SET) != 0)
    throw Error(ExitCode::kFailure, fmt::format("--cache-dir: cannot reset {}: {}",
                                                manifest.string(), std::strerror(errno)));
  const std::string header =
      fmt::format("{}2: files (<key>.npy) created by pid {}\n", kManifestMagic, ::getpid());
  if (write_all(st.manifest_fd, header) != 0)
    throw Error(ExitCode::kFailure, fmt::format("--cache-dir: cannot write {}", manifest.string()));
  ::fdatasync(st.manifest_fd);

  for (const auto& e : fs::directory_iterator(st.dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".npy") ++st.foreign_npy;
    if (name.rfind(kTrashPrefix, 0) == 0) remove_stale_trash(st.dir_fd, name);
  }
  if (st.stale_removed > 0)
    log::info("--cache-dir: removed {} file(s) left by a previous kv-cache run in {}",
              st.stale_removed, st.dir.string());
  if (st.foreign_npy > 0)
    log::warn(
        "--cache-dir: {} .npy file(s) in {} were not created by kv-cache; left untouched (the "
        "reference "
        "would delete them)",
        st.foreign_npy, st.dir.string());
  return cd;
}

CacheDir::~CacheDir() {
  try {
    finish(false, false);
  } catch (...) {
  }
}

const fs::path& CacheDir::path() const {
  return st_->dir;
}
bool CacheDir::temporary() const {
  return st_->temporary;
}
std::size_t CacheDir::stale_removed() const {
  return st_->stale_removed;
}
std::size_t CacheDir::foreign_npy() const {
  return st_->foreign_npy;
}

std::unique_ptr<io::StorageBackend> CacheDir::wrap(std::unique_ptr<io::StorageBackend> inner) {
  return std::make_unique<OwnedBackend>(std::move(inner), st_);
}

void CacheDir::seal() {
  std::lock_guard lk(st_->mu);
  st_->sealed = true;
}

std::vector<std::string> CacheDir::owned_keys() const {
  std::lock_guard lk(st_->mu);
  std::vector<std::string> out;
  out.reserve(st_->keys.size());
  for (const auto& kv : st_->keys) out.push_back(kv.first);
  return out;
}

std::size_t CacheDir::owned_count() const {
  std::lock_guard lk(st_->mu);
  return st_->keys.size();
}

CacheDir::Cleanup CacheDir::finish(bool keep, bool background, std::atomic<std::size_t>* progress) {
  State& st = *st_;
  std::lock_guard lk(st.mu);
  Cleanup c;
  if (st.finished) return c;
  st.finished = true;
  st.sealed = true;
  const auto close_dir = [&] {
    if (st.dir_fd >= 0) ::close(st.dir_fd);
    st.dir_fd = -1;
  };
  if (keep) {
    c.kept = true;
    if (st.manifest_fd >= 0) {
      // Rewrite the manifest with each file's inode and size, so the next run removes exactly
      // these files (and nothing that replaced them). A crash mid-way loses entries: files stay.
      std::string text =
          fmt::format("{}2: files (<key>.npy) kept by pid {}\n", kManifestMagic, ::getpid());
      for (const auto& [key, rec] : st.keys)
        text += rec.ino != 0 ? fmt::format("@ {} {} {}\n", rec.ino, rec.size, key) : key + "\n";
      if (::ftruncate(st.manifest_fd, 0) == 0 && ::lseek(st.manifest_fd, 0, SEEK_SET) == 0)
        write_all(st.manifest_fd, text);
      ::fdatasync(st.manifest_fd);
      ::close(st.manifest_fd);
      st.manifest_fd = -1;
    }
    close_dir();
    return c;
  }
  std::error_code ec;
  if (st.temporary) {
    // Everything in a temporary directory (mkdtemp, mode 0700) is ours.
    c.removed = st.keys.size();
    if (st.manifest_fd >= 0) {
      ::close(st.manifest_fd);
      st.manifest_fd = -1;
    }
    close_dir();
    if (background && spawn_remover(st.dir, {})) {
      c.background = true;
    } else {
      fs::remove_all(st.dir, ec);
    }
    return c;
  }
  // Move our files into a private trash directory carrying our marker (a rename: instant), then
  // delete it in the background. Nothing else in the directory is touched; a new run can start
  // at once.
  const std::string trash_name = fmt::format("{}{}", kTrashPrefix, ::getpid());
  const fs::path trash = st.dir / trash_name;
  int trash_fd = -1;
  if (background && ::mkdirat(st.dir_fd, trash_name.c_str(), 0700) == 0) {
    trash_fd =
        ::openat(st.dir_fd, trash_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    const int mfd = trash_fd < 0
                        ? -1
                        : ::openat(trash_fd, kTrashMarker,
                                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (mfd < 0 || write_all(mfd, kTrashMagic) != 0) {
      if (trash_fd >= 0) ::close(trash_fd);
      trash_fd = -1;
    }
    if (mfd >= 0) ::close(mfd);
  }
  for (const auto& [key, rec] : st.keys) {
    if (st.remove_ours(key, rec, trash_fd)) ++c.removed;
    if (progress != nullptr) progress->fetch_add(1, std::memory_order_relaxed);
  }
  if (st.manifest_fd >= 0) {
    ::unlinkat(st.dir_fd, kManifestName, 0);
    ::close(st.manifest_fd);
    st.manifest_fd = -1;
  }
  if (trash_fd >= 0) {
    ::close(trash_fd);
    if (spawn_remover(trash, st.created ? st.dir : fs::path())) {
      c.background = true;
      close_dir();
      return c;
    }
    fs::remove_all(trash, ec);
  } else if (background) {
    ::unlinkat(st.dir_fd, (trash_name + "/" + kTrashMarker).c_str(), 0);
    ::unlinkat(st.dir_fd, trash_name.c_str(), AT_REMOVEDIR);  // a marker write failed: empty
  }
  close_dir();
  if (st.created) fs::remove(st.dir, ec);  // only if empty
  return c;
}

}  // namespace kv::engine
