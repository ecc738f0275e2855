// Rank context: the one place that talks MPI (C API only).
//
// * init() detects a launcher by environment (OpenMPI OMPI_COMM_WORLD_RANK/SIZE, PMI PMI_RANK/SIZE,
//   PMIx PMIX_RANK, Slurm SLURM_PROCID/SLURM_NTASKS) and only then calls MPI_Init_thread
//   (MPI_THREAD_SERIALIZED: any one thread at a time may call MPI; serialized() says whether MPI
//   granted it, else every MPI call must come from the thread that called init()). The engine's
//   MPI ranks move their point-to-point traffic to one thread of its own (engine/mpi/courier.hpp)
//   and call the collectives and finalize() only while that thread is not running. Without a
//   launcher it is a single-process context (rank 0, size 1) that makes no MPI call at all; every
//   collective then returns its own input.
// * Collectives are blocking and must be called by all ranks in the same order. The *_with_timeout
//   variants never block past their deadline (nonblocking MPI + polling), so a dead or hung rank
//   is reported instead of hanging the job. After a barrier timeout the barrier stays pending; the
//   next barrier_with_timeout() first completes it, and finalize() skips MPI_Finalize while it is
//   still pending (the caller should abort() instead).
// * finalize() is idempotent and also runs from the destructor; abort() ends the whole job.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kv::dist {

class RankContext {
 public:
  // Initialises once (later calls return the same context). argc/argv may be null.
  static RankContext& init(int* argc, char*** argv);
  // The context made by init(), or a single-process context when init() was never called.
  static RankContext& instance();
  // True when the environment shows an MPI launcher (the test init() uses).
  static bool launcher_detected();

  RankContext(const RankContext&) = delete;
  RankContext& operator=(const RankContext&) = delete;
  ~RankContext();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_mpi() const { return mpi_; }
  // MPI granted MPI_THREAD_SERIALIZED (false without MPI).
  bool serialized() const { return serialized_; }
  const std::string& hostname() const { return hostname_; }

  void barrier();
  // Every rank's string at rank 0 (index = rank); other ranks get an empty vector.
  std::vector<std::string> gather_strings(const std::string& s);
  // root's string on every rank.
  std::string broadcast_string(const std::string& s, int root = 0);
  double allreduce_max(double v);
  double allreduce_min(double v);
  std::uint64_t allreduce_sum(std::uint64_t v);

  // False when not every rank entered the barrier within `seconds`.
  bool barrier_with_timeout(double seconds);
  // Like gather_strings, but rank 0 waits at most `seconds`; a rank whose string did not arrive
  // has an empty string and (*received)[rank] == false. On rank 0 `received` gets size() entries;
  // on the other ranks it gets one entry: whether this rank's send completed in time.
  std::vector<std::string> gather_strings_with_timeout(const std::string& s, double seconds,
                                                       std::vector<bool>* received = nullptr);

  void finalize();
  [[noreturn]] void abort(int code);

 private:
  RankContext();
  void init_mpi(int* argc, char*** argv);
  void check_active(const char* what) const;

  struct Mpi;  // MPI handles, kept out of this header
  std::unique_ptr<Mpi> m_;
  int rank_ = 0;
  int size_ = 1;
  bool mpi_ = false;
  bool serialized_ = false;
  bool finalized_ = false;
  std::string hostname_;
};

}  // namespace kv::dist
