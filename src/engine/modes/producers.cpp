#include "engine/modes/producers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/wait_ns.hpp"
#include "engine/workload/rng.hpp"

namespace kv::engine::modes {

namespace {

constexpr std::uint64_t kShareGptTag = 0x5347'5054'0001ULL;
constexpr std::uint64_t kShuffleTag = 0x5347'5054'0002ULL;
constexpr std::uint64_t kBurstTag = 0x4255'5253'0001ULL;
constexpr std::uint64_t kMooncakeTag = 0x4d4f'4f4e'0001ULL;
constexpr std::uint64_t kMaxTraceTokens = 1u << 20;  // clamp of a trace's token counts
constexpr std::int64_t kPollNs = 50'000'000;

std::uint32_t clamp_tokens(std::uint64_t v) {
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(v, 1, kMaxTraceTokens));
}

}  // namespace

bool wait_until_ns(const Clock& clock, workload::StopFlag& stop, std::int64_t t_ns) {
  if (stop.stopped()) return true;
  return clock.sleep_until(t_ns, [&stop](std::chrono::steady_clock::time_point t) {
    return stop.wait_until(t);
  });
}

void ReplayDraws::apply(workload::Request& q, std::uint64_t tag, std::uint64_t index,
                        bool allow_prefix) const {
  workload::Rng rng = workload::Rng::derive(seed, workload::Stream::kMisc, {tag, index});
  const double r = rng.uniform01();
  const double detect = rng.uniform01();
  const auto prompt = static_cast<int>(rng.uniform_int(0, 2));
  const std::int64_t prepop =
      prepopulated_keys > 0 ? rng.uniform_int(0, static_cast<std::int64_t>(prepopulated_keys) - 1)
                            : -1;
  q.qos = workload::draw_qos(r, users);
  q.priority = users.qos[static_cast<std::size_t>(q.qos)].priority;
  q.prefix_prompt = allow_prefix && prefix_caching && detect < prefix_probability ? prompt : -1;
  q.decode_key_index = prepop;
  q.phase = q.context_tokens >= write_only_threshold ? workload::RequestPhase::kPrefill
                                                     : workload::RequestPhase::kPrefillDecode;
}

// ---- synthetic ----------------------------------------------------------------------------------

SyntheticProducer::SyntheticProducer(workload::RequestFactory& factory,
                                     workload::RequestQueue& queue, workload::StopFlag& stop,
                                     std::uint32_t initial_users, FollowUp follow_up)
    : sched_(factory, queue, stop) {
  sched_.set_active_users(initial_users);
  if (follow_up) sched_.set_follow_up(std::move(follow_up));
}

// ---- ShareGPT -----------------------------------------------------------------------------------

ShareGptProducer::ShareGptProducer(const replay::ShareGptDataset& dataset,
                                   ShareGptSettings settings, workload::RequestQueue& queue,
                                   workload::StopFlag& stop,
                                   workload::ConversationManager& conversations, FollowUp follow_up,
                                   const Clock& clock)
    : ds_(dataset),
      s_(std::move(settings)),
      queue_(queue),
      stop_(stop),
      conv_(conversations),
      follow_up_(std::move(follow_up)),
      clock_(clock) {
  s_.sessions = std::max<std::uint32_t>(1, s_.sessions);
  s_.max_turns = std::max<std::uint32_t>(1, s_.max_turns);
  sessions_.resize(s_.sessions);
  in_progress_.assign(ds_.conversations.size(), 0);
  order_.resize(ds_.conversations.size());
  for (std::uint32_t i = 0; i < order_.size(); ++i) order_[i] = i;
  for (const auto& c : ds_.conversations)
    if (c.turns.size() > s_.max_turns) truncated_turns_ += c.turns.size() - s_.max_turns;
  active_.store(std::clamp<std::uint32_t>(s_.initial_sessions, 1, s_.sessions));
  if (ds_.conversations.empty()) {
    no_more_ = true;
  } else {
    reshuffle();
  }
}

