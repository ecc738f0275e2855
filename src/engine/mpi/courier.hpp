// The courier: the one thread of an MPI rank that talks to the other ranks (docs/distributed.md,
// "Rank 0's liveness"). Every call into the rank's dist::Mailbox happens on the courier's own
// thread; the rest of the rank only queues messages for it and takes the ones it received, which
// never blocks. An MPI call that never returns therefore cannot stop the rank: Open MPI's TCP
// transport, when the peer process died, reports the failed reconnection through its runtime and
// waits for that report forever (seen with Open MPI 4.1: the rank's thread sleeps in
// orte_show_help inside MPI_Improbe). The rank then still ends its window, saves its own results
// and exits; stuck_s() says how long the courier has been inside one MPI call.
//
// A beat (rank 0's heartbeat to every rank) is sent by the courier itself, every interval, so it
// shows that rank 0's process and its MPI traffic are alive, whatever its main thread is doing.
//
// Without MPI_THREAD_SERIALIZED (dist::RankContext::serialized()) the courier runs inline: every
// call goes straight to the transport on the caller's thread, as before the courier existed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dist/mailbox.hpp"

namespace kv::engine::mpi {

using Letter = dist::Mailbox::Message;  // {source rank, text}

// What the courier drives: the rank's dist::Mailbox, or a fake in the tests.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void post(int dest, std::string text) = 0;
  virtual std::optional<Letter> poll() = 0;
  virtual std::size_t pending_sends() const = 0;
};

// The courier's transport over a mailbox (which it owns).
std::unique_ptr<Transport> mailbox_transport(std::unique_ptr<dist::Mailbox> mb);

// A message the courier sends by itself, every `interval_s`, to each rank in `to`.
struct Beat {
  std::vector<int> to{};
  std::string text{};
  double interval_s = 1.0;
};

class Courier {
 public:
  enum class Mode { kThread, kInline };

  Courier(std::unique_ptr<Transport> transport, Mode mode, std::optional<Beat> beat = {});
  // stop(1.0): a courier stuck in a transport call is left behind with its transport.
  ~Courier();
  Courier(const Courier&) = delete;
  Courier& operator=(const Courier&) = delete;

  // Queues `text` for rank `dest`; never blocks.
  void post(int dest, std::string text);
  // A received message, if one is waiting; never blocks.
  std::optional<Letter> poll();
  // Returns when a message is waiting, or after `seconds`.
  void wait(double seconds);
  // Waits up to `seconds` until every posted message has been sent; true when none is pending.
  bool flush(double seconds);
  // Messages posted and not yet sent.
  std::size_t pending_sends() const;
  // Seconds the courier's thread has been inside one transport call; 0 when it is not in one
  // (and always 0 inline).
  double stuck_s() const;
  // Ends the courier's thread, waiting up to `seconds`. False when it is stuck in a transport call:
  // it is then left running (with its transport), and the process must end with _Exit, never by
  // finalising MPI. True inline. After stop() only the calls above that need no thread work.
  bool stop(double seconds);

 private:
  struct Impl;
  std::unique_ptr<Impl> m_;
};

}  // namespace kv::engine::mpi
