// The run's storage helpers: backend options from the flags, the device probe (--probe before a
// run, --probe-device alone), the automatic storage capacity and the memory check of the CPU tier.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/units.hpp"
#include "engine/config/config.hpp"
#include "engine/io/backend.hpp"
#include "engine/io/probe.hpp"

namespace kv::engine::run {

inline constexpr double kProbeSeconds = 6.0;
inline constexpr std::uint64_t kProbeFileBytes = 256 * kMiB;
inline constexpr unsigned kProbeThreads = 4;

io::BackendOptions backend_options(const EngineConfig& c, const std::filesystem::path& dir);
nlohmann::json probe_json(const io::ProbeResult& p);

// The device probe with its announcement on stdout (what it does and how long it takes at least)
// and its progress on stderr (phase=probe, run/progress.hpp). `detail` is appended to the
// announcement's first line.
io::ProbeResult probe_device(const EngineConfig& c, int rank, const io::BackendOptions& bo,
                             const std::string& detail = {});

// --probe-device: probes the cache directory's device with the configured backend, prints,
// returns the exit code.
int run_probe_only(const EngineConfig& c);

// 95 % of the free space of the filesystem holding `dir` (cache::kUnlimited if unknown).
std::uint64_t auto_storage_capacity(const std::filesystem::path& dir);

// Bytes of MemAvailable in /proc/meminfo (0 if unknown).
std::uint64_t mem_available_bytes();

}  // namespace kv::engine::run
