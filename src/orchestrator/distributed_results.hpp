// What `mlpstorage kvcache run` takes from the results JSON of a multi-rank engine job
// (docs/distributed.md): the cluster information every rank collected inside the job (it replaces
// the launcher-local collection in `system_info` and kv_cache_cluster_info.json), the rank/host
// layout for the metadata, and whether some ranks failed (partial_failure → exit 6 with the
// reason).
#pragma once

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

}  // namespace kv::orchestrator
