// History database: path resolution, record start/finish, filters and order, imports from a
// results tree, and several processes finishing at the same moment.
#include "history/history.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.hpp"
#include "support/files.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace kv::history;
using kv::testsupport::ScopedEnv;
using kv::testsupport::slurp;
using kv::testsupport::TempDir;

namespace {

Entry entry(const std::string& model, const std::string& dt = "20260101_000000") {
  Entry e;
  e.datetime = dt;
  e.argv = {"mlpstorage",          "kvcache", "run", "--model", model, "--cache-dir",
            "/a dir/with 'quotes'"};
  e.program = "kvcache";
  e.benchmark = "kv_cache";
  e.command = "run";
  e.model = model;
  e.num_users = 10;
  e.duration = 60;
  return e;
}

void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << s;
}

Filter by(const char* field, const std::string& v) {
  Filter f;
  if (std::string(field) == "benchmark") f.benchmark = v;
  if (std::string(field) == "model") f.model = v;
  if (std::string(field) == "status") f.status = v;
  return f;
}

}  // namespace

TEST(HistoryPath, FlagThenEnvThenXdgThenHome) {
  ScopedEnv a("MLPSTORAGE_HISTORY_DB", "/env/h.db");
  ScopedEnv b("XDG_DATA_HOME", "/xdg");
  ScopedEnv c("HOME", "/home/u");
  EXPECT_EQ(resolve_path("/flag/h.db"), "/flag/h.db");
  EXPECT_EQ(resolve_path(""), "/env/h.db");
  ScopedEnv a2("MLPSTORAGE_HISTORY_DB", nullptr);
  EXPECT_EQ(resolve_path(""), "/xdg/mlpstorage/history.db");
  ScopedEnv b2("XDG_DATA_HOME", nullptr);
  EXPECT_EQ(resolve_path(""), "/home/u/.local/share/mlpstorage/history.db");
}

TEST(History, StartFinishGetKeepsArgvExactly) {
  TempDir t;
  Db db(t.path / "sub" / "h.db");  // parent created
  Entry e = entry("tiny-1b");
  e.rerun_of = 7;
  const auto id = db.record_start(e);
  auto got = db.get(id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, "running");
  EXPECT_EQ(got->argv, e.argv);
  EXPECT_EQ(got->rerun_of, 7);
  EXPECT_FALSE(got->exit_code.has_value());
  Completion c;
  c.status = "success";
  c.exit_code = 0;
  c.finished_at = "20260101_000100";
  c.result_dir = "/r/x";
  c.metadata_path = "/r/x/kv_cache_x_metadata.json";
  c.read_gibps = 1.5;
  c.metrics = Json{{"total_requests", 5}};
  db.record_finish(id, c);
  got = db.get(id);
  EXPECT_EQ(got->status, "success");
  EXPECT_EQ(got->exit_code, 0);
  EXPECT_EQ(got->result_dir, "/r/x");
  EXPECT_DOUBLE_EQ(*got->read_gibps, 1.5);
  EXPECT_FALSE(got->write_gibps.has_value());
  EXPECT_EQ(got->metrics["total_requests"], 5);
  EXPECT_FALSE(db.get(id + 100).has_value());
}

TEST(History, ListIsNewestFirstAndFilters) {
  TempDir t;
  Db db(t.path / "h.db");
  db.record_start(entry("tiny-1b"));
  db.record_start(entry("llama3.1-8b"));
  Entry other = entry("tiny-1b");
  other.benchmark = "training";
  other.program = "training";
  other.status = "failed";
  db.record_start(other);
  auto all = db.list();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_GT(all[0].id, all[1].id);
  EXPECT_EQ(db.list(by("benchmark", "kvcache")).size(), 2u);
  EXPECT_EQ(db.list(by("benchmark", "kv_cache")).size(), 2u);
  EXPECT_EQ(db.list(by("benchmark", "training")).size(), 1u);
  EXPECT_EQ(db.list(by("model", "tiny-1b")).size(), 2u);
  EXPECT_EQ(db.list(by("status", "failed")).size(), 1u);
  EXPECT_EQ(db.list([] {
                Filter f;
                f.limit = 1;
                return f;
              }())
                .size(),
            1u);
  auto last2 = db.last(2);
  ASSERT_EQ(last2.size(), 2u);
  EXPECT_LT(last2[0].id, last2[1].id);  // chronological
}

