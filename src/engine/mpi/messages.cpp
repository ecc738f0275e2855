#include "engine/mpi/messages.hpp"

#include <initializer_list>
#include <string>
#include <utility>

#include "core/json_text.hpp"

namespace kv::engine::mpi {

namespace {

using Fields = std::initializer_list<std::pair<const char*, ojson>>;

// "type" first, then (for messages to rank 0) the sender, then the message's own keys.
ojson envelope(MessageType t, const Sender* s, Fields fields) {
  ojson j;
  j["type"] = std::string(engine_cli::to_text(t));
  if (s != nullptr) {
    j["rank"] = s->rank;
    j["host"] = s->host;
    j["pid"] = s->pid;
  }
  for (const auto& [key, value] : fields) j[key] = value;
  return j;
}
Sender sender_of(const ojson& j) {
  return Sender{.rank = j.value("rank", 0),
                .host = j.value("host", std::string()),
                .pid = j.value("pid", 0L)};
}

template <class M>
Message decode_as(const ojson& j) {
  return M::from_json(j);
}

}  // namespace

ojson Hello::to_json() const {
  return envelope(kType, &from, {{"fs", fs}, {"host_info", host_info}});
}
Hello Hello::from_json(const ojson& j) {
  return Hello{.from = sender_of(j),
               .fs = j.value("fs", std::string()),
               .host_info = j.contains("host_info") ? j["host_info"] : ojson()};
}

ojson Plan::to_json() const {
  return envelope(kType, &from,
                  {{"abort", abort},
                   {"reason", reason},
                   {"base_seed", base_seed},
                   {"sharers", sharers},
                   {"beat_s", beat_s}});
}
Plan Plan::from_json(const ojson& j) {
  return Plan{.from = sender_of(j),
              .abort = j.value("abort", false),
              .reason = j.value("reason", std::string()),
              .base_seed = j.value("base_seed", std::int64_t{0}),
              .sharers = j.value("sharers", 1u),
              .beat_s = j.value("beat_s", 0.0)};
}

ojson Ready::to_json() const {
  return envelope(kType, &from, {});
}
Ready Ready::from_json(const ojson& j) {
  return Ready{.from = sender_of(j)};
}

ojson Go::to_json() const {
  return envelope(kType, nullptr, {{"ok", ok}, {"reason", reason}});
}
Go Go::from_json(const ojson& j) {
  return Go{.ok = j.value("ok", false), .reason = j.value("reason", std::string())};
}

ojson Heartbeat::to_json() const {
  return envelope(kType, &from, {{"t", t}, {"completed", completed}});
}
Heartbeat Heartbeat::from_json(const ojson& j) {
  return Heartbeat{.from = sender_of(j),
                   .t = j.value("t", 0.0),
                   .completed = j.value("completed", std::uint64_t{0})};
}

ojson Result::to_json() const {
  ojson j = envelope(kType, &from, {{"exit_code", exit_code}});
  if (results) j["results"] = *results;
  return j;
}
Result Result::from_json(const ojson& j) {
  Result r{.from = sender_of(j), .exit_code = j.value("exit_code", 0)};
  if (j.contains("results")) r.results = j["results"];
  return r;
}

ojson Failed::to_json() const {
  return envelope(kType, &from,
                  {{"reason", reason}, {"exit_code", exit_code}, {"cancelled", cancelled}});
}
Failed Failed::from_json(const ojson& j) {
  return Failed{.from = sender_of(j),
                .reason = j.value("reason", std::string("failed")),
                .exit_code = j.value("exit_code", 6),
                .cancelled = j.value("cancelled", false)};
}

ojson Received::to_json() const {
  return envelope(kType, nullptr, {});
}
Received Received::from_json(const ojson& /*j*/) {
  return Received{};
}

ojson Stop::to_json() const {
  return envelope(kType, nullptr, {{"reason", reason}});
}
Stop Stop::from_json(const ojson& j) {
  return Stop{.reason = j.value("reason", std::string())};
}

ojson Done::to_json() const {
  return envelope(kType, nullptr, {});
}
Done Done::from_json(const ojson& /*j*/) {
  return Done{};
}

MessageType type_of(const Message& m) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::kType; }, m);
}

std::string encode(const Message& m) {
  return kv::json_text(std::visit([](const auto& x) { return x.to_json(); }, m));
}

std::optional<Message> decode(std::string_view text) {
  try {
    const ojson j = ojson::parse(text);
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return std::nullopt;
    const auto type = engine_cli::from_text<MessageType>(j["type"].get<std::string>());
    if (!type) return std::nullopt;
    switch (*type) {
      case MessageType::kHello: return decode_as<Hello>(j);
      case MessageType::kPlan: return decode_as<Plan>(j);
      case MessageType::kReady: return decode_as<Ready>(j);
      case MessageType::kGo: return decode_as<Go>(j);
      case MessageType::kHeartbeat: return decode_as<Heartbeat>(j);
      case MessageType::kResult: return decode_as<Result>(j);
      case MessageType::kFailed: return decode_as<Failed>(j);
      case MessageType::kReceived: return decode_as<Received>(j);
      case MessageType::kStop: return decode_as<Stop>(j);
      case MessageType::kDone: return decode_as<Done>(j);
    }
  } catch (const std::exception&) {  // not JSON, or a key of the wrong JSON type
  }
  return std::nullopt;
}

}  // namespace kv::engine::mpi
