// What `mlpstorage kvcache run` takes from the results JSON of a multi-rank engine job
// (docs/distributed.md): the cluster information every rank collected inside the job (it replaces
// the launcher-local collection in `system_info` and kv_cache_cluster_info.json), the rank/host
// layout for the metadata, and whether some ranks failed (partial_failure → exit 6 with the
// reason).
//
// When the job wrote no merged results (rank 0 died), the ranks that outlived it kept their own
// results (docs/distributed.md, "Rank 0's liveness"): kept_rank_results() finds them, for the
// metadata (`rank_results`) and for telling the user where they are.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/options.hpp"

namespace kv::orchestrator {

struct DistributedResults {
  int rank_count = 1;
  int host_count = 1;
  bool partial_failure = false;
  std::vector<std::string> failures;  // "rank 1 (host): reason"
  std::optional<Json> cluster_info;   // cluster::normalise(), collection_method "mpi"
  // {rank_count, host_count, hosts: [{hostname, ranks: [r…]}], ranks: [{rank, host, status}…]}
  Json layout = Json::object();
  Json mlperf_aggregates;  // null when absent
};

// nullopt for the results of a single-process run (no `rank_count` key, or one rank).
std::optional<DistributedResults> distributed_results(const Json& results);

// The engine's cluster information lists the hosts it saw; `_metadata.requested_hosts` of what
// mlpstorage records is the --hosts list it asked for (hosts_collected keeps what answered).
void set_requested_hosts(Json& cluster_info, const std::vector<std::string>& hosts);

// "partial failure: rank 1 (h): …; rank 2 (h): …"
std::string partial_failure_message(const DistributedResults& d);

// One rank's own results, kept because rank 0 was gone.
struct KeptRankFile {
  int rank = -1;
  std::string host{};         // empty when only the file was found (no line from the rank)
  std::string path{};         // as the rank wrote it (a path on its own host); empty: nothing saved
  std::string reason{};       // what the rank said of rank 0 (empty: only the file was found)
  bool on_this_host = false;  // the file exists here (this host, or a shared filesystem)
};
struct KeptRankResults {
  std::vector<KeptRankFile> files;  // in rank order
  bool empty() const { return files.empty(); }
};

// After a job that wrote no merged results file: the ranks' lines
//   "kv-cache: rank R (HOST): rank 0 (HOST0, pid P) REASON; this rank's results are in PATH"
// in the engine's stderr (`engine_stderr`, any prefix before "kv-cache:" allowed), and the files
// <results stem>_rank<r>.json (r = 1 … ranks-1) beside `results`.
KeptRankResults kept_rank_results(const std::filesystem::path& results,
                                  const std::string& engine_stderr, int ranks);
// The metadata's `rank_results`: {reason, ranks: [r…], files: [{rank, host, path, on_this_host,
// reason}]}; `reason` says why there are no merged results.
Json kept_rank_results_json(const KeptRankResults& k);
// "no merged results (rank 0 is gone); the ranks kept their own: rank 1 (h1): PATH; rank 2 (h2):
// PATH (on that host)"
std::string kept_rank_results_message(const KeptRankResults& k);
// The same, one line per rank ("rank 1 (h1): PATH"), for the console.
std::vector<std::string> kept_rank_results_lines(const KeptRankResults& k);
// Reads the engine's stderr log (at most its last `cap` bytes); "" when it cannot be read.
std::string read_engine_stderr(const std::filesystem::path& log, std::size_t cap = 8u << 20);

}  // namespace kv::orchestrator
