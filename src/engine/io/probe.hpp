// Pre-flight device probe (`kv-cache --probe-device` / `--probe`): a few seconds of sequential
// writes then reads of whole objects with the engine's own backend, chunk size and queue depth, in
// the target directory, so results can state the engine's bandwidth as a share of what the device
// gave. Files are `<dir>/.kv_probe_<pid>_<i>.npy`, created by the probe and always removed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/io/backend.hpp"

namespace kv::io {

struct ProbeResult {
  std::string backend;                 // what really ran, e.g. "io_uring+direct"
  std::vector<std::string> fallbacks;  // as make_backend() reported them
  double write_gibps = 0;              // GiB/s (1024^3), payload bytes / phase wall time incl. sync
  double read_gibps = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t bytes_read = 0;
  double write_seconds = 0;
  double read_seconds = 0;
  unsigned files = 0;
  bool ok = false;
  std::string error;  // first I/O failure, when !ok
};

// Half of `seconds` writing objects of `file_bytes` (at least one), half reading them back
// (round-robin). `threads` streams run at once (1 = one object in flight at a time, each with up to
// io_depth chunks in flight on io_uring). Throws kv::Error only when the directory is unusable.
ProbeResult run_probe(const BackendOptions& opts, double seconds, std::uint64_t file_bytes, unsigned threads = 1);

}  // namespace kv::io
