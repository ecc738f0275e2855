// Parsed `mlpstorage` invocation: plain values, filled by Cli (cli.hpp) from argv and the
// --config-file YAML. Defaults here are the reference defaults (docs/mlpstorage.md#options);
// the CLI help shows them from these same fields.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kv::orchestrator {

using Json = nlohmann::ordered_json;

// `<TMPDIR or /tmp>/mlperf_storage_results`.
std::string default_results_dir();

// Flags every leaf sub-command takes (the reference's, plus --history-db and --skip-validation).
struct UniversalOptions {
  std::string results_dir = default_results_dir();
  bool results_dir_given = false;
  int loops = 1;
  std::string config_file;
  bool open = false;
  bool closed = false;
  bool debug = false;
  bool verbose = false;
  std::string stream_log_level = "INFO";
  bool allow_invalid_params = false;
  bool what_if = false;
  bool skip_validation = false;
  std::string history_db;
};

// `kvcache run` / `kvcache datasize`. Fields marked "run" exist only on `run`.
struct KvcacheOptions {
  std::string model = "llama3.1-8b";
  int num_users = 100;
  double gpu_mem_gb = 16.0;
  double cpu_mem_gb = 32.0;
  std::string cache_dir;  // empty: <run dir>/kvcache_data

  // run: workload
  int duration = 60;
  std::string generation_mode = "realistic";
  std::string performance_profile = "latency";
  std::optional<std::int64_t> seed;
  std::string kvcache_bin_path;
  std::optional<int> max_concurrent_allocs;
  // run: optional features
  bool disable_multi_turn = false;
  bool disable_prefix_caching = false;
  bool enable_rag = false;
  int rag_num_docs = 10;
  bool enable_autoscaling = false;
  std::string autoscaler_mode = "qos";
  // run: engine I/O path (our engine's options; forwarded only when given)
  std::string io_engine;  // posix | io_uring
  bool direct_io = false;
  std::optional<int> io_depth;
  std::optional<int> io_chunk_mib;
  std::string gpu_backend;  // auto | simulated | none
  bool keep_cache = false;
  std::vector<std::string> kvcache_params;  // extra engine tokens, appended last
  // run: distributed execution / MPI
  std::string exec_type = "mpi";  // mpi | docker
  std::optional<int> num_processes;
  std::vector<std::string> hosts = {"127.0.0.1"};
  std::string mpi_bin = "mpirun";  // mpirun | mpiexec
  bool oversubscribe = false;
  bool allow_run_as_root = false;
  std::vector<std::string> mpi_params;  // flattened tokens
};

struct HistoryOptions {
  std::optional<std::int64_t> id;  // show -i
  int limit = 0;                   // show -n / list -n
  std::string benchmark;           // list filters
  std::string model;
  std::string status;
  std::int64_t rerun_id = 0;
  std::vector<std::string> import_paths;
};

// The modal submission form `mlpstorage <closed|open|whatif> kvcache run` (docs/mlpstorage.md,
// "Submission flow"); empty `division` = the classic single-run `mlpstorage kvcache run`.
struct SequenceOptions {
  std::string division;                   // "closed" | "open" | "whatif" | "" (classic)
  std::string systemname;                 // --systemname / -sn, else $MLPERF_SYSTEMNAME
  std::optional<int> trials;              // default 3
  std::optional<int> inter_option_delay;  // seconds, default 20
  std::optional<int> settle;              // seconds before and after each trial, default 90
  std::optional<int> npernode;     // ranks per host (--npernode / --num-processes-per-client)
  std::string engine_config;       // --config: engine YAML passed to every trial
  std::string resume;              // --resume <run dir>
  std::vector<std::string> given;  // long names of the options set on the command line or by
                                   // --config-file (what OPEN supersedes, what CLOSED locks)
  bool was_given(const std::string& long_name) const;
};

// `mlpstorage init <orgname> <results-dir>`.
struct InitOptions {
  std::string orgname;
  std::string path;
};

// `reports compare|html` (reports_cmd.hpp).
struct ReportsOptions {
  std::vector<std::string> runs;  // run directories or results JSON files
  std::string output;             // HTML file (-o); empty = the command's default
};

// `mlpstorage reports reportgen`.
struct ReportOptions {
  std::string output_dir;  // empty: the results dir itself
};

struct Invocation {
  std::string program;  // "kvcache" | "history" | "init" | "reports"
  std::string command;  // "run" | "datasize" | "list" | "show" | "rerun" | "import" | "reportgen"
  UniversalOptions uni;
  KvcacheOptions kv;
  HistoryOptions hist;
  SequenceOptions seq;
  InitOptions init;
  ReportOptions report;
  ReportsOptions reports;
  std::vector<std::string> argv;  // exactly as typed, argv[0] included

  bool is_run() const { return program == "kvcache" && command == "run"; }
  bool is_sequence() const { return is_run() && !seq.division.empty(); }
  // The `args` block of the metadata: every option of the selected command with its value.
  Json args_json() const;
};

}  // namespace kv::orchestrator
