// Entry point of the kv-cache engine; apps/kv-cache/main.cpp only calls this.
#pragma once

namespace kv::engine {
// Parses argv, runs the benchmark, writes results; returns the process exit code (kv::ExitCode).
int cli_main(int argc, char** argv);
}  // namespace kv::engine
