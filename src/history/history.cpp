#include "history/history.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "core/error.hpp"
#include "core/json_text.hpp"

namespace kv::history {
namespace {

namespace stdfs = std::filesystem;

// How long a write waits for another process's transaction. 10 s was not enough: four processes
// writing 160 rows at once on this project's loaded 2-core CI machine, where each commit's fsync
// can take seconds, ran past it ("database is locked") and lost rows. A run records two rows
// (start, finish), so waiting a minute costs nothing in normal use and loses nothing under load.
constexpr int kBusyTimeoutMs = 60000;

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const stdfs::path& path) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) {
      throw Error(ExitCode::kFailure, "history database " + path.string() +
                                          ": cannot prepare statement: " + sqlite3_errmsg(db));
    }
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  void text(int i, const std::string& s) {
    sqlite3_bind_text(st_, i, s.c_str(), -1, SQLITE_TRANSIENT);
  }
  void text_or_null(int i, const std::string& s) {
    if (s.empty())
      sqlite3_bind_null(st_, i);
    else
      text(i, s);
  }
  void i64(int i, std::optional<std::int64_t> v) {
    if (v)
      sqlite3_bind_int64(st_, i, *v);
    else
      sqlite3_bind_null(st_, i);
  }
  void dbl(int i, std::optional<double> v) {
    if (v)
      sqlite3_bind_double(st_, i, *v);
    else
      sqlite3_bind_null(st_, i);
  }
  int step() { return sqlite3_step(st_); }
  sqlite3_stmt* get() const { return st_; }

  std::string col_text(int c) const {
    const unsigned char* t = sqlite3_column_text(st_, c);
    return t ? reinterpret_cast<const char*>(t) : std::string();
  }
  std::optional<std::int64_t> col_i64(int c) const {
    if (sqlite3_column_type(st_, c) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(st_, c);
  }
  std::optional<double> col_dbl(int c) const {
    if (sqlite3_column_type(st_, c) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(st_, c);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

const char* const kSchema =
    "CREATE TABLE IF NOT EXISTS runs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " datetime TEXT NOT NULL,"
    " argv TEXT NOT NULL,"
    " cwd TEXT, program TEXT, benchmark TEXT, command TEXT, model TEXT,"
    " num_users INTEGER, duration INTEGER,"
    " status TEXT NOT NULL, exit_code INTEGER, finished_at TEXT,"
    " result_dir TEXT, metadata_path TEXT,"
    " read_gibps REAL, write_gibps REAL, metrics TEXT,"
    " source TEXT NOT NULL DEFAULT 'cli', rerun_of INTEGER);"
    "CREATE INDEX IF NOT EXISTS runs_result_dir ON runs(result_dir);"
    "CREATE INDEX IF NOT EXISTS runs_metadata_path ON runs(metadata_path);";

const char* const kColumns =
    "id, datetime, argv, cwd, program, benchmark, command, model, num_users, duration, status, "
    "exit_code, finished_at, result_dir, metadata_path, read_gibps, write_gibps, metrics, source, "
    "rerun_of, ";  // + "verification" or "NULL" (Db::columns())

// "<host>|<boot id>|<pid>|<start time>" of a process: unique on a host across pid reuse and
// reboots. Empty when /proc cannot tell.
std::string process_identity(long pid) {
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(st)), {});
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {  // field 22: start time (clock ticks)
  }
  std::ifstream b("/proc/sys/kernel/random/boot_id");
  std::string boot;
  std::getline(b, boot);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  if (field.empty() || boot.empty()) return {};
  return std::string(host) + "|" + boot + "|" + std::to_string(pid) + "|" + field;
}

// True when the process recorded as `owner` (process_identity) is certainly gone: same host, and
// another boot or no process with that pid and start time.
bool owner_gone(const std::string& owner) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const auto bar = owner.find('|');
  if (bar == std::string::npos || owner.substr(0, bar) != host) return false;  // another host
  const auto p1 = owner.find('|', bar + 1), p2 = owner.find('|', p1 + 1);
  if (p1 == std::string::npos || p2 == std::string::npos) return false;
  const long pid = std::strtol(owner.c_str() + p1 + 1, nullptr, 10);
  return pid > 0 && process_identity(pid) != owner;
}

