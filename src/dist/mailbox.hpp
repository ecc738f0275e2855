// Mailbox: non-blocking point-to-point text messages between ranks, for protocols that must survive
// a dead or hung peer (status words, heartbeats, per-rank results; see docs/distributed.md).
//
// * It works on a private duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN, so its traffic never
//   matches a RankContext collective and a communication error is reported, not fatal. Constructing
//   it is collective (MPI_Comm_dup): every rank must construct one at the same point, early.
// * post() never blocks: the text is kept until its send completes. poll() returns a message only
//   once it has arrived completely (MPI_Improbe + MPI_Imrecv), so a peer that dies mid-message can
//   never block the receiver. Nothing here waits longer than the caller's deadline.
// * Single-process contexts (no MPI): a message posted to rank 0 by rank 0 is delivered locally;
//   nothing else exists.
// * Like every MPI call in this code base, only the thread that initialised MPI may use it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dist/context.hpp"

namespace kv::dist {

class Mailbox {
 public:
  struct Message {
    int source = 0;
    std::string text;
  };

  explicit Mailbox(RankContext& ctx);
  ~Mailbox();  // sends still pending are released (their buffers deliberately outlive MPI)
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Queues `text` for rank `dest`. Throws kv::Error for a bad destination or a text > 2 GiB.
  void post(int dest, std::string text);
  // A complete message if one has arrived (also makes progress on pending sends); never blocks.
  std::optional<Message> poll();
  // Like poll(), but waits up to `seconds` (short sleeps between polls).
  std::optional<Message> wait(double seconds);
  // Waits up to `seconds` for every posted send to complete; true when none is pending.
  bool flush(double seconds);
  // Sends still in flight.
  std::size_t pending_sends() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace kv::dist
