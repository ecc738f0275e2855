// Run history of `mlpstorage` in an embedded SQLite database (one row per invocation).
//
// Contract:
//  * Every invocation except `history …` is recorded by record_start() BEFORE it runs (argv
//  exactly,
//    as a JSON array; start datetime; what it is) and completed by record_finish() after it
//    (status, exit code, result dir, metadata path, key metrics). A row left in status "running"
//    means the process is still running; when its process is gone (same host: no process with
//    the recorded pid and start time), the next read-write open marks it "orphaned".
//  * Runs made elsewhere are imported from a results tree by their `*_metadata.json` files
//    (import_tree); a metadata file or result dir already known is skipped, so importing twice is
//    harmless.
//  * Location: resolve_path(): `--history-db` > $MLPSTORAGE_HISTORY_DB > $XDG_DATA_HOME/mlpstorage/
//    history.db > ~/.local/share/mlpstorage/history.db. Parent directories are created.
//  * Concurrency: WAL journal + 10 s busy timeout; every write is one short IMMEDIATE transaction,
//    so several mlpstorage processes may start and finish at the same moment.
//  * Read-only use (`history list|show`): Db::open_read_only() never writes (no schema, no
//    migration, no journal switch; SQLITE_OPEN_READONLY) and a missing database is simply empty,
//    not created.
//  * Schema version 2 adds the `verification` column (CLOSED/OPEN/INVALID of a kvcache run); a
//    read-write open adds it to an older database, a read-only one reads it as empty.
//  * Errors: kv::Error naming the database path (kFailure, or kPermissionDenied when not writable).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kv::history {

using Json = nlohmann::ordered_json;

struct Entry {
  std::int64_t id = 0;
  std::string datetime;           // start, YYYYMMDD_HHMMSS (local time)
  std::vector<std::string> argv;  // exactly as typed, argv[0] included
  std::string cwd;                // working directory of the invocation
  std::string program;            // "kvcache", "history", …
  std::string benchmark;          // "kv_cache" for kvcache runs, else empty
  std::string command;            // "run", "datasize", …
  std::string model;
  std::optional<std::int64_t> num_users;
  std::optional<std::int64_t> duration;
  std::string status =
      "running";             // running|success|failed|interrupted|error|what_if|imported|orphaned
  std::string verification;  // CLOSED | OPEN | INVALID (kvcache run), else empty
  std::optional<int> exit_code;
  std::string finished_at;  // YYYYMMDD_HHMMSS when finished
  std::string result_dir;
  std::string metadata_path;
  std::optional<double> read_gibps;   // storage-tier read bandwidth, GiB/s
  std::optional<double> write_gibps;  // storage-tier write bandwidth, GiB/s
  Json metrics = Json::object();      // key metrics (kvcache_metrics subset)
  std::string source = "cli";         // "cli" or "import"
  std::optional<std::int64_t> rerun_of;
};

struct Completion {
  std::string status;
  std::string verification;
  int exit_code = 0;
  std::string finished_at;
  std::string result_dir;
  std::string metadata_path;
  std::optional<double> read_gibps;
  std::optional<double> write_gibps;
  Json metrics = Json::object();
};

struct Filter {
  std::string benchmark;  // "kvcache" and "kv_cache" both match kv_cache rows
  std::string model;
  std::string status;
  int limit = 0;  // 0 = all
};

struct ImportResult {
  int imported = 0;
  int skipped = 0;                  // already known
  std::vector<std::string> errors;  // "<file>: <why>" for unreadable metadata
};

// Resolves the database path (see the header comment). `flag_value` is `--history-db` or empty.
std::filesystem::path resolve_path(const std::string& flag_value);

class Db {
 public:
  explicit Db(const std::filesystem::path& path);
  // A read-only view (see the header comment): never creates, migrates or writes anything.
  static Db open_read_only(const std::filesystem::path& path);
  Db(Db&& other) noexcept;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  Db& operator=(Db&&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Inserts a row (its id/status fields are used as given, id ignored) and returns the new id.
  std::int64_t record_start(const Entry& e);
  void record_finish(std::int64_t id, const Completion& c);

  // Newest first (by id).
  std::vector<Entry> list(const Filter& f = {}) const;
  std::optional<Entry> get(std::int64_t id) const;
  // The last `n` rows in chronological order (oldest of them first), as `history show -n` prints.
  std::vector<Entry> last(int n) const;

  // Imports every `*_metadata.json` under `root` (recursively) not yet known.
  ImportResult import_tree(const std::filesystem::path& root);
  // Builds the history row of one metadata document (used by import_tree; public for tests).
  static Entry entry_from_metadata(const Json& md, const std::filesystem::path& metadata_path);

 private:
  struct ReadOnlyTag {};
  Db(const std::filesystem::path& path, ReadOnlyTag);
  void exec(const char* sql);
  void mark_orphans();  // rows left "running" by a process of this host that is gone
  bool known(const std::string& metadata_path, const std::string& result_dir) const;
  std::string columns() const;  // the SELECT list (verification read as NULL when absent)

  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  bool has_runs_ = true;          // false: read-only view of a missing or empty database
  bool has_verification_ = true;  // false: read-only view of a version-1 database
};

// argv[0..] joined for display with POSIX-shell quoting where needed.
std::string display_command(const std::vector<std::string>& argv);

}  // namespace kv::history
