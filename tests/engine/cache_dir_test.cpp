// Cache-dir ownership: the engine never deletes (or overwrites) a file it did not create; files a
// previous run of ours recorded are removed at start; ours are removed at the end unless kept;
// one run per directory; temporary directories disappear.
#include "engine/cache_dir.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include "core/error.hpp"

using namespace kv;
using namespace kv::engine;
namespace fs = std::filesystem;

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

struct Tmp {
  fs::path path = fs::temp_directory_path() /
                  ("kvcd_" + std::to_string(::getpid()) + "_" +
                   std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  Tmp() { fs::create_directories(path); }
  ~Tmp() { fs::remove_all(path); }
};

void touch(const fs::path& p, const std::string& content = "foreign") {
  std::ofstream(p) << content;
}
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(CacheDir, ForeignFilesSurviveAndOurFilesAreRemoved) {
  Tmp t;
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
  Tmp t;
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
  Tmp t;
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
  Tmp t;
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
  Tmp t;
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
  Tmp t;
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
