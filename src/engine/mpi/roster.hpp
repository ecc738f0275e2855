// What rank 0 knows of every rank of an MPI job, built only from the protocol messages it received
// (mpi/messages.hpp): who said hello on which filesystem, who is ready, the last heartbeat, each
// rank's result or failure. From it come the per-rank outcomes the merge takes
// (engine/results_merge.hpp), the reasons of the ranks that failed or went missing, the capacity
// sharers of each rank and the cluster facts. Pure: no MPI, so it is unit-tested directly.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/mpi/messages.hpp"
#include "engine/results_merge.hpp"

namespace kv::engine::mpi {

class Roster {
 public:
  using Clock = std::chrono::steady_clock;

  struct Peer {
    bool hello = false, ready = false;
    bool final = false;       // a result or a failure arrived: nothing more is expected
    bool failed_msg = false;  // ... and it was a failure
    bool cancelled = false;   // ... because rank 0 cancelled the run
    bool warned_silent = false;
    std::optional<Hello> hello_msg;
    std::optional<Heartbeat> last_hb;
    Clock::time_point last_seen = Clock::now();
    RankOutcome out;  // host, pid, exit code, results or reason
  };

  // `self`: rank 0's own sender (rank 0 said hello to itself).
  Roster(int size, const Sender& self);

  int size() const { return static_cast<int>(peers_.size()); }
  Peer& operator[](int r) { return peers_.at(static_cast<std::size_t>(r)); }
  const Peer& operator[](int r) const { return peers_.at(static_cast<std::size_t>(r)); }

  // Takes in a message that rank `source` sent; a source outside 1..size-1 or a message rank 0
  // never receives is ignored (returns false).
  bool absorb(int source, const Message& m);
  // f holds for every rank but rank 0.
  bool all_peers(const std::function<bool(const Peer&)>& f) const;
  // Ranks that said hello from rank r's host and filesystem (1 when r did not say hello).
  unsigned sharers(int r) const;

  // How the job ended, for the texts of the ranks without a result.
  struct Ending {
    bool stopped = false;      // stopped by a signal (or the launcher's teardown)
    double rank_timeout = 0;   // --rank-timeout
    bool provisional = false;  // an early copy written while results may still come
  };
  // One outcome per rank, in rank order (status, reason and exit code filled in).
  std::vector<RankOutcome> outcomes(const Ending& e) const;
  // The normalised cluster facts of the hosts (one per hostname, the first rank seen on it).
  ojson cluster_info() const;

 private:
  std::string missing_reason(const Peer& p, const Ending& e) const;
  std::vector<Peer> peers_;
};

// "exit code N", with what the rank's results say about it (no request completed, first failure).
std::string exit_reason(int code, const ojson& results);

}  // namespace kv::engine::mpi
