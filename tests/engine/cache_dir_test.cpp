// Cache-dir ownership: the engine never deletes (or overwrites) a file it did not create; files a
// previous run of ours recorded are removed at start; ours are removed at the end unless kept;
// one run per directory; temporary directories disappear.
#include "engine/cache_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include "core/error.hpp"
#include "engine/io/backend.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace kv;
using namespace kv::engine;
namespace fs = std::filesystem;
using kv::testsupport::slurp;
using kv::testsupport::TempDir;

namespace {

class FileBackend : public io::StorageBackend {
 public:
  explicit FileBackend(fs::path dir) : dir_(std::move(dir)) {}
  const char* name() const override { return "test-files"; }
  io::IoResult write(const io::ObjectSpec& spec, const io::PayloadSource&) override {
    std::ofstream(path_for(spec.key)) << "ours:" << spec.key;
    io::IoResult r;
    r.ok = true;
    return r;
  }
  io::IoResult read(const io::ObjectSpec&, io::PayloadSink*) override {
    io::IoResult r;
    r.ok = true;
    return r;
  }
  bool remove(const std::string& key) override { return fs::remove(path_for(key)); }
  fs::path path_for(const std::string& key) const override { return dir_ / (key + ".npy"); }

 private:
  fs::path dir_;
};

struct NullSource : io::PayloadSource {
  void fill(std::uint64_t, std::span<std::byte>) const override {}
};

io::IoResult put(io::StorageBackend& b, const std::string& key) {
  io::ObjectSpec spec;
  spec.key = key;
  return b.write(spec, NullSource{});
}

void touch(const fs::path& p, const std::string& content = "foreign") {
  std::ofstream(p) << content;
}
}  // namespace

TEST(CacheDir, ForeignFilesSurviveAndOurFilesAreRemoved) {
  TempDir t;
  touch(t.path / "foreign.npy");
  touch(t.path / "notes.txt");
  {
    auto dir = CacheDir::open(t.path.string());
    EXPECT_EQ(dir->foreign_npy(), 1u);
    auto b = dir->wrap(std::make_unique<FileBackend>(t.path));
    ASSERT_TRUE(put(*b, "a").ok);
    ASSERT_TRUE(put(*b, "b").ok);
    ASSERT_TRUE(put(*b, "a").ok);  // rewriting our own file is fine
    EXPECT_TRUE(fs::exists(t.path / "a.npy"));
    EXPECT_TRUE(fs::exists(t.path / kManifestName));
    auto c = dir->finish(false);
    EXPECT_EQ(c.removed, 2u);
  }
  EXPECT_FALSE(fs::exists(t.path / "a.npy"));
  EXPECT_FALSE(fs::exists(t.path / "b.npy"));
  EXPECT_FALSE(fs::exists(t.path / kManifestName));
  EXPECT_EQ(slurp(t.path / "foreign.npy"), "foreign");
  EXPECT_TRUE(fs::exists(t.path / "notes.txt"));
}

TEST(CacheDir, NeverOverwritesAFileItDidNotCreate) {
  TempDir t;
  touch(t.path / "user_0001_ctx.npy", "precious");
  auto dir = CacheDir::open(t.path.string());
  auto b = dir->wrap(std::make_unique<FileBackend>(t.path));
  io::IoResult r = put(*b, "user_0001_ctx");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, EEXIST);
  EXPECT_NE(r.message.find("not created by"), std::string::npos);
  dir->finish(false);
  EXPECT_EQ(slurp(t.path / "user_0001_ctx.npy"), "precious");
}

TEST(CacheDir, KeepCacheLeavesFilesForTheNextRunToRemove) {
  TempDir t;
  {
    auto dir = CacheDir::open(t.path.string());
    auto b = dir->wrap(std::make_unique<FileBackend>(t.path));
    put(*b, "k1");
    put(*b, "k2");
    EXPECT_TRUE(dir->finish(true).kept);
  }
  EXPECT_TRUE(fs::exists(t.path / "k1.npy"));
  EXPECT_TRUE(fs::exists(t.path / kManifestName));
  touch(t.path / "k3.npy");  // appeared later, not in our manifest
  auto dir = CacheDir::open(t.path.string());
  EXPECT_EQ(dir->stale_removed(), 2u);
  EXPECT_EQ(dir->foreign_npy(), 1u);
  EXPECT_FALSE(fs::exists(t.path / "k1.npy"));
  EXPECT_FALSE(fs::exists(t.path / "k2.npy"));
  EXPECT_TRUE(fs::exists(t.path / "k3.npy"));
}

