#include "engine/modes/precondition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/units.hpp"

namespace kv::engine::modes {

PreconditionResult run_precondition(
    const std::function<cache::AllocResult(const std::string&)>& allocate,
    const PreconditionOptions& opts, const std::function<bool()>& cancelled) {
  PreconditionResult res;
  res.target_bytes = opts.target_bytes;
  res.threads = std::max(1u, opts.threads);
  const std::int64_t t0 = kv::mono_ns();
  std::atomic<std::uint64_t> seq{0}, written{0}, entries{0}, failures{0};
  std::atomic<int> consecutive{0};
  std::atomic<bool> stop_failures{false}, stop_cancel{false};
  std::mutex print_mu;
  std::uint64_t next_report = opts.progress_step;

  auto worker = [&] {
    std::string key;
    while (written.load() < opts.target_bytes && !stop_failures.load() && !stop_cancel.load()) {
      if (cancelled && cancelled()) {
        stop_cancel.store(true);
        break;
      }
      key = fmt::format("precond_{}", seq.fetch_add(1));
      const cache::AllocResult r = allocate(key);
      if (!r.ok) {
        failures.fetch_add(1);
        if (consecutive.fetch_add(1) + 1 > opts.max_consecutive_failures) stop_failures.store(true);
        continue;
      }
      consecutive.store(0);
      if (r.existed) continue;
      entries.fetch_add(1);
      const std::uint64_t now_written = written.fetch_add(opts.entry_bytes) + opts.entry_bytes;
      if (opts.progress != nullptr && opts.progress_step > 0) {
        std::lock_guard lk(print_mu);
        if (now_written >= next_report) {
          while (next_report <= now_written) next_report += opts.progress_step;
          std::fprintf(opts.progress, "  Preconditioning: %.1f / %.1f GiB written (%llu entries)\n",
                       bytes_to_gib(now_written), bytes_to_gib(opts.target_bytes),
                       static_cast<unsigned long long>(entries.load()));
          std::fflush(opts.progress);
        }
      }
    }
  };
  std::vector<std::thread> pool;
  try {
    for (unsigned t = 0; t < res.threads; ++t) pool.emplace_back(worker);
  } catch (const std::system_error& e) {  // out of threads: go on with those already started
    if (pool.empty()) {
      throw Error(ExitCode::kGeneralError,
                  fmt::format("--precondition-threads: cannot start a thread: {}", e.what()));
    }
    log::warn("--precondition-threads: only {} of {} threads started ({})", pool.size(),
              res.threads, e.what());
    res.threads = static_cast<unsigned>(pool.size());
  }
  for (auto& t : pool) t.join();

  res.written_bytes = written.load();
  res.entries = entries.load();
  res.failures = failures.load();
  res.stopped_on_failures = stop_failures.load();
  res.interrupted = stop_cancel.load();
  res.seconds = static_cast<double>(kv::mono_ns() - t0) * 1e-9;
  return res;
}

nlohmann::ordered_json to_json(const PreconditionResult& r) {
  return nlohmann::ordered_json{
      {"target_bytes", r.target_bytes}, {"written_bytes", r.written_bytes},
      {"entries", r.entries},           {"failed_writes", r.failures},
      {"threads", r.threads},           {"stopped_on_consecutive_failures", r.stopped_on_failures},
      {"interrupted", r.interrupted},   {"seconds", r.seconds}};
}

}  // namespace kv::engine::modes
