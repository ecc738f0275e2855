#include "engine/cache_dir.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <unordered_set>

#include "core/error.hpp"
#include "core/log.hpp"

extern char** environ;

namespace kv::engine {

namespace fs = std::filesystem;

namespace {

constexpr std::array<const char*, 10> kForbidden = {
    "/etc", "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/boot", "/sys", "/proc", "/dev", "/root"};

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
  return !k.empty() && k.find('/') == std::string::npos && k.find('\0') == std::string::npos &&
         k[0] != '.';
}

}  // namespace

std::optional<std::string> cache_dir_problem(const std::string& dir) {
  if (dir.empty()) return std::string("must not be empty");
  const fs::path r = resolve(dir);
  if (r == r.root_path()) return fmt::format("refusing the root directory '{}'", r.string());
  for (const char* f : kForbidden) {
    if (within(r, fs::path(f)))
      return fmt::format("refusing system directory '{}' (resolved: {}, under {})", dir, r.string(),
                         f);
  }
  std::error_code ec;
  if (fs::exists(r, ec)) {
    if (!fs::is_directory(r, ec))
      return fmt::format("'{}' exists and is not a directory", r.string());
    if (::access(r.c_str(), W_OK | X_OK) != 0)
      return fmt::format("directory '{}' is not writable", r.string());
    return std::nullopt;
  }
  fs::path parent = r.parent_path();
  while (!parent.empty() && !fs::exists(parent, ec) && parent != parent.root_path())
    parent = parent.parent_path();
  if (!parent.empty() && ::access(parent.c_str(), W_OK | X_OK) != 0)
    return fmt::format("parent directory '{}' is not writable", parent.string());
  return std::nullopt;
}

struct CacheDir::State {
  fs::path dir;
  bool temporary = false;
  bool created = false;
  int manifest_fd = -1;
  std::size_t stale_removed = 0, foreign_npy = 0;
  std::mutex mu;
  std::unordered_set<std::string> keys;
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
    if (::lstat(npy(key).c_str(), &sb) == 0) {
      *why = fmt::format(
          "refusing to overwrite {}: not created by this kv-cache run (remove it or use another "
          "--cache-dir)",
          npy(key).string());
      return EEXIST;
    }
    line.assign(key);
    line.push_back('\n');
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(manifest_fd, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int e = errno;
        *why = fmt::format("cannot record {} in the manifest: {}", key, std::strerror(e));
        return e;
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    keys.insert(key);
    return 0;
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
    return inner_->write(spec, src);
  }
  io::IoResult read(const io::ObjectSpec& spec, io::PayloadSink* sink) override {
    return inner_->read(spec, sink);
  }
  bool remove(const std::string& key) override { return inner_->remove(key); }
  fs::path path_for(const std::string& key) const override { return inner_->path_for(key); }

 private:
  std::unique_ptr<io::StorageBackend> inner_;
  std::shared_ptr<CacheDir::State> st_;
};

}  // namespace

