// Entry point of mlpstorage; apps/mlpstorage/main.cpp only calls cli_main().
//
// run_cli() is the whole program for one argv: parse (cli.hpp), configure logging, install the
// SIGINT/SIGTERM handlers, then either a `history` command or a benchmark command. Every
// invocation except `history …` is recorded in the history database before it runs and completed
// after it (history/history.hpp); a history database that cannot be opened only warns. Errors are
// printed as "error: … / hint: …" and mapped to kv::ExitCode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/kvcache.hpp"

namespace kv::orchestrator {

int cli_main(int argc, char** argv);

// `rerun_of` marks a run started by `history rerun ID`.
int run_cli(const std::vector<std::string>& argv, const Environment& env = {},
            std::optional<std::int64_t> rerun_of = std::nullopt);

}  // namespace kv::orchestrator
