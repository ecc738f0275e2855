#include "engine/run/storage.hpp"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/json_text.hpp"
#include "engine/cache/cache.hpp"
#include "engine/cache_dir.hpp"
#include "engine/run/progress.hpp"
#include "engine/summary_format.hpp"

namespace kv::engine::run {

namespace {

io::SyncMode to_io(SyncMode s) {
  switch (s) {
    case SyncMode::kFsync: return io::SyncMode::kFsync;
    case SyncMode::kFdatasync: return io::SyncMode::kFdatasync;
    case SyncMode::kNone: return io::SyncMode::kNone;
  }
  return io::SyncMode::kFsync;  // unreachable: every SyncMode is listed above
}

}  // namespace

io::BackendOptions backend_options(const EngineConfig& c, const std::filesystem::path& dir) {
  io::BackendOptions bo;
  bo.dir = dir;
  bo.engine = c.io_engine == IoEngine::kIoUring ? io::Engine::kIoUring : io::Engine::kPosix;
  bo.direct_io = c.direct_io;
  bo.sync = to_io(c.sync_mode);
  bo.chunk_bytes = static_cast<std::uint64_t>(c.io_chunk_mib) * kMiB;
  bo.io_depth = static_cast<unsigned>(c.io_depth);
  bo.max_inflight_bytes = static_cast<std::uint64_t>(c.max_inflight_mib) * kMiB;
  return bo;
}

nlohmann::json probe_json(const io::ProbeResult& p) {
  return nlohmann::json{{"backend", p.backend},
                        {"fallbacks", p.fallbacks},
                        {"write_gibps", p.write_gibps},
                        {"read_gibps", p.read_gibps},
                        {"bytes_written", p.bytes_written},
                        {"bytes_read", p.bytes_read},
                        {"write_seconds", p.write_seconds},
                        {"read_seconds", p.read_seconds},
                        {"files", p.files},
                        {"threads", kProbeThreads},
                        {"file_bytes", kProbeFileBytes},
                        {"ok", p.ok},
                        {"error", p.error}};
}

io::ProbeResult probe_device(const EngineConfig& c, int rank, const io::BackendOptions& bo,
                             const std::string& detail) {
  // Each stream moves whole objects and checks the clock between them, so every stream writes and
  // reads at least one object: on a slow device the probe takes longer than kProbeSeconds.
  const std::string dir = bo.dir.string();
  std::fputs((console::path_lines("Probing the storage device in ", dir, detail + ":",
                                  "Probing the storage device" + detail + " in") +
              console::wrap(fmt::format("about {:.0f} s of writes, then {:.0f} s of reads ({} "
                                        "streams, each writing and reading at least one {} MiB "
                                        "object, so longer on a slow device), then the probe "
                                        "files are removed",
                                        kProbeSeconds / 2, kProbeSeconds / 2, kProbeThreads,
                                        kProbeFileBytes / kMiB),
                            "  ", "  "))
                 .c_str(),
             stdout);
  std::fflush(stdout);
  // Bytes per chunk as the backend moves them (an object is 256 MiB: whole-object counts would
  // stand still for seconds on a slow device). Reads start once the writes are done.
  struct Counter final : io::ChunkObserver {
    std::atomic<std::uint64_t> written{0}, read{0};
    void on_chunk(bool is_write, double, std::uint64_t bytes) override {
      (is_write ? written : read).fetch_add(bytes, std::memory_order_relaxed);
    }
  } live;
  io::BackendOptions probe_bo = bo;
  probe_bo.chunk_observer = &live;
  PhaseProgress progress(ProgressOptions::from(c, rank), "probe", "probing the device", "bytes",
                         [&live] {
                           const std::uint64_t w = live.written.load(), r = live.read.load();
                           return PhaseSample(r > 0 ? r : w, 0, r, w, r > 0 ? "read" : "write");
                         });
  io::ProbeResult p = io::run_probe(probe_bo, kProbeSeconds, kProbeFileBytes, kProbeThreads);
  progress.finish();
  return p;
}

int run_probe_only(const EngineConfig& c) {
  std::unique_ptr<CacheDir> dir = CacheDir::open(c.cache_dir);
  const io::ProbeResult p =
      probe_device(c, 0, backend_options(c, dir->path()),
                   fmt::format(" ({} engine{}, {} MiB chunks, depth {}, sync {})",
                               to_text(c.io_engine), c.direct_io ? " + O_DIRECT" : "",
                               c.io_chunk_mib, c.io_depth, to_text(c.sync_mode)));
  dir->finish(false);
  for (const auto& f : p.fallbacks) std::fprintf(stdout, "  fallback: %s\n", f.c_str());
  if (!p.ok) {
    std::fprintf(stderr, "kv-cache: error: --probe-device: %s\n", p.error.c_str());
    return to_int(ExitCode::kFailure);
  }
  std::fprintf(stdout,
               "Backend: %s\nWrite: %.3f GiB/s (%.2f GiB in %.2f s, with %s)\nRead:  %.3f GiB/s "
               "(%.2f GiB in %.2f s)\n",
               p.backend.c_str(), p.write_gibps, bytes_to_gib(p.bytes_written), p.write_seconds,
               to_text(c.sync_mode).data(), p.read_gibps, bytes_to_gib(p.bytes_read),
               p.read_seconds);
  std::printf("%s\n", kv::json_text(probe_json(p), 4).c_str());
  return 0;
}

std::uint64_t auto_storage_capacity(const std::filesystem::path& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return cache::kUnlimited;
  const double free_b = static_cast<double>(v.f_bavail) * static_cast<double>(v.f_frsize);
  return static_cast<std::uint64_t>(free_b * 0.95);
}

std::uint64_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

}  // namespace kv::engine::run