CacheDir::CacheDir() : st_(std::make_shared<State>()) {}

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
    if (auto problem = cache_dir_problem(dir)) throw usage_error("--cache-dir", *problem);
    st.dir = resolve(dir);
    if (!fs::exists(st.dir, ec)) {
      fs::create_directories(st.dir, ec);
      if (ec)
        throw Error(ExitCode::kPermissionDenied, fmt::format("--cache-dir: cannot create {}: {}",
                                                             st.dir.string(), ec.message()));
      st.created = true;
    }
  }

  const fs::path manifest = st.dir / kManifestName;
  st.manifest_fd = ::open(manifest.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (st.manifest_fd < 0)
    throw Error(ExitCode::kPermissionDenied, fmt::format("--cache-dir: cannot open {}: {}",
                                                         manifest.string(), std::strerror(errno)));
  if (::flock(st.manifest_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(st.manifest_fd);
    st.manifest_fd = -1;
    throw usage_error("--cache-dir",
                      fmt::format("{} is in use by another kv-cache run (lock on {})",
                                  st.dir.string(), manifest.string()));
  }

  // Files a previous run of ours recorded (it was interrupted, crashed or ran with --keep-cache).
  std::unordered_set<std::string> previous;
  {
    std::ifstream in(manifest);
    std::string key;
    while (std::getline(in, key)) {
      if (key.empty() || key[0] == '#' || !valid_key(key)) continue;
      previous.insert(key);
    }
  }
  for (const auto& key : previous) {
    struct stat sb {};
    const fs::path p = st.npy(key);
    if (::lstat(p.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && ::unlink(p.c_str()) == 0)
      ++st.stale_removed;
  }
  if (::ftruncate(st.manifest_fd, 0) != 0 || ::lseek(st.manifest_fd, 0, SEEK_SET) != 0)
    throw Error(ExitCode::kFailure, fmt::format("--cache-dir: cannot reset {}: {}",
                                                manifest.string(), std::strerror(errno)));
  const std::string header =
      fmt::format("# kv-cache manifest v1: files (<key>.npy) created by pid {}\n", ::getpid());
  if (::write(st.manifest_fd, header.data(), header.size()) != static_cast<ssize_t>(header.size()))
    throw Error(ExitCode::kFailure, fmt::format("--cache-dir: cannot write {}", manifest.string()));
  ::fdatasync(st.manifest_fd);

  for (const auto& e : fs::directory_iterator(st.dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".npy") ++st.foreign_npy;
    // A trash directory of an earlier run whose background remover did not finish.
    const std::string prefix = kTrashPrefix;
    if (name.rfind(prefix, 0) == 0 && e.is_directory(ec)) {
      const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
      struct stat sb {};
      const bool old = ::stat(e.path().c_str(), &sb) == 0 && ::time(nullptr) - sb.st_mtime > 600;
      if (!pid_alive(pid) && old) {  // a young one may still be being deleted by its remover
        std::error_code rec;
        fs::remove_all(e.path(), rec);
      }
    }
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
  return {st_->keys.begin(), st_->keys.end()};
}

CacheDir::Cleanup CacheDir::finish(bool keep, bool background) {
  State& st = *st_;
  std::lock_guard lk(st.mu);
  Cleanup c;
  if (st.finished) return c;
  st.finished = true;
  st.sealed = true;
  if (keep) {
    c.kept = true;
    if (st.manifest_fd >= 0) {
      ::fdatasync(st.manifest_fd);
      ::close(st.manifest_fd);
      st.manifest_fd = -1;
    }
    return c;
  }
  std::error_code ec;
  if (st.temporary) {
    // Everything in a temporary directory is ours.
    c.removed = st.keys.size();
    if (st.manifest_fd >= 0) {
      ::close(st.manifest_fd);
      st.manifest_fd = -1;
    }
    if (background && spawn_remover(st.dir, {})) {
      c.background = true;
    } else {
      fs::remove_all(st.dir, ec);
    }
    return c;
  }
  // Move our files into a private trash directory (a rename: instant), then delete it in the
  // background. Nothing else in the directory is touched; a new run can start at once.
  const fs::path trash = st.dir / fmt::format("{}{}", kTrashPrefix, ::getpid());
  const bool have_trash = background && ::mkdir(trash.c_str(), 0700) == 0;
  for (const auto& key : st.keys) {
    const fs::path p = st.npy(key);
    if (have_trash) {
      if (::rename(p.c_str(), (trash / (key + ".npy")).c_str()) == 0) ++c.removed;
    } else if (::unlink(p.c_str()) == 0) {
      ++c.removed;
    }
  }
  if (st.manifest_fd >= 0) {
    fs::remove(st.dir / kManifestName, ec);
    ::close(st.manifest_fd);
    st.manifest_fd = -1;
  }
  if (have_trash) {
    if (spawn_remover(trash, st.created ? st.dir : fs::path())) {
      c.background = true;
      return c;
    }
    fs::remove_all(trash, ec);
  }
  if (st.created) fs::remove(st.dir, ec);  // only if empty
  return c;
}

}  // namespace kv::engine