TEST(History, ReopenKeepsRows) {
  TempDir t;
  {
    Db db(t.path / "h.db");
    db.record_start(entry("tiny-1b"));
  }
  Db again(t.path / "h.db");
  EXPECT_EQ(again.list().size(), 1u);
}

TEST(History, UnwritableLocationIsAnError) {
  TempDir t;
  write(t.path / "file", "x");
  EXPECT_THROW(Db(t.path / "file" / "h.db"), kv::Error);
}

TEST(History, ProcessesFinishingAtOnceLoseNothing) {
  TempDir t;
  const fs::path path = t.path / "h.db";
  { Db init(path); }
  constexpr int kProcs = 4, kRuns = 40;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    if (pid == 0) {
      int rc = 0;
      try {
        for (int i = 0; i < kRuns; ++i) {
          Db db(path);  // a fresh connection each time, like separate mlpstorage runs
          auto id = db.record_start(entry("m" + std::to_string(p)));
          Completion c;
          c.status = "success";
          c.exit_code = 0;
          c.result_dir = "/r/" + std::to_string(p) + "/" + std::to_string(i);
          db.record_finish(id, c);
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", p, e.what());  // the failure's cause in the log
        rc = 1;
      }
      ::_exit(rc);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int st = 0;
    ::waitpid(k, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  Db db(path);
  auto rows = db.list();
  EXPECT_EQ(rows.size(), static_cast<std::size_t>(kProcs * kRuns));
  for (const auto& r : rows) EXPECT_EQ(r.status, "success");
}

TEST(History, ImportTreeOnceSkippingKnownAndBadFiles) {
  TempDir t;
  Db db(t.path / "h.db");
  const fs::path tree = t.path / "results";
  write(
      tree / "kv_cache/tiny-1b/run/20260101_000000/kv_cache_20260101_000000_metadata.json",
      R"({"benchmark_type": "kv_cache", "model": "tiny-1b", "command": "run", "run_datetime": "20260101_000000",
            "num_users": 2, "duration": 3, "status": "success", "exit_code": 0,
            "argv": ["mlpstorage", "kvcache", "run"],
            "kvcache_metrics": {"tier_storage_read_bandwidth_gbps": 2.0, "tier_storage_write_bandwidth_gbps": 1.0}})");
  write(tree / "kv_cache/tiny-1b/run/20260102_000000/kv_cache_20260102_000000_metadata.json",
        "{ not json");
  write(tree / "kv_cache/tiny-1b/run/20260103_000000/kv_cache_20260103_000000_metadata.json",
        R"({"model": "x"})");
  write(tree / "kv_cache/tiny-1b/run/20260103_000000/other.json", "{}");
  // A run recorded by this machine with that result dir is not imported again.
  Entry known = entry("x");
  known.result_dir = (tree / "kv_cache/tiny-1b/run/20260103_000000").string();
  db.record_start(known);

  auto r = db.import_tree(tree);
  EXPECT_EQ(r.imported, 1);
  EXPECT_EQ(r.skipped, 1);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("20260102_000000"), std::string::npos);
  auto rows = db.list(by("model", "tiny-1b"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].source, "import");
  EXPECT_EQ(rows[0].status, "success");
  EXPECT_EQ(rows[0].datetime, "20260101_000000");
  EXPECT_EQ(rows[0].num_users, 2);
  EXPECT_DOUBLE_EQ(*rows[0].read_gibps, 2.0);
  EXPECT_DOUBLE_EQ(*rows[0].write_gibps, 1.0);
  EXPECT_EQ(rows[0].argv, (std::vector<std::string>{"mlpstorage", "kvcache", "run"}));
  EXPECT_EQ(rows[0].result_dir, (tree / "kv_cache/tiny-1b/run/20260101_000000").string());

  auto again = db.import_tree(tree);
  EXPECT_EQ(again.imported, 0);
  EXPECT_EQ(again.skipped, 2);
  EXPECT_THROW(db.import_tree(t.path / "nope"), kv::Error);
}

TEST(History, MetadataWithoutStatusIsImported) {
  Entry e =
      Db::entry_from_metadata(Json{{"benchmark_type", "kv_cache"}, {"kvcache_model", "mistral-7b"}},
                              "/r/a/b_metadata.json");
  EXPECT_EQ(e.status, "imported");
  EXPECT_EQ(e.model, "mistral-7b");
  EXPECT_EQ(e.program, "kvcache");
  EXPECT_EQ(e.result_dir, "/r/a");
}

TEST(History, DisplayCommandQuotesOnlyWhenNeeded) {
  EXPECT_EQ(
      display_command({"mlpstorage", "kvcache", "run", "--hosts", "a:2,b:2", "-rd", "/tmp/x"}),
      "mlpstorage kvcache run --hosts a:2,b:2 -rd /tmp/x");
  EXPECT_EQ(display_command({"a b", "it's", ""}), "'a b' 'it'\\''s' ''");
}

TEST(HistoryReadOnly, MissingDatabaseIsEmptyAndNotCreated) {
  TempDir t;
  const fs::path p = t.path / "sub" / "h.db";
  Db db = Db::open_read_only(p);
  EXPECT_TRUE(db.list().empty());
  EXPECT_FALSE(db.get(1).has_value());
  EXPECT_TRUE(db.last(3).empty());
  EXPECT_FALSE(fs::exists(p));
  EXPECT_FALSE(fs::exists(t.path / "sub"));
}

TEST(HistoryReadOnly, ReadingLeavesTheDatabaseFileUnchanged) {
  TempDir t;
  const fs::path p = t.path / "h.db";
  {
    Db db(p);
    Entry e;
    e.datetime = "20260101_000000";
    e.argv = {"mlpstorage", "kvcache", "run"};
    e.verification = "CLOSED";
    db.record_start(e);
  }
  const std::string before = slurp(p);
  const auto mtime = fs::last_write_time(p);
  {
    Db db = Db::open_read_only(p);
    auto rows = db.list();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].verification, "CLOSED");
    EXPECT_TRUE(db.get(rows[0].id).has_value());
  }
  EXPECT_EQ(slurp(p), before);
  EXPECT_EQ(fs::last_write_time(p), mtime);
  // A read-write open of the same database is what changed it before (schema + user_version).
  { Db db(p); }
  EXPECT_EQ(Db::open_read_only(p).list().size(), 1u);
}

