// Compiled into every target of a KV_SANITIZE build that includes `address` (cmake/KvHelpers.cmake);
// never part of a normal build. Why: docs/safety.md "Sanitizer builds".
#include <cstdlib>

// LeakSanitizer reads its defaults from this hook before main. Open MPI 4.1 leaves allocations of
// its plugins at MPI_Finalize and dlcloses the plugins before the exit-time check, so the reports
// carry no library name that a suppression could match. A process started by Open MPI's launcher
// (OMPI_COMM_WORLD_SIZE is set) therefore skips the leak check at exit; ASan's memory-error checks
// and UBSan stay on there, and every other process keeps the leak check.
extern "C" const char* __lsan_default_options() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr ? "detect_leaks=0" : "";
}
