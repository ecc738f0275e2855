// kv_io_bench: measures the io module on this machine (not a test; used by bench/ and for
// docs/performance.md).
//   kv_io_bench payload [--mib N] [--mode full|stamped] [--no-reuse]
//                                                         payload generator GiB/s on one core
//                                                         (8 MiB chunks into one reused buffer, as
//                                                         the I/O path fills them)
//   kv_io_bench probe --dir D [--engine posix|io_uring] [--direct] [--depth N] [--chunk-mib N]
//                     [--inflight-mib N] [--sync fsync|fdatasync|none] [--seconds S]
//                     [--file-mib N] [--threads T]
// Prints one line of key=value pairs, plus CPU seconds per GiB moved.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/units.hpp"
#include "engine/io/payload.hpp"
#include "engine/io/probe.hpp"

namespace {

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

const char* arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return def;
}
bool flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: kv_io_bench payload|probe [options]\n");
    return 2;
  }
  const std::string mode = argv[1];
  if (mode == "payload") {
    const std::uint64_t mib = std::strtoull(arg(argc, argv, "--mib", "4096"), nullptr, 10);
    const std::string pm = arg(argc, argv, "--mode", "full");
    const bool no_reuse = flag(argc, argv, "--no-reuse");
    kv::io::PayloadGenerator g(
        42, pm == "stamped" ? kv::io::PayloadMode::kStamped : kv::io::PayloadMode::kFull);
    auto* buf = static_cast<std::byte*>(::operator new (8ULL << 20, std::align_val_t{4096}));
    kv::io::FillMemo memo;
    const double t0 = kv::mono_s();
    const double c0 = cpu_seconds();
    std::uint64_t done = 0;
    for (std::uint64_t i = 0; done < (mib << 20); ++i) {
      if (no_reuse) memo.reset();  // as a fill into a fresh buffer (CPU/GPU tier scratch)
      g.fill_reusing(g.entry_seed("entry"), done, {buf, 8ULL << 20}, memo);
      done += 8ULL << 20;
    }
    const double s = kv::mono_s() - t0;
    const double cpu = cpu_seconds() - c0;
    ::operator delete (buf, std::align_val_t{4096});
    std::printf("mode=%s payload_gibps=%.2f cpu_s_per_gib=%.4f bytes=%llu seconds=%.3f\n",
                pm.c_str(), kv::bytes_to_gib(done) / s, cpu / kv::bytes_to_gib(done),
                static_cast<unsigned long long>(done), s);
    return 0;
  }
  if (mode == "probe") {
    kv::io::BackendOptions o;
    o.dir = arg(argc, argv, "--dir", "/tmp/kv_io_bench");
    o.engine = std::string(arg(argc, argv, "--engine", "posix")) == "io_uring"
                   ? kv::io::Engine::kIoUring
                   : kv::io::Engine::kPosix;
    o.direct_io = flag(argc, argv, "--direct");
    o.io_depth = static_cast<unsigned>(std::atoi(arg(argc, argv, "--depth", "16")));
    o.chunk_bytes = std::strtoull(arg(argc, argv, "--chunk-mib", "8"), nullptr, 10) << 20;
    o.max_inflight_bytes = std::strtoull(arg(argc, argv, "--inflight-mib", "512"), nullptr, 10)
                           << 20;
    const std::string sync = arg(argc, argv, "--sync", "fsync");
    o.sync = sync == "none"        ? kv::io::SyncMode::kNone
             : sync == "fdatasync" ? kv::io::SyncMode::kFdatasync
                                   : kv::io::SyncMode::kFsync;
    const double seconds = std::atof(arg(argc, argv, "--seconds", "6"));
    const std::uint64_t file = std::strtoull(arg(argc, argv, "--file-mib", "256"), nullptr, 10)
                               << 20;
    const unsigned threads = static_cast<unsigned>(std::atoi(arg(argc, argv, "--threads", "1")));
    const double c0 = cpu_seconds();
    const auto r = kv::io::run_probe(o, seconds, file, threads);
    const double cpu = cpu_seconds() - c0;
    const double gib = kv::bytes_to_gib(r.bytes_written + r.bytes_read);
    std::printf(
        "backend=%s write_gibps=%.3f read_gibps=%.3f files=%u cpu_s_per_gib=%.4f ok=%d%s%s\n",
        r.backend.c_str(), r.write_gibps, r.read_gibps, r.files, gib > 0 ? cpu / gib : 0.0,
        r.ok ? 1 : 0, r.ok ? "" : " error=", r.error.c_str());
    for (const auto& f : r.fallbacks) std::printf("fallback: %s\n", f.c_str());
    return r.ok ? 0 : 6;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