TEST(CacheDir, OneRunPerDirectory) {
  TempDir t;
  auto first = CacheDir::open(t.path.string());
  try {
    CacheDir::open(t.path.string());
    FAIL() << "second open should fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInvalidArguments);
    EXPECT_NE(std::string(e.what()).find("in use by another kv-cache run"), std::string::npos);
  }
  first->finish(false);
  EXPECT_NO_THROW(CacheDir::open(t.path.string()));
}

TEST(CacheDir, CreatesMissingDirectoryAndRemovesItWhenEmpty) {
  TempDir t;
  const fs::path d = t.path / "new" / "cache";
  auto dir = CacheDir::open(d.string());
  EXPECT_TRUE(fs::is_directory(d));
  dir->finish(false);
  EXPECT_FALSE(fs::exists(d));
  EXPECT_TRUE(fs::exists(t.path / "new"));  // only what we created and is empty
}

TEST(CacheDir, TemporaryDirectoryIsRemovedAsAWhole) {
  fs::path p;
  {
    auto dir = CacheDir::open("");
    p = dir->path();
    EXPECT_TRUE(dir->temporary());
    EXPECT_EQ(p.filename().string().rfind("kv_cache_", 0), 0u);
    auto b = dir->wrap(std::make_unique<FileBackend>(p));
    put(*b, "x");
  }
  EXPECT_FALSE(fs::exists(p));
}