TEST(HistoryReadOnly, VersionOneDatabaseIsReadAndMigratedOnWrite) {
  TempDir t;
  const fs::path p = t.path / "v1.db";
  {
    // The version-1 schema: no verification column.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(p.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, datetime TEXT "
                           "NOT NULL, argv TEXT NOT NULL, cwd TEXT, program TEXT, benchmark TEXT, "
                           "command TEXT, model TEXT, num_users INTEGER, duration INTEGER, status "
                           "TEXT NOT NULL, exit_code INTEGER, finished_at TEXT, result_dir TEXT, "
                           "metadata_path TEXT, read_gibps REAL, write_gibps REAL, metrics TEXT, "
                           "source TEXT NOT NULL DEFAULT 'cli', rerun_of INTEGER);"
                           "INSERT INTO runs (datetime, argv, status) VALUES ('20250101_000000', "
                           "'[\"mlpstorage\"]', 'success'); PRAGMA user_version = 1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  {
    auto rows = Db::open_read_only(p).list();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].verification, "");
    EXPECT_EQ(rows[0].status, "success");
  }
  Db db(p);  // migrates
  Completion c;
  c.status = "success";
  c.verification = "INVALID";
  db.record_finish(1, c);
  EXPECT_EQ(db.get(1)->verification, "INVALID");
}

TEST(HistoryReadOnly, ImportKeepsTheVerification) {
  Json md = Json::parse(R"({"benchmark_type":"kv_cache","verification":"OPEN"})");
  EXPECT_EQ(Db::entry_from_metadata(md, "/x/a_metadata.json").verification, "OPEN");
}

// Issue 15 item 8: a row left "running" by a process that was killed (here: a child that records a
// run and is SIGKILLed) is marked "orphaned" by the next read-write open; a live process's row is
// left alone.
TEST(History, RowOfAKilledProcessIsMarkedOrphaned) {
  TempDir t;
  const auto path = t.path / "h.db";
  std::int64_t mine = 0;
  {
    Db db(path);
    mine = db.record_start(entry("tiny-1b"));  // this (live) process
  }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    Db db(path);
    const std::int64_t id = db.record_start(entry("tiny-1b"));
    [[maybe_unused]] auto n = ::write(fds[1], &id, sizeof id);
    ::pause();
    std::_Exit(0);
  }
  std::int64_t theirs = 0;
  ASSERT_EQ(::read(fds[0], &theirs, sizeof theirs), static_cast<ssize_t>(sizeof theirs));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  {
    Db db(path);  // the next mlpstorage
    EXPECT_EQ(db.get(theirs)->status, "orphaned");
    EXPECT_EQ(db.get(mine)->status, "running");
  }
  ::close(fds[0]);
  ::close(fds[1]);
}