ShareGptProducer::~ShareGptProducer() {
  join();
}

void ShareGptProducer::start(std::int64_t t0_ns) {
  thread_ = std::thread([this, t0_ns] { loop(t0_ns); });
}

void ShareGptProducer::join() {
  if (thread_.joinable()) thread_.join();
}

void ShareGptProducer::reshuffle() {
  // Fisher-Yates with the pass's own stream: the order of pass p is a function of (seed, p).
  workload::Rng rng =
      workload::Rng::derive(s_.draws.seed, workload::Stream::kMisc, {kShuffleTag, passes_started_});
  for (std::size_t i = order_.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(i) - 1));
    std::swap(order_[i - 1], order_[j]);
  }
  cursor_ = 0;
  ++passes_started_;
}

std::optional<int> ShareGptProducer::take_conversation() {
  for (;;) {
    if (no_more_) return std::nullopt;
    if (cursor_ == order_.size()) {
      if (s_.replay_cycles > 0 && passes_started_ >= s_.replay_cycles) {
        no_more_ = true;
        return std::nullopt;
      }
      reshuffle();
    }
    for (std::size_t j = cursor_; j < order_.size(); ++j) {
      if (in_progress_[order_[j]]) continue;
      std::swap(order_[cursor_], order_[j]);
      return static_cast<int>(order_[cursor_++]);
    }
    return std::nullopt;  // every remaining conversation of this pass is running elsewhere: wait
  }
}

bool ShareGptProducer::all_done() const {
  if (!no_more_ || busy_ > 0) return false;
  for (const auto& s : sessions_)
    if (s.conv >= 0) return false;
  return true;
}

void ShareGptProducer::request_done(const workload::Request& req) {
  if (req.rag_doc >= 0 || req.user_index >= sessions_.size())
    return;  // follow-ups do not drive sessions
  {
    std::lock_guard lk(mu_);
    if (busy_ > 0) --busy_;
    ready_.push_back(req.user_index);
  }
  cv_.notify_one();
}

void ShareGptProducer::set_active_users(std::uint32_t n) {
  active_.store(std::clamp<std::uint32_t>(n, 1, s_.sessions));
  cv_.notify_one();
}