// True when table `runs` has column `name` (an older database may lack newer columns).
bool has_column(sqlite3* db, const char* name) {
  sqlite3_stmt* st = nullptr;
  bool found = false;
  if (sqlite3_prepare_v2(db, "PRAGMA table_info(runs);", -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* n = sqlite3_column_text(st, 1);
      if (n && std::strcmp(reinterpret_cast<const char*>(n), name) == 0) found = true;
    }
  }
  sqlite3_finalize(st);
  return found;
}

Entry read_row(const Stmt& s) {
  Entry e;
  e.id = s.col_i64(0).value_or(0);
  e.datetime = s.col_text(1);
  try {
    auto a = Json::parse(s.col_text(2));
    if (a.is_array()) {
      for (const auto& x : a) e.argv.push_back(x.is_string() ? x.get<std::string>() : x.dump());
    }
  } catch (const Json::exception&) {
  }
  e.cwd = s.col_text(3);
  e.program = s.col_text(4);
  e.benchmark = s.col_text(5);
  e.command = s.col_text(6);
  e.model = s.col_text(7);
  e.num_users = s.col_i64(8);
  e.duration = s.col_i64(9);
  e.status = s.col_text(10);
  if (auto c = s.col_i64(11)) e.exit_code = static_cast<int>(*c);
  e.finished_at = s.col_text(12);
  e.result_dir = s.col_text(13);
  e.metadata_path = s.col_text(14);
  e.read_gibps = s.col_dbl(15);
  e.write_gibps = s.col_dbl(16);
  try {
    auto m = s.col_text(17);
    if (!m.empty()) e.metrics = Json::parse(m);
  } catch (const Json::exception&) {
  }
  e.source = s.col_text(18);
  e.rerun_of = s.col_i64(19);
  e.verification = s.col_text(20);
  return e;
}

std::string program_for(const std::string& benchmark_type) {
  if (benchmark_type == "kv_cache") return "kvcache";
  if (benchmark_type == "vector_database") return "vectordb";
  return benchmark_type;
}

