// The messages of the MPI rank protocol (docs/distributed.md, "How a run works"): one struct per
// message, each with its own encode (to_json) and decode (from_json). On the wire a message is one
// JSON object whose "type" key names it; a message from a rank to rank 0 also carries its sender
// (rank, host, pid). Decoding is lenient about missing keys (each has a default, as a message of
// an older engine may lack a key) and strict about the rest: a text that is not a JSON object, has
// no known "type" or holds a key of the wrong JSON type decodes to nothing.
//
//   hello    r→0  sender, filesystem id of the cache location, host facts
//   plan     0→r  rank 0's host and pid; abort + reason, or the base seed and this rank's
//                 capacity sharers; the interval of rank 0's heartbeat (beat_s)
//   ready    r→0  set-up done (pre-population, preconditioning)
//   go       0→r  the window starts now (ok), or the run is cancelled (reason)
//   hb       r→0  heartbeat during the window: seconds into the window, completed requests
//            0→r  rank 0's heartbeat, every beat_s from the start-up to the end (its liveness)
//   result   r→0  the rank's results JSON and exit code
//   failed   r→0  the rank failed (or was cancelled): reason and exit code
//   received 0→r  rank 0 has this rank's result (the rank knows rank 0 is alive)
//   stop     0→r  rank 0 was stopped by a signal: stop the window now, send the results
//   done     0→r  rank 0 wrote --output; ranks may finalise
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "engine_cli/choices.hpp"

namespace kv::engine::mpi {

using ojson = nlohmann::ordered_json;

enum class MessageType {
  kHello,
  kPlan,
  kReady,
  kGo,
  kHeartbeat,
  kResult,
  kFailed,
  kReceived,
  kStop,
  kDone
};

inline constexpr engine_cli::Choice<MessageType> kMessageTypes[] = {
    {.text = "hello", .value = MessageType::kHello},
    {.text = "plan", .value = MessageType::kPlan},
    {.text = "ready", .value = MessageType::kReady},
    {.text = "go", .value = MessageType::kGo},
    {.text = "hb", .value = MessageType::kHeartbeat},
    {.text = "result", .value = MessageType::kResult},
    {.text = "failed", .value = MessageType::kFailed},
    {.text = "received", .value = MessageType::kReceived},
    {.text = "stop", .value = MessageType::kStop},
    {.text = "done", .value = MessageType::kDone},
};
constexpr std::span<const engine_cli::Choice<MessageType>> choices_of(MessageType) {
  return kMessageTypes;
}

// Who sent a message to rank 0.
struct Sender {
  int rank = 0;
  std::string host{};
  long pid = 0;
  bool operator==(const Sender&) const = default;
};

struct Hello {
  static constexpr MessageType kType = MessageType::kHello;
  Sender from{};
  std::string fs{};   // filesystem id (st_dev) of the cache location
  ojson host_info{};  // cluster::HostInfo::to_json()
  ojson to_json() const;
  static Hello from_json(const ojson& j);
  bool operator==(const Hello&) const = default;
};

struct Plan {
  static constexpr MessageType kType = MessageType::kPlan;
  Sender from{};  // rank 0 (host and pid: rank 0's liveness, mpi/distributed_run.cpp)
  bool abort = false;
  std::string reason{};  // why the run is aborted (empty otherwise)
  std::int64_t base_seed = 0;
  unsigned sharers = 1;  // ranks sharing the receiver's filesystem on its host
  double beat_s = 0;     // rank 0 sends `hb` to every rank this often (0: it does not)
  ojson to_json() const;
  static Plan from_json(const ojson& j);
  bool operator==(const Plan&) const = default;
};

struct Ready {
  static constexpr MessageType kType = MessageType::kReady;
  Sender from{};
  ojson to_json() const;
  static Ready from_json(const ojson& j);
  bool operator==(const Ready&) const = default;
};

struct Go {
  static constexpr MessageType kType = MessageType::kGo;
  bool ok = false;
  std::string reason{};  // why the run is cancelled (when !ok)
  ojson to_json() const;
  static Go from_json(const ojson& j);
  bool operator==(const Go&) const = default;
};

struct Heartbeat {
  static constexpr MessageType kType = MessageType::kHeartbeat;
  Sender from{};
  double t = 0;  // seconds into the window
  std::uint64_t completed = 0;
  ojson to_json() const;
  static Heartbeat from_json(const ojson& j);
  bool operator==(const Heartbeat&) const = default;
};

struct Result {
  static constexpr MessageType kType = MessageType::kResult;
  Sender from{};
  int exit_code = 0;
  std::optional<ojson> results{};  // the rank's results JSON
  ojson to_json() const;
  static Result from_json(const ojson& j);
  bool operator==(const Result&) const = default;
};

struct Failed {
  static constexpr MessageType kType = MessageType::kFailed;
  Sender from{};
  std::string reason = "failed";
  int exit_code = 6;
  bool cancelled = false;  // rank 0 cancelled the run (not this rank's own failure)
  ojson to_json() const;
  static Failed from_json(const ojson& j);
  bool operator==(const Failed&) const = default;
};

struct Received {
  static constexpr MessageType kType = MessageType::kReceived;
  ojson to_json() const;
  static Received from_json(const ojson& j);
  bool operator==(const Received&) const = default;
};

struct Stop {
  static constexpr MessageType kType = MessageType::kStop;
  std::string reason{};  // e.g. "rank 0 got signal 15"
  ojson to_json() const;
  static Stop from_json(const ojson& j);
  bool operator==(const Stop&) const = default;
};

struct Done {
  static constexpr MessageType kType = MessageType::kDone;
  ojson to_json() const;
  static Done from_json(const ojson& j);
  bool operator==(const Done&) const = default;
};

using Message =
    std::variant<Hello, Plan, Ready, Go, Heartbeat, Result, Failed, Received, Stop, Done>;

MessageType type_of(const Message& m);
// The wire text of a message (its to_json(), compact).
std::string encode(const Message& m);
// The message of a wire text, or nullopt when it is malformed (see the top of this file).
std::optional<Message> decode(std::string_view text);

}  // namespace kv::engine::mpi