void ShareGptProducer::loop(std::int64_t t0_ns) {
  const std::int64_t gap_ns = s_.request_rate > 0 ? seconds_to_wait_ns(1.0 / s_.request_rate) : 0;
  std::int64_t next_ns = t0_ns;
  std::uint32_t live = 0;
  std::uint64_t global_index = 0;
  while (!stop_.stopped()) {
    workload::Request q;
    {
      std::unique_lock lk(mu_);
      // Start (or restart) sessions up to the active count.
      const std::uint32_t want = active_.load();
      for (std::uint32_t k = live; k < want; ++k) {
        Session& s = sessions_[k];
        if (!s.started || s.parked) {
          if (!s.started) started_sessions_.fetch_add(1);
          s.started = true;
          s.parked = false;
          ready_.push_back(k);
        }
      }
      live = std::max(live, want);
      if (want < live) live = want;
      if (ready_.empty()) {
        if (all_done()) break;
        cv_.wait_for(lk, std::chrono::nanoseconds(kPollNs));
        continue;
      }
      const std::uint32_t k = ready_.front();
      ready_.pop_front();
      Session& s = sessions_[k];
      if (k >= active_.load()) {  // stopped by the autoscaler: resumes where it was when restarted
        s.parked = true;
        continue;
      }
      if (s.conv >= 0 &&
          s.next_turn >=
              std::min<std::size_t>(
                  ds_.conversations[static_cast<std::size_t>(s.conv)].turns.size(), s_.max_turns)) {
        in_progress_[static_cast<std::size_t>(s.conv)] = 0;
        conv_.end(ds_.conversations[static_cast<std::size_t>(s.conv)].id);
        s.conv = -1;
        ++conversations_completed_;
        for (std::uint32_t w : waiting_) ready_.push_back(w);  // a conversation became free
        waiting_.clear();
      }
      if (s.conv < 0) {
        const auto c = take_conversation();
        if (!c) {
          if (!no_more_) waiting_.push_back(k);
          if (all_done()) break;
          continue;
        }
        s.conv = *c;
        s.next_turn = 0;
        in_progress_[static_cast<std::size_t>(*c)] = 1;
        ++conversations_started_;
        if (s_.multi_turn) conv_.start(ds_.conversations[static_cast<std::size_t>(*c)].id);
      }
      const auto& conv = ds_.conversations[static_cast<std::size_t>(s.conv)];
      const auto& turn = conv.turns[s.next_turn];
      const auto turn_no = static_cast<std::uint32_t>(s.next_turn + 1);  // renumbered: no gaps
      ++s.next_turn;
      ++busy_;
      q.user_index = k;
      q.request_index = s.requests++;
      q.context_tokens = std::max<std::uint32_t>(1, turn.context_tokens);
      q.generate_tokens = std::max<std::uint32_t>(1, turn.generation_tokens);
      q.cache_key = replay::sharegpt_turn_key(conv.id, turn_no);
      if (s_.multi_turn) {
        q.conversation_id = conv.id;
        q.turn = turn_no;
        conv_.add_turn(conv.id, q.context_tokens);
      }
    }
    s_.draws.apply(q, kShareGptTag, global_index++);
    if (gap_ns > 0) {
      if (wait_until_ns(clock_, stop_, next_ns)) break;
      next_ns = add_ns(std::max(next_ns, clock_.now_ns() - gap_ns), gap_ns);
    }
    std::optional<workload::Request> extra;
    if (follow_up_) extra = follow_up_(q);
    q.submit_ns = clock_.now_ns();
    if (!queue_.push(std::move(q))) break;
    enqueued_.fetch_add(1);
    turns_issued_.fetch_add(1);
    if (extra) {
      extra->submit_ns = clock_.now_ns();
      if (!queue_.push(std::move(*extra))) break;
      enqueued_.fetch_add(1);
      follow_ups_.fetch_add(1);
    }
  }
  std::lock_guard lk(mu_);
  if (all_done()) exhausted_.store(true);
}

nlohmann::ordered_json ShareGptProducer::stats() const {
  std::lock_guard lk(mu_);
  nlohmann::ordered_json j = replay::to_json(ds_.stats);
  j["sessions_max"] = s_.sessions;
  j["sessions_started"] = started_sessions_.load();
  j["multi_turn"] = s_.multi_turn;
  j["request_rate"] = s_.request_rate;
  j["replay_cycles"] = s_.replay_cycles;
  j["passes_started"] = passes_started_;
  j["replay_complete"] = exhausted_.load();
  j["conversations_started"] = conversations_started_;
  j["conversations_completed"] = conversations_completed_;
  j["turns_issued"] = turns_issued_.load();
  j["turns_truncated_by_max_turns"] = truncated_turns_;
  j["rag_follow_up_requests"] = follow_ups_.load();
  return j;
}

// ---- BurstGPT -----------------------------------------------------------------------------------

BurstTraceProducer::BurstTraceProducer(std::unique_ptr<replay::BurstTraceReader> reader,
                                       TraceSettings settings, workload::RequestQueue& queue,
                                       workload::StopFlag& stop, FollowUp follow_up,
                                       const Clock& clock)
    : reader_(std::move(reader)),
      s_(std::move(settings)),
      queue_(queue),
      stop_(stop),
      follow_up_(std::move(follow_up)),
      clock_(clock) {}

BurstTraceProducer::~BurstTraceProducer() {
  join();
}

void BurstTraceProducer::start(std::int64_t t0_ns) {
  thread_ = std::thread([this, t0_ns] { loop(t0_ns); });
}

void BurstTraceProducer::join() {
  if (thread_.joinable()) thread_.join();
}