std::optional<double> num_at(const Json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::optional<std::int64_t> int_at(const Json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return std::nullopt;
  return static_cast<std::int64_t>(it->get<double>());
}

std::string str_at(const Json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return (it != obj.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

}  // namespace

std::filesystem::path resolve_path(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("MLPSTORAGE_HISTORY_DB"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return stdfs::path(xdg) / "mlpstorage" / "history.db";
  }
  const char* home = std::getenv("HOME");
  stdfs::path base = (home && *home) ? stdfs::path(home) : stdfs::temp_directory_path();
  return base / ".local" / "share" / "mlpstorage" / "history.db";
}

Db::Db(const std::filesystem::path& path) : path_(path) {
  std::error_code ec;
  if (path_.has_parent_path()) stdfs::create_directories(path_.parent_path(), ec);
  if (ec) {
    throw Error(ExitCode::kPermissionDenied,
                "history database " + path_.string() + ": cannot create directory " +
                    path_.parent_path().string() + ": " + ec.message(),
                "set MLPSTORAGE_HISTORY_DB or --history-db to a writable location");
  }
  int rc =
      sqlite3_open_v2(path_.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(rc == SQLITE_CANTOPEN ? ExitCode::kPermissionDenied : ExitCode::kFailure,
                "history database " + path_.string() + ": cannot open: " + msg,
                "set MLPSTORAGE_HISTORY_DB or --history-db to a writable location");
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // Switching to WAL needs a brief exclusive lock; another process doing the same at the same
  // moment can make it report BUSY even with the timeout, so retry a few times.
  for (int attempt = 0;; ++attempt) {
    char* err = nullptr;
    rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL;", nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc == SQLITE_OK || attempt >= 50) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  exec("BEGIN IMMEDIATE;");
  try {
    exec(kSchema);
    if (!has_column(db_, "verification")) exec("ALTER TABLE runs ADD COLUMN verification TEXT;");
    // v3: the recording process of a row (process_identity), so a row left "running" by a
    // process that died (SIGKILL, power loss) is marked "orphaned" by the next read-write open.
    if (!has_column(db_, "owner")) exec("ALTER TABLE runs ADD COLUMN owner TEXT;");
    exec("PRAGMA user_version = 3;");
    mark_orphans();
    exec("COMMIT;");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Db::Db(const std::filesystem::path& path, ReadOnlyTag) : path_(path) {
  std::error_code ec;
  if (!stdfs::exists(path_, ec)) {
    has_runs_ = false;  // nothing recorded yet; do not create the file
    return;
  }
  int rc =
      sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(rc == SQLITE_CANTOPEN ? ExitCode::kPermissionDenied : ExitCode::kFailure,
                "history database " + path_.string() + ": cannot open for reading: " + msg);
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  sqlite3_stmt* st = nullptr;
  has_runs_ = false;
  if (sqlite3_prepare_v2(db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='runs';", -1,
                         &st, nullptr) == SQLITE_OK) {
    has_runs_ = sqlite3_step(st) == SQLITE_ROW;
  } else {
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    throw Error(ExitCode::kFailure, "history database " + path_.string() + ": " + msg);
  }
  sqlite3_finalize(st);
  has_verification_ = has_runs_ && has_column(db_, "verification");
}

Db Db::open_read_only(const std::filesystem::path& path) {
  return Db(path, ReadOnlyTag{});
}

Db::Db(Db&& o) noexcept
    : path_(std::move(o.path_)),
      db_(std::exchange(o.db_, nullptr)),
      has_runs_(o.has_runs_),
      has_verification_(o.has_verification_) {}

Db::~Db() {
  if (db_) sqlite3_close(db_);
}

std::string Db::columns() const {
  return std::string(kColumns) + (has_verification_ ? "verification" : "NULL");
}

void Db::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw Error(rc == SQLITE_READONLY ? ExitCode::kPermissionDenied : ExitCode::kFailure,
                "history database " + path_.string() + ": " + msg);
  }
}

std::int64_t Db::record_start(const Entry& e) {
  Json argv = e.argv;
  Stmt s(db_,
         "INSERT INTO runs (datetime, argv, cwd, program, benchmark, command, model, num_users, "
         "duration,"
         " status, exit_code, finished_at, result_dir, metadata_path, read_gibps, write_gibps, "
         "metrics,"
         " source, rerun_of, verification, owner) VALUES "
         "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?);",
         path_);
  s.text(1, e.datetime);
  s.text(2, kv::json_text(argv));
  s.text_or_null(3, e.cwd);
  s.text_or_null(4, e.program);
  s.text_or_null(5, e.benchmark);
  s.text_or_null(6, e.command);
  s.text_or_null(7, e.model);
  s.i64(8, e.num_users);
  s.i64(9, e.duration);
  s.text(10, e.status.empty() ? std::string("running") : e.status);
  s.i64(11, e.exit_code ? std::optional<std::int64_t>(*e.exit_code) : std::nullopt);
  s.text_or_null(12, e.finished_at);
  s.text_or_null(13, e.result_dir);
  s.text_or_null(14, e.metadata_path);
  s.dbl(15, e.read_gibps);
  s.dbl(16, e.write_gibps);
  s.text(17, kv::json_text(e.metrics));
  s.text(18, e.source.empty() ? std::string("cli") : e.source);
  s.i64(19, e.rerun_of);
  s.text_or_null(20, e.verification);
  const std::string owner = process_identity(::getpid());
  s.text_or_null(21, e.status.empty() || e.status == "running" ? owner : std::string());
  int rc = s.step();
  if (rc != SQLITE_DONE) {
    throw Error(
        rc == SQLITE_READONLY ? ExitCode::kPermissionDenied : ExitCode::kFailure,
        "history database " + path_.string() + ": cannot record run: " + sqlite3_errmsg(db_));
  }
  return sqlite3_last_insert_rowid(db_);
}

void Db::mark_orphans() {
  std::vector<std::int64_t> gone;
  {
    Stmt q(db_, "SELECT id, owner FROM runs WHERE status = 'running' AND owner IS NOT NULL;",
           path_);
    while (q.step() == SQLITE_ROW)
      if (owner_gone(q.col_text(1))) gone.push_back(*q.col_i64(0));
  }
  for (const std::int64_t id : gone) {
    Stmt u(db_, "UPDATE runs SET status = 'orphaned' WHERE id = ? AND status = 'running';", path_);
    u.i64(1, id);
    u.step();
  }
}

void Db::record_finish(std::int64_t id, const Completion& c) {
  Stmt s(db_,
         "UPDATE runs SET status = ?, exit_code = ?, finished_at = ?, result_dir = ?, "
         "metadata_path = ?,"
         " read_gibps = ?, write_gibps = ?, metrics = ?,"
         " verification = COALESCE(?, verification) WHERE id = ?;",
         path_);
  s.text(1, c.status);
  s.i64(2, c.exit_code);
  s.text_or_null(3, c.finished_at);
  s.text_or_null(4, c.result_dir);
  s.text_or_null(5, c.metadata_path);
  s.dbl(6, c.read_gibps);
  s.dbl(7, c.write_gibps);
  s.text(8, kv::json_text(c.metrics));
  s.text_or_null(9, c.verification);
  s.i64(10, id);
  int rc = s.step();
  if (rc != SQLITE_DONE) {
    throw Error(ExitCode::kFailure, "history database " + path_.string() +
                                        ": cannot complete run " + std::to_string(id) + ": " +
                                        sqlite3_errmsg(db_));
  }
}

std::vector<Entry> Db::list(const Filter& f) const {
  if (!has_runs_) return {};
  std::string sql = "SELECT " + columns() + " FROM runs WHERE 1=1";
  std::vector<std::string> binds;
  if (!f.benchmark.empty()) {
    if (f.benchmark == "kvcache" || f.benchmark == "kv_cache") {
      sql += " AND benchmark = 'kv_cache'";
    } else {
      sql += " AND (benchmark = ? OR program = ?)";
      binds.push_back(f.benchmark);
      binds.push_back(f.benchmark);
    }
  }
  if (!f.model.empty()) {
    sql += " AND model = ?";
    binds.push_back(f.model);
  }
  if (!f.status.empty()) {
    sql += " AND status = ?";
    binds.push_back(f.status);
  }
  sql += " ORDER BY id DESC";
  if (f.limit > 0) sql += " LIMIT " + std::to_string(f.limit);
  sql += ";";
  Stmt s(db_, sql.c_str(), path_);
  for (std::size_t i = 0; i < binds.size(); ++i) s.text(static_cast<int>(i + 1), binds[i]);
  std::vector<Entry> out;
  while (s.step() == SQLITE_ROW) out.push_back(read_row(s));
  return out;
}

std::optional<Entry> Db::get(std::int64_t id) const {
  if (!has_runs_) return std::nullopt;
  std::string sql = "SELECT " + columns() + " FROM runs WHERE id = ?;";
  Stmt s(db_, sql.c_str(), path_);
  s.i64(1, id);
  if (s.step() == SQLITE_ROW) return read_row(s);
  return std::nullopt;
}

std::vector<Entry> Db::last(int n) const {
  Filter f;
  f.limit = n;
  auto v = list(f);
  return {v.rbegin(), v.rend()};
}

bool Db::known(const std::string& metadata_path, const std::string& result_dir) const {
  Stmt s(db_, "SELECT 1 FROM runs WHERE metadata_path = ? OR (? <> '' AND result_dir = ?) LIMIT 1;",
         path_);
  s.text(1, metadata_path);
  s.text(2, result_dir);
  s.text(3, result_dir);
  return s.step() == SQLITE_ROW;
}

Entry Db::entry_from_metadata(const Json& md, const std::filesystem::path& metadata_path) {
  Entry e;
  e.source = "import";
  e.benchmark = str_at(md, "benchmark_type");
  e.program = str_at(md, "program");
  if (e.program.empty()) e.program = program_for(e.benchmark);
  e.command = str_at(md, "command");
  e.model = str_at(md, "model");
  if (e.model.empty()) e.model = str_at(md, "kvcache_model");
  e.datetime = str_at(md, "run_datetime");
  e.num_users = int_at(md, "num_users");
  e.duration = int_at(md, "duration");
  if (auto it = md.find("argv"); it != md.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (a.is_string()) e.argv.push_back(a.get<std::string>());
    }
  }
  e.cwd = str_at(md, "cwd");
  e.status = str_at(md, "status");
  if (e.status.empty()) e.status = "imported";
  if (auto c = int_at(md, "exit_code")) e.exit_code = static_cast<int>(*c);
  e.finished_at = str_at(md, "finished_at");
  e.result_dir = str_at(md, "result_dir");
  if (e.result_dir.empty()) e.result_dir = metadata_path.parent_path().string();
  e.metadata_path = metadata_path.string();
  e.verification = str_at(md, "verification");
  if (auto it = md.find("kvcache_metrics"); it != md.end() && it->is_object()) {
    e.read_gibps = num_at(*it, "tier_storage_read_bandwidth_gbps");
    e.write_gibps = num_at(*it, "tier_storage_write_bandwidth_gbps");
    e.metrics = *it;
  }
  return e;
}

ImportResult Db::import_tree(const std::filesystem::path& root) {
  ImportResult r;
  std::error_code ec;
  if (!stdfs::is_directory(root, ec)) {
    throw Error(ExitCode::kFileNotFound,
                "history import: '" + root.string() + "' is not a directory");
  }
  std::vector<stdfs::path> files;
  for (auto it = stdfs::recursive_directory_iterator(
           root, stdfs::directory_options::skip_permission_denied, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    const auto& p = it->path();
    const std::string name = p.filename().string();
    if (name.size() > 14 && name.ends_with("_metadata.json") && it->is_regular_file(ec))
      files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    stdfs::path abs = stdfs::weakly_canonical(p, ec);
    if (ec) abs = stdfs::absolute(p);
    Json md;
    try {
      std::ifstream in(abs);
      std::stringstream ss;
      ss << in.rdbuf();
      md = Json::parse(ss.str());
    } catch (const Json::exception& ex) {
      r.errors.push_back(abs.string() + ": " + ex.what());
      continue;
    }
    if (!md.is_object()) {
      r.errors.push_back(abs.string() + ": not a JSON object");
      continue;
    }
    Entry e = entry_from_metadata(md, abs);
    if (known(e.metadata_path, e.result_dir)) {
      ++r.skipped;
      continue;
    }
    record_start(e);
    ++r.imported;
  }
  return r;
}

std::string display_command(const std::vector<std::string>& argv) {
  std::string out;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (i) out += ' ';
    const std::string& a = argv[i];
    bool safe = !a.empty();
    for (char c : a) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_@%+=:,./-", c))) {
        safe = false;
        break;
      }
    }
    if (safe) {
      out += a;
    } else {
      out += '\'';
      for (char c : a) {
        if (c == '\'')
          out += "'\\''";
        else
          out += c;
      }
      out += '\'';
    }
  }
  return out;
}

}  // namespace kv::history
