// Helpers for the orchestrator tests: parse argv through the real CLI tree, a fake kv-cache engine
// script (records its argv next to --output, writes a results JSON there).
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "orchestrator/cli.hpp"
#include "orchestrator/preflight.hpp"
#include "support/files.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"

namespace orchtest {

struct Parsed {
  std::unique_ptr<kv::orchestrator::Cli> cli = std::make_unique<kv::orchestrator::Cli>();
  kv::orchestrator::ParseResult r;
  const kv::orchestrator::Invocation& inv() const { return cli->invocation(); }
};

inline Parsed parse(const std::vector<std::string>& args) {
  Parsed p;
  std::vector<std::string> v{"mlpstorage"};
  v.insert(v.end(), args.begin(), args.end());
  p.r = p.cli->parse(v);
  return p;
}

using kv::testsupport::lines_of;
using kv::testsupport::ScopedEnv;
using kv::testsupport::slurp;
using kv::testsupport::TempDir;
using kv::testsupport::write_file;

// A launching host with room for any test run (1 TiB of memory and of free space), so the resource
// pre-flight does not depend on the machine the tests run on.
inline kv::orchestrator::HostProbe roomy_host() {
  kv::orchestrator::HostProbe p = kv::orchestrator::HostProbe::from_process();
  p.mem_available = [] { return std::optional<double>(1024.0 * 1024 * 1024 * 1024); };
  p.free_bytes = [](const std::filesystem::path&) {
    return std::optional<double>(1024.0 * 1024 * 1024 * 1024);
  };
  return p;
}

// A fake engine: writes its argv (one per line) to <dir of --output>/fake_argv.txt, prints one line
// to stdout and one to stderr, sleeps $FAKE_KV_SLEEP seconds, writes a results JSON with the
// reference `summary` keys to --output (unless $FAKE_KV_NO_RESULTS is set) and exits $FAKE_KV_EXIT.
inline std::filesystem::path make_fake_engine(const std::filesystem::path& dir) {
  const auto p = dir / "fake-kv-cache";
  write_file(p, R"SH(#!/bin/sh
out=""
prev=""
for a in "$@"; do
  if [ "$prev" = "--output" ]; then out="$a"; fi
  prev="$a"
done
d=$(dirname "$out")
: > "$d/fake_argv.txt"
for a in "$@"; do printf '%s\n' "$a" >> "$d/fake_argv.txt"; done
echo "fake engine stdout line"
echo "fake engine stderr line" >&2
if [ -n "$FAKE_KV_SLEEP" ]; then sleep "$FAKE_KV_SLEEP"; fi
if [ -n "$FAKE_KV_ZERO_REQUESTS" ]; then
cat > "$out" <<'JSON'
{"requests_completed": 0, "summary": {"total_requests": 0, "elapsed_time": 3.0,
  "end_to_end_latency_ms": {"mean": null, "p50": null, "p95": null, "p99": null},
  "cache_stats": {"tier_storage_read_bandwidth_gbps": 0.0, "tier_storage_write_bandwidth_gbps": 0.0,
    "storage_read_device_p95_ms": null, "storage_write_device_p95_ms": null,
    "storage_health": {"overall_status": "PASS", "criteria": []}}}}
JSON
elif [ -z "$FAKE_KV_NO_RESULTS" ]; then
cat > "$out" <<'JSON'
{
  "requests_completed": 42,
  "total_requests": 999999,
  "summary": {
    "total_requests": 42,
    "total_tokens": 4200,
    "elapsed_time": 3.01,
    "avg_throughput_tokens_per_sec": 1395.3,
    "storage_throughput_tokens_per_sec": 2100.5,
    "requests_per_second": 13.95,
    "end_to_end_latency_ms": {"mean": 10.0, "p50": 9.0, "p95": 20.0, "p99": 30.0, "p999": 40.0, "p9999": 50.0},
    "storage_io_latency_ms": {"mean": 5.0, "p50": 4.0, "p95": 12.5, "p99": 15.0, "p999": 16.0, "p9999": 17.0},
    "cache_stats": {
      "cache_hit_rate": 0.75,
      "tier_storage_read_bandwidth_gbps": 1.25,
      "tier_storage_write_bandwidth_gbps": 0.5,
      "storage_read_device_p95_ms": 3.5,
      "storage_write_device_p95_ms": 7.5,
      "storage_entries": 17,
      "storage_health": {"overall_status": "PASS", "criteria": []}
    },
    "multi_turn_stats": {"cache_hits": 3, "cache_misses": 1, "hit_rate": 0.75}
  }
}
JSON
fi
exit ${FAKE_KV_EXIT:-0}
)SH",
             true);
  return p;
}

}  // namespace orchtest
