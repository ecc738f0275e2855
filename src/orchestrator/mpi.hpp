// MPI launcher prefix (docs/mlpstorage.md#the-engine-command), as an argv vector:
//   <bin> -n <N> -host <h1:s1,h2:s2,…> --bind-to none --map-by node|socket
//         [--oversubscribe] [--allow-run-as-root] [params…]
// * bin: mpirun → $MPI_RUN_BIN or "mpirun"; mpiexec → $MPI_EXEC_BIN or "mpiexec" (same OpenMPI
// flags).
// * Slots: if every host is "name:slots", the hosts are used verbatim and the slot sum must cover N
//   (unless --oversubscribe); if none has slots, N is spread evenly in list order with the
//   remainder on the first hosts. Mixed forms, "h:0" and N < number of hosts (which would give
//   "h:0") are usage errors instead of the reference's crash/invalid command.
// * Placement: more than one unique host name → "--map-by node", exactly one → "--map-by socket".
#pragma once

#include <string>
#include <vector>

namespace kv::orchestrator {

struct MpiEnv {
  std::string run_bin;   // $MPI_RUN_BIN, empty = unset
  std::string exec_bin;  // $MPI_EXEC_BIN, empty = unset
  static MpiEnv from_process();
};

struct MpiRequest {
  std::string mpi_bin = "mpirun";  // "mpirun" | "mpiexec"
  std::vector<std::string> hosts;  // non-empty; "name" or "name:slots"
  int num_processes = 1;
  bool oversubscribe = false;
  bool allow_run_as_root = false;
  std::vector<std::string> params;  // flat tokens appended last
};

// The launcher executable for `mpi_bin` after environment overrides. Throws kv::Error(2) naming
// --mpi-bin for anything but mpirun/mpiexec.
std::string launcher_binary(const std::string& mpi_bin, const MpiEnv& env);

// "name:slots" for every host (see the header comment). Throws kv::Error(kInvalidArguments)
// naming --num-processes or --hosts.
std::vector<std::string> host_slots(const std::vector<std::string>& hosts, int num_processes,
                                    bool oversubscribe);

// Number of distinct host names (slots stripped).
int unique_host_count(const std::vector<std::string>& hosts);

std::vector<std::string> mpi_prefix(const MpiRequest& req, const MpiEnv& env);

}  // namespace kv::orchestrator