void BurstTraceProducer::loop(std::int64_t t0_ns) {
  try {
    replay::BurstRecord rec;
    std::int64_t due = t0_ns;
    for (;;) {
      if (stop_.stopped()) break;
      if (!reader_->next(rec)) {
        ended_.store(true);
        break;
      }
      due = add_ns(due, seconds_to_wait_ns(rec.delay_s));
      if (wait_until_ns(clock_, stop_, due)) break;
      workload::Request q;
      q.user_index = static_cast<std::uint32_t>(rec.index % 1000);
      q.request_index = rec.index;
      q.context_tokens = clamp_tokens(rec.request_tokens);
      q.generate_tokens = clamp_tokens(rec.response_tokens);
      q.cache_key = fmt::format("trace_user_{}_req_{:04d}", rec.index % 1000, rec.index);
      s_.draws.apply(q, kBurstTag, rec.index);
      std::optional<workload::Request> extra;
      if (follow_up_) extra = follow_up_(q);
      q.submit_ns = clock_.now_ns();
      if (!queue_.push(std::move(q))) break;
      enqueued_.fetch_add(1);
      if (extra) {
        extra->submit_ns = clock_.now_ns();
        if (!queue_.push(std::move(*extra))) break;
        enqueued_.fetch_add(1);
      }
    }
  } catch (const std::exception& e) {
    error_ = e.what();
    log::error("--use-burst-trace: {}", error_);
  }
  exhausted_.store(true);
}

nlohmann::ordered_json BurstTraceProducer::stats() const {
  nlohmann::ordered_json j = replay::to_json(reader_->stats());
  j["format"] = "burstgpt";
  j["replay_complete"] = ended_.load();
  j["error"] = error_.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(error_);
  return j;
}

// ---- Mooncake -----------------------------------------------------------------------------------

MooncakeProducer::MooncakeProducer(std::unique_ptr<replay::MooncakeTraceReader> reader,
                                   TraceSettings settings, workload::RequestQueue& queue,
                                   workload::StopFlag& stop, const Clock& clock)
    : reader_(std::move(reader)),
      s_(std::move(settings)),
      queue_(queue),
      stop_(stop),
      clock_(clock) {}

MooncakeProducer::~MooncakeProducer() {
  join();
}

void MooncakeProducer::start(std::int64_t t0_ns) {
  thread_ = std::thread([this, t0_ns] { loop(t0_ns); });
}

void MooncakeProducer::join() {
  if (thread_.joinable()) thread_.join();
}

void MooncakeProducer::loop(std::int64_t t0_ns) {
  try {
    replay::MooncakeRecord rec;
    std::int64_t due = t0_ns;
    for (;;) {
      if (stop_.stopped()) break;
      if (!reader_->next(rec)) {
        ended_.store(true);
        break;
      }
      due = add_ns(due, seconds_to_wait_ns(rec.delay_s));
      if (wait_until_ns(clock_, stop_, due)) break;
      workload::Request q;
      q.user_index = static_cast<std::uint32_t>(rec.index % 1000);
      q.request_index = rec.index;
      q.context_tokens = clamp_tokens(rec.input_length);
      q.generate_tokens = clamp_tokens(rec.output_length);
      q.cache_key = fmt::format("mooncake_user_{}_req_{}", rec.index % 1000, rec.index);
      s_.draws.apply(q, kMooncakeTag, rec.index, /*allow_prefix=*/false);
      q.mode_data = std::make_shared<const replay::MooncakeRecord>(rec);
      q.submit_ns = clock_.now_ns();
      if (!queue_.push(std::move(q))) break;
      enqueued_.fetch_add(1);
    }
  } catch (const std::exception& e) {
    error_ = e.what();
    log::error("--mooncake-trace: {}", error_);
  }
  exhausted_.store(true);
}

nlohmann::ordered_json MooncakeProducer::stats() const {
  nlohmann::ordered_json j = replay::to_json(reader_->stats());
  j["format"] = "mooncake";
  j["block_count_mismatches"] = reader_->block_count_mismatches();
  j["replay_complete"] = ended_.load();
  j["error"] = error_.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(error_);
  return j;
}

}  // namespace kv::engine::modes
