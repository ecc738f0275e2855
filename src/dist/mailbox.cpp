#include "dist/mailbox.hpp"

#include <mpi.h>

#include <chrono>
#include <climits>
#include <deque>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"

namespace kv::dist {

namespace {

constexpr int kTag = 20000;  // on the private communicator; any tag would do

bool mpi_alive() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

std::string mpi_error(int rc) {
  char msg[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  return std::string(msg, static_cast<std::size_t>(len));
}

}  // namespace

struct Mailbox::Impl {
  bool mpi = false;
  MPI_Comm comm = MPI_COMM_NULL;
  struct Send {
    MPI_Request req = MPI_REQUEST_NULL;
    std::unique_ptr<std::string> buf;
  };
  struct Recv {
    int source = 0;
    MPI_Request req = MPI_REQUEST_NULL;
    std::unique_ptr<std::string> buf;
  };
  std::deque<Send> sends;
  std::vector<Recv> recvs;
  std::deque<Message> local;  // single-process self-delivery
  bool warned = false;

  void warn_once(const std::string& what) {
    if (warned) return;
    warned = true;
    log::warn("mailbox: {}", what);
  }

  void progress_sends() {
    while (!sends.empty()) {
      // Complete from the front; later ones are tested on the next call.
      int done = 0;
      const int rc = MPI_Test(&sends.front().req, &done, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) {
        warn_once("send failed: " + mpi_error(rc));
        done = 1;
      }
      if (!done) break;
      sends.pop_front();
    }
  }
};

Mailbox::Mailbox(RankContext& ctx)
    : m_(std::make_unique<Impl>()), rank_(ctx.rank()), size_(ctx.size()) {
  m_->mpi = ctx.is_mpi();
  if (!m_->mpi) return;
  int rc = MPI_Comm_dup(MPI_COMM_WORLD, &m_->comm);
  if (rc != MPI_SUCCESS) throw Error(ExitCode::kFailure, "MPI_Comm_dup failed: " + mpi_error(rc));
  MPI_Comm_set_errhandler(m_->comm, MPI_ERRORS_RETURN);
}

Mailbox::~Mailbox() {
  if (!m_->mpi || !mpi_alive()) return;
  // Whatever is still in flight is abandoned: free the requests, leak the buffers (MPI may still
  // touch them until it is finalised or the process exits).
  for (auto& s : m_->sends) {
    if (s.req != MPI_REQUEST_NULL) MPI_Request_free(&s.req);
    (void)s.buf.release();
  }
  for (auto& r : m_->recvs) {
    if (r.req != MPI_REQUEST_NULL) MPI_Request_free(&r.req);
    (void)r.buf.release();
  }
}

void Mailbox::post(int dest, std::string text) {
  if (dest < 0 || dest >= size_)
    throw Error(ExitCode::kInvalidArguments,
                "mailbox: destination rank " + std::to_string(dest) + " out of range");
  if (!m_->mpi) {
    m_->local.push_back(Message{rank_, std::move(text)});
    return;
  }
  if (text.size() > static_cast<std::size_t>(INT_MAX))
    throw Error(ExitCode::kFailure, "mailbox: message larger than 2 GiB");
  Impl::Send s;
  s.buf = std::make_unique<std::string>(std::move(text));
  const int rc = MPI_Isend(s.buf->data(), static_cast<int>(s.buf->size()), MPI_CHAR, dest, kTag,
                           m_->comm, &s.req);
  if (rc != MPI_SUCCESS) {
    m_->warn_once("send to rank " + std::to_string(dest) + " failed: " + mpi_error(rc));
    return;
  }
  m_->sends.push_back(std::move(s));
}

std::optional<Mailbox::Message> Mailbox::poll() {
  if (!m_->mpi) {
    if (m_->local.empty()) return std::nullopt;
    Message msg = std::move(m_->local.front());
    m_->local.pop_front();
    return msg;
  }
  m_->progress_sends();
  // Start receiving every message that has been matched so far.
  for (;;) {
    int flag = 0;
    MPI_Message handle = MPI_MESSAGE_NULL;
    MPI_Status st;
    int rc = MPI_Improbe(MPI_ANY_SOURCE, kTag, m_->comm, &flag, &handle, &st);
    if (rc != MPI_SUCCESS) {
      m_->warn_once("probe failed: " + mpi_error(rc));
      break;
    }
    if (!flag) break;
    int count = 0;
    MPI_Get_count(&st, MPI_CHAR, &count);
    Impl::Recv r;
    r.source = st.MPI_SOURCE;
    r.buf = std::make_unique<std::string>(static_cast<std::size_t>(count), '\0');
    rc = MPI_Imrecv(r.buf->data(), count, MPI_CHAR, &handle, &r.req);
    if (rc != MPI_SUCCESS) {
      m_->warn_once("receive from rank " + std::to_string(r.source) + " failed: " + mpi_error(rc));
      continue;
    }
    m_->recvs.push_back(std::move(r));
  }
  for (auto it = m_->recvs.begin(); it != m_->recvs.end(); ++it) {
    int done = 0;
    const int rc = MPI_Test(&it->req, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
      m_->warn_once("receive from rank " + std::to_string(it->source) +
                    " failed: " + mpi_error(rc));
      (void)it->buf.release();  // the request may still reference it
      m_->recvs.erase(it);
      return std::nullopt;
    }
    if (!done) continue;
    Message msg{it->source, std::move(*it->buf)};
    m_->recvs.erase(it);
    return msg;
  }
  return std::nullopt;
}

std::optional<Mailbox::Message> Mailbox::wait(double seconds) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds > 0 ? seconds : 0);
  for (int iter = 0;; ++iter) {
    if (auto msg = poll()) return msg;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    if (iter < 32)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

bool Mailbox::flush(double seconds) {
  if (!m_->mpi) return true;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds > 0 ? seconds : 0);
  for (int iter = 0;; ++iter) {
    m_->progress_sends();
    if (m_->sends.empty()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (iter < 32)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

std::size_t Mailbox::pending_sends() const {
  return m_->sends.size();
}

}  // namespace kv::dist
