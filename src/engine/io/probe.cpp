#include "engine/io/probe.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "core/clock.hpp"
#include "core/units.hpp"
#include "engine/io/payload.hpp"

namespace kv::io {

ProbeResult run_probe(const BackendOptions& opts, double seconds, std::uint64_t file_bytes,
                      unsigned threads) {
  ProbeResult res;
  threads = std::max(1U, threads);
  file_bytes = std::max<std::uint64_t>(2, file_bytes / 2 * 2);
  auto choice = make_backend(opts);
  StorageBackend& b = *choice.backend;
  res.backend = b.name();
  res.fallbacks = choice.fallbacks;

  const std::string prefix = ".kv_probe_" + std::to_string(::getpid()) + "_";
  PayloadGenerator gen(0x9e3779b97f4a7c15ULL);
  std::mutex mu;
  const auto fail = [&](const IoResult& r) {
    std::lock_guard lk(mu);
    if (res.error.empty()) res.error = r.message;
  };
  const auto spec_of = [&](unsigned i) {
    ObjectSpec s;
    s.key = prefix + std::to_string(i);
    s.shape = {file_bytes / 2};
    s.payload_bytes = file_bytes;
    return s;
  };

  // The probe never fills the device: at most half of the free space (at least one file per
  // stream; refused when even that does not fit).
  std::uint64_t max_files = ~0U;
  if (struct statvfs vs{}; ::statvfs(opts.dir.c_str(), &vs) == 0) {
    const std::uint64_t free_bytes = static_cast<std::uint64_t>(vs.f_bavail) * vs.f_frsize;
    if (free_bytes < 2ULL * threads * file_bytes) {
      res.error = "not enough free space in " + opts.dir.string() + " for the probe (" +
                  std::to_string(free_bytes >> 20) + " MiB free, needs " +
                  std::to_string((2ULL * threads * file_bytes) >> 20) + " MiB)";
      return res;
    }
    max_files = std::max<std::uint64_t>(threads, free_bytes / 2 / file_bytes);
  }

  // Write phase: each stream writes new files until half the time is gone (at least one each).
  const double half = std::max(0.0, seconds / 2);
  std::atomic<unsigned> next{0};
  std::atomic<std::uint64_t> written{0}, read{0};
  std::atomic<bool> failed{false};
  double t0 = mono_s();
  {
    std::vector<std::jthread> ts;
    for (unsigned t = 0; t < threads; ++t) {
      ts.emplace_back([&] {
        do {
          const auto spec = spec_of(next++);
          const auto r = b.write(spec, GeneratedPayload(gen, spec.key));
          if (!r.ok) {
            fail(r);
            failed = true;
            return;
          }
          written += r.bytes;
        } while (!failed && mono_s() - t0 < half && next.load() < max_files);
      });
    }
  }
  res.write_seconds = mono_s() - t0;
  res.files = next.load();
  res.bytes_written = written.load();

  // Read phase: round-robin over the files, at least one pass... of one file per stream.
  if (!failed) {
    std::atomic<unsigned> cursor{0};
    t0 = mono_s();
    std::vector<std::jthread> ts;
    for (unsigned t = 0; t < threads; ++t) {
      ts.emplace_back([&] {
        do {
          const auto r = b.read(spec_of(cursor++ % res.files), nullptr);
          if (!r.ok) {
            fail(r);
            failed = true;
            return;
          }
          read += r.bytes;
        } while (!failed && mono_s() - t0 < half);
      });
    }
    ts.clear();  // joins
    res.read_seconds = mono_s() - t0;
    res.bytes_read = read.load();
  }
  for (unsigned i = 0; i < res.files; ++i) b.remove(spec_of(i).key);

  if (res.write_seconds > 0) res.write_gibps = bytes_to_gib(res.bytes_written) / res.write_seconds;
  if (res.read_seconds > 0) res.read_gibps = bytes_to_gib(res.bytes_read) / res.read_seconds;
  res.ok = !failed;
  return res;
}

}  // namespace kv::io
