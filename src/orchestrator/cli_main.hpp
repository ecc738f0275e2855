// Entry point of mlpstorage; apps/mlpstorage/main.cpp only calls this.
#pragma once

namespace kv::orchestrator {
int cli_main(int argc, char** argv);
}  // namespace kv::orchestrator
