#include "dist/context.hpp"

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/error.hpp"
#include "core/log.hpp"

namespace kv::dist {

namespace {

using Clock = std::chrono::steady_clock;

// Tags of gather_strings_with_timeout: each call uses its own (length, data) pair so a message
// that arrives after an earlier call gave up can never be matched by a later call.
constexpr int kTagBase = 1000;
constexpr std::uint32_t kTagSlots = 8000;  // max tag 17001 < 32767, the smallest MPI_TAG_UB allowed

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Error(ExitCode::kFailure, std::string("MPI ") + what + " failed: " + std::string(msg, len));
}

int checked_int(std::uint64_t n, const char* what) {
  if (n > static_cast<std::uint64_t>(INT_MAX))
    throw Error(ExitCode::kFailure,
                std::string("dist: ") + what + " larger than 2 GiB is not supported");
  return static_cast<int>(n);
}

Clock::time_point deadline_after(double seconds) {
  if (!(seconds > 0)) return Clock::now();
  if (seconds > 1e7) seconds = 1e7;  // keep the duration arithmetic in range
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// Short back-off between MPI_Test polls: spin briefly, then sleep (ranks may share cores).
void backoff(int& iter) {
  if (++iter < 64) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// Polls `req` until it completes (true) or the deadline passes (false; req stays active).
bool poll_until(MPI_Request* req, Clock::time_point deadline) {
  int iter = 0;
  for (;;) {
    int done = 0;
    mpi_check(MPI_Test(req, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return true;
    if (Clock::now() >= deadline) return false;
    backoff(iter);
  }
}

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

}  // namespace

struct RankContext::Mpi {
  MPI_Request pending_barrier = MPI_REQUEST_NULL;
  bool barrier_pending = false;
  std::uint32_t gather_seq = 0;
  // Sends of gather_strings_with_timeout that missed their deadline: the requests were freed,
  // the buffers must outlive them (kept until the context is destroyed).
  struct OrphanSend {
    std::uint64_t len = 0;
    std::string data;
  };
  std::vector<std::unique_ptr<OrphanSend>> orphans;
};

RankContext::RankContext() : m_(std::make_unique<Mpi>()) {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) == 0) hostname_ = buf;
  if (hostname_.empty()) hostname_ = "localhost";
}

RankContext::~RankContext() {
  try {
    finalize();
  } catch (...) {  // never throw from a destructor at exit
  }
}

RankContext& RankContext::instance() {
  static RankContext ctx;
  return ctx;
}

bool RankContext::launcher_detected() {
  if (env_set("KV_DIST_NO_MPI")) return false;  // escape hatch: force a single-process run
  return env_set("OMPI_COMM_WORLD_RANK") || env_set("OMPI_COMM_WORLD_SIZE") ||
         env_set("PMI_RANK") || env_set("PMI_SIZE") || env_set("PMIX_RANK") ||
         (env_set("SLURM_PROCID") && env_set("SLURM_NTASKS"));
}

RankContext& RankContext::init(int* argc, char*** argv) {
  RankContext& ctx = instance();
  static bool done = false;
  if (!done) {
    done = true;
    if (launcher_detected()) ctx.init_mpi(argc, argv);
  }
  return ctx;
}

void RankContext::init_mpi(int* argc, char*** argv) {
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    int provided = 0;
    mpi_check(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    serialized_ = provided >= MPI_THREAD_SERIALIZED;
    if (!serialized_)
      log::warn(
          "MPI provides thread level {} (< MPI_THREAD_SERIALIZED); MPI calls stay on the main "
          "thread",
          provided);
  } else {
    int provided = 0;
    MPI_Query_thread(&provided);
    serialized_ = provided >= MPI_THREAD_SERIALIZED;
  }
  mpi_ = true;
  mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

void RankContext::check_active(const char* what) const {
  if (mpi_ && finalized_)
    throw Error(ExitCode::kFailure, std::string("dist: ") + what + " called after finalize()");
}

void RankContext::barrier() {
  check_active("barrier");
  if (!mpi_) return;
  mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

std::vector<std::string> RankContext::gather_strings(const std::string& s) {
  check_active("gather_strings");
  if (!mpi_) return {s};
  const int len = checked_int(s.size(), "gathered string");
  std::vector<int> lens(rank_ == 0 ? size_ : 0);
  mpi_check(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
  std::vector<int> displs;
  std::string all;
  if (rank_ == 0) {
    displs.resize(size_);
    std::uint64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      displs[r] = static_cast<int>(std::min<std::uint64_t>(total, INT_MAX));
      total += static_cast<std::uint64_t>(lens[r]);
    }
    if (total > static_cast<std::uint64_t>(INT_MAX))
      abort(to_int(ExitCode::kFailure));  // peers are in Gatherv
    all.resize(total);
  }
  mpi_check(MPI_Gatherv(s.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR,
                        0, MPI_COMM_WORLD),
            "MPI_Gatherv");
  std::vector<std::string> out;
  if (rank_ == 0) {
    out.reserve(size_);
    for (int r = 0; r < size_; ++r) out.emplace_back(all, displs[r], lens[r]);
  }
  return out;
}

std::string RankContext::broadcast_string(const std::string& s, int root) {
  check_active("broadcast_string");
  if (root < 0 || root >= size_)
    throw Error(ExitCode::kInvalidArguments, "dist: broadcast root " + std::to_string(root) +
                                                 " out of range [0, " + std::to_string(size_) +
                                                 ")");
  if (!mpi_) return s;
  std::uint64_t len = s.size();
  mpi_check(MPI_Bcast(&len, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
  const int n = checked_int(len, "broadcast string");  // same outcome on every rank
  std::string out = rank_ == root ? s : std::string(len, '\0');
  mpi_check(MPI_Bcast(out.data(), n, MPI_CHAR, root, MPI_COMM_WORLD), "MPI_Bcast");
  return out;
}

double RankContext::allreduce_max(double v) {
  check_active("allreduce_max");
  if (!mpi_) return v;
  double out = v;
  mpi_check(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return out;
}

double RankContext::allreduce_min(double v) {
  check_active("allreduce_min");
  if (!mpi_) return v;
  double out = v;
  mpi_check(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  return out;
}

std::uint64_t RankContext::allreduce_sum(std::uint64_t v) {
  check_active("allreduce_sum");
  if (!mpi_) return v;
  std::uint64_t out = v;
  mpi_check(MPI_Allreduce(&v, &out, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  return out;
}

bool RankContext::barrier_with_timeout(double seconds) {
  check_active("barrier_with_timeout");
  if (!mpi_) return true;
  const auto deadline = deadline_after(seconds);
  Mpi& m = *m_;
  if (m.barrier_pending) {  // an earlier barrier timed out: it has to complete first
    if (!poll_until(&m.pending_barrier, deadline)) return false;
    m.barrier_pending = false;
  }
  mpi_check(MPI_Ibarrier(MPI_COMM_WORLD, &m.pending_barrier), "MPI_Ibarrier");
  m.barrier_pending = true;
  if (!poll_until(&m.pending_barrier, deadline)) return false;
  m.barrier_pending = false;
  return true;
}

std::vector<std::string> RankContext::gather_strings_with_timeout(const std::string& s,
                                                                  double seconds,
                                                                  std::vector<bool>* received) {
  check_active("gather_strings_with_timeout");
  if (!mpi_) {
    if (received) received->assign(1, true);
    return {s};
  }
  const auto deadline = deadline_after(seconds);
  const std::uint32_t seq = m_->gather_seq++;
  const int tag_len = kTagBase + static_cast<int>(2 * (seq % kTagSlots));
  const int tag_data = tag_len + 1;

  if (rank_ != 0) {
    auto msg = std::make_unique<Mpi::OrphanSend>();
    msg->len = s.size();
    checked_int(msg->len, "gathered string");
    msg->data = s;
    MPI_Request reqs[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    mpi_check(MPI_Isend(&msg->len, 1, MPI_UINT64_T, 0, tag_len, MPI_COMM_WORLD, &reqs[0]),
              "MPI_Isend");
    if (msg->len > 0)
      mpi_check(MPI_Isend(msg->data.data(), static_cast<int>(msg->len), MPI_CHAR, 0, tag_data,
                          MPI_COMM_WORLD, &reqs[1]),
                "MPI_Isend");
    bool ok = false;
    for (int iter = 0;;) {
      int done = 0;
      mpi_check(MPI_Testall(2, reqs, &done, MPI_STATUSES_IGNORE), "MPI_Testall");
      if (done) {
        ok = true;
        break;
      }
      if (Clock::now() >= deadline) break;
      backoff(iter);
    }
    if (!ok) {  // rank 0 gave up or is gone: let MPI finish (or not) on its own; keep the buffers
      for (auto& r : reqs)
        if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
      m_->orphans.push_back(std::move(msg));
    }
    if (received) received->assign(1, ok);
    return {};
  }

  // Rank 0: per peer, first the length, then (if non-empty) the payload.
  enum class St { kLen, kData, kDone, kMissing };
  std::vector<std::string> out(size_);
  std::vector<St> st(size_, St::kLen);
  std::vector<std::uint64_t> lens(size_, 0);
  std::vector<MPI_Request> reqs(size_, MPI_REQUEST_NULL);
  out[0] = s;
  st[0] = St::kDone;
  int open = size_ - 1;
  for (int r = 1; r < size_; ++r)
    mpi_check(MPI_Irecv(&lens[r], 1, MPI_UINT64_T, r, tag_len, MPI_COMM_WORLD, &reqs[r]),
              "MPI_Irecv");
  for (int iter = 0; open > 0;) {
    bool progressed = false;
    for (int r = 1; r < size_; ++r) {
      if (st[r] != St::kLen && st[r] != St::kData) continue;
      int done = 0;
      mpi_check(MPI_Test(&reqs[r], &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (!done) continue;
      progressed = true;
      if (st[r] == St::kData || lens[r] == 0) {
        st[r] = St::kDone;
        --open;
      } else if (lens[r] > static_cast<std::uint64_t>(INT_MAX)) {
        st[r] = St::kMissing;  // cannot be received in one message; reported as missing
        --open;
      } else {
        out[r].resize(lens[r]);
        mpi_check(MPI_Irecv(out[r].data(), static_cast<int>(lens[r]), MPI_CHAR, r, tag_data,
                            MPI_COMM_WORLD, &reqs[r]),
                  "MPI_Irecv");
        st[r] = St::kData;
      }
    }
    if (open == 0 || (!progressed && Clock::now() >= deadline)) break;
    if (!progressed) backoff(iter);
  }
  // Deadline passed: cancel what is still posted (a receive cancel completes locally).
  for (int r = 1; r < size_; ++r) {
    if (st[r] != St::kLen && st[r] != St::kData) continue;
    MPI_Cancel(&reqs[r]);
    MPI_Status status;
    mpi_check(MPI_Wait(&reqs[r], &status), "MPI_Wait");
    int cancelled = 0;
    MPI_Test_cancelled(&status, &cancelled);
    if (!cancelled && (st[r] == St::kData || lens[r] == 0)) {
      st[r] = St::kDone;  // it completed after all
    } else {
      st[r] = St::kMissing;
    }
  }
  if (received) received->assign(size_, false);
  for (int r = 0; r < size_; ++r) {
    if (st[r] != St::kDone) out[r].clear();
    if (received) (*received)[r] = st[r] == St::kDone;
  }
  return out;
}

void RankContext::finalize() {
  if (finalized_) return;
  finalized_ = true;
  if (!mpi_) return;
  int already = 0;
  MPI_Finalized(&already);
  if (already) return;
  if (m_->barrier_pending) {
    int done = 0;
    MPI_Test(&m_->pending_barrier, &done, MPI_STATUS_IGNORE);
    if (!done) {
      log::warn("rank {}: a barrier timed out and is still pending; skipping MPI_Finalize", rank_);
      return;
    }
    m_->barrier_pending = false;
  }
  MPI_Finalize();
}

void RankContext::abort(int code) {
  std::fflush(nullptr);
  if (mpi_ && !finalized_) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace kv::dist