TEST(CacheDir, BackgroundCleanupMovesFilesAwayAtOnceAndDeletesThem) {
  TempDir t;
  touch(t.path / "foreign.npy");
  auto dir = CacheDir::open(t.path.string());
  auto b = dir->wrap(std::make_unique<FileBackend>(t.path));
  put(*b, "a");
  put(*b, "b");
  auto c = dir->finish(false, /*background=*/true);
  EXPECT_EQ(c.removed, 2u);
  EXPECT_FALSE(fs::exists(t.path / "a.npy"));
  EXPECT_FALSE(fs::exists(t.path / "b.npy"));
  EXPECT_FALSE(fs::exists(t.path / kManifestName));
  // The trash directory goes away shortly; nothing else is touched.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool trash = true;
  while (trash && std::chrono::steady_clock::now() < deadline) {
    trash = false;
    for (const auto& e : fs::directory_iterator(t.path))
      trash |= e.path().filename().string().rfind(kTrashPrefix, 0) == 0;
    if (trash) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(trash);
  EXPECT_EQ(slurp(t.path / "foreign.npy"), "foreign");
  // A sealed directory refuses new files.
  auto dir2 = CacheDir::open(t.path.string());
  auto b2 = dir2->wrap(std::make_unique<FileBackend>(t.path));
  dir2->seal();
  EXPECT_EQ(put(*b2, "late").error, ECANCELED);
  EXPECT_FALSE(fs::exists(t.path / "late.npy"));
}

TEST(CacheDir, ProblemsAreReported) {
  EXPECT_TRUE(cache_dir_problem("/etc").has_value());
  EXPECT_TRUE(cache_dir_problem("/usr/sbin/../sbin/x").has_value());
  EXPECT_TRUE(cache_dir_problem("").has_value());
  EXPECT_FALSE(cache_dir_problem(fs::temp_directory_path().string()).has_value());
  try {
    CacheDir::open("/proc/kv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInvalidArguments);
  }
}

// ---- Issue 15 items 2a, 2b, 3: no write escapes the cache dir, nothing foreign is deleted ----

namespace {

struct Victim {
  TempDir outside;
  fs::path path = outside.path / "victim.npy";
  std::string content = "precious bytes that must stay byte-identical";
  Victim() { touch(path, content); }
  bool intact() const { return slurp(path) == content && fs::hard_link_count(path) == 1; }
};

std::string expect_refused(const fs::path& dir) {
  try {
    CacheDir::open(dir.string());
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInvalidArguments);
    return e.what();
  }
  ADD_FAILURE() << "open should have been refused";
  return {};
}

}  // namespace

TEST(CacheDirSafety, SymlinkedManifestIsRefusedNotTruncated) {
  TempDir t;
  Victim v;
  fs::create_symlink(v.path, t.path / kManifestName);
  const std::string msg = expect_refused(t.path);
  EXPECT_NE(msg.find("--cache-dir"), std::string::npos) << msg;
  EXPECT_NE(msg.find("symbolic link"), std::string::npos) << msg;
  EXPECT_TRUE(v.intact());
}

TEST(CacheDirSafety, ForeignManifestIsRefusedNotTruncated) {
  TempDir t;
  touch(t.path / kManifestName, "not ours\nkeep me\n");
  EXPECT_NE(expect_refused(t.path).find("not a kv-cache manifest"), std::string::npos);
  EXPECT_EQ(slurp(t.path / kManifestName), "not ours\nkeep me\n");
  // A hard link to a file elsewhere, even with our header, is not ours either.
  fs::remove(t.path / kManifestName);
  Victim v;
  touch(v.path, "# kv-cache manifest v2: forged\n");
  v.content = slurp(v.path);
  fs::create_hard_link(v.path, t.path / kManifestName);
  EXPECT_NE(expect_refused(t.path).find("hard links"), std::string::npos);
  EXPECT_EQ(slurp(v.path), v.content);
  if (::geteuid() == 0) {  // root can hand the file to another user; a user cannot
    fs::remove(t.path / kManifestName);
    touch(t.path / kManifestName, "# kv-cache manifest v2: other user\n");
    ASSERT_EQ(::chown((t.path / kManifestName).c_str(), 65534, 65534), 0);
    EXPECT_NE(expect_refused(t.path).find("another user"), std::string::npos);
  }
}

TEST(CacheDirSafety, ForgedManifestDeletesNothingThatIsNotOurs) {
  TempDir t;
  Victim v;
  touch(t.path / "text.npy", "a user's file, not an .npy of ours");
  fs::create_hard_link(v.path, t.path / "linked.npy");
  fs::create_symlink(v.path, t.path / "sym.npy");
  // A real .npy of ours in shape, but the manifest's inode is not its inode.
  {
    auto dir = CacheDir::open(t.path.string());
    auto b = dir->wrap(io::make_backend({.dir = t.path}).backend);
    io::ObjectSpec spec{"recorded", {4}, 8};
    ASSERT_TRUE(b->write(spec, NullSource{}).ok);
    dir->finish(/*keep=*/true);
  }
  const std::string recorded = slurp(t.path / "recorded.npy");
  struct stat sb {};
  ASSERT_EQ(::stat((t.path / "recorded.npy").c_str(), &sb), 0);
  std::ofstream(t.path / kManifestName)
      << "# kv-cache manifest v2: forged\ntext\nlinked\nsym\n../outside\n@ " << sb.st_ino + 1
      << " - recorded\n";
  auto dir = CacheDir::open(t.path.string());
  EXPECT_EQ(dir->stale_removed(), 0u);
  EXPECT_EQ(slurp(t.path / "text.npy"), "a user's file, not an .npy of ours");
  EXPECT_TRUE(fs::is_symlink(t.path / "sym.npy"));
  EXPECT_EQ(slurp(t.path / "recorded.npy"), recorded);
  EXPECT_EQ(slurp(v.path), v.content);
  EXPECT_EQ(fs::hard_link_count(v.path), 2u);
}

TEST(CacheDirSafety, RewriteAfterAPlantedSymlinkNeverWritesThroughIt) {
  TempDir t;
  Victim v;
  auto dir = CacheDir::open(t.path.string());
  auto b = dir->wrap(io::make_backend({.dir = t.path}).backend);
  io::ObjectSpec spec{"k", {1024}, 2048};
  ASSERT_TRUE(b->write(spec, NullSource{}).ok);
  // Evicted, then a symlink planted before the key is written again.
  fs::remove(t.path / "k.npy");
  fs::create_symlink(v.path, t.path / "k.npy");
  EXPECT_TRUE(b->write(spec, NullSource{}).ok);
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(t.path / "k.npy")));
  EXPECT_TRUE(v.intact());
  fs::remove(t.path / "k.npy");
  fs::create_hard_link(v.path, t.path / "k.npy");
  EXPECT_TRUE(b->write(spec, NullSource{}).ok);
  EXPECT_EQ(slurp(v.path), v.content);
  EXPECT_EQ(dir->finish(false).removed, 1u);
  EXPECT_TRUE(v.intact());
}

TEST(CacheDirSafety, OnlyOurMarkedTrashIsRemoved) {
  TempDir t;
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  const fs::path foreign = t.path / (std::string(kTrashPrefix) + "999999999");
  fs::create_directories(foreign);
  touch(foreign / "data.npy", "someone else's");
  fs::last_write_time(foreign, old);
  // One of ours (marker written as finish() writes it), left by a remover that did not finish.
  const fs::path ours = t.path / (std::string(kTrashPrefix) + "999999998");
  fs::create_directories(ours);
  touch(ours / ".kv-cache-trash-marker", "kv-cache trash directory v1\n");
  touch(ours / "a.npy", "ours");
  fs::last_write_time(ours, old);
  CacheDir::open(t.path.string())->finish(false);
  EXPECT_EQ(slurp(foreign / "data.npy"), "someone else's");
  EXPECT_FALSE(fs::exists(ours));
}
