// Compiled into every target of a KV_SANITIZE build that includes `address`
// (cmake/KvHelpers.cmake); never part of a normal build. Why: docs/safety.md "Sanitizer builds".
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

namespace {

// Whether this process was started by Open MPI's launcher (OMPI_COMM_WORLD_SIZE is set). The hook
// below runs while the sanitizer initialises, before libc's getenv sees the environment and before
// the sanitizer's own interceptors exist, so /proc/self/environ is read with raw system calls and
// compared with plain loops in code the sanitizers do not instrument (the shadow memory that an
// instrumented access checks is not mapped yet; an intercepted memcmp or memmove crashes too).
__attribute__((no_sanitize("address", "undefined"))) bool launched_by_mpirun() {
  static constexpr char kKey[] = "OMPI_COMM_WORLD_SIZE=";
  constexpr std::size_t kKeyLen = sizeof(kKey) - 1;
  const long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/environ", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // buf[0] is the separator before the first entry; each later read keeps the last kKeyLen bytes
  // in front of the new ones, so a key split between two reads is still found.
  static char buf[1 + kKeyLen + 4096];
  std::size_t have = 1;
  buf[0] = '\0';
  bool found = false;
  for (;;) {
    const long n = syscall(SYS_read, fd, buf + have, sizeof(buf) - have);
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
    for (std::size_t i = 0; i + 1 + kKeyLen <= have && !found; ++i) {
      if (buf[i] != '\0') continue;
      std::size_t k = 0;
      while (k < kKeyLen && buf[i + 1 + k] == kKey[k]) ++k;
      found = k == kKeyLen;
    }
    if (found) break;
    const std::size_t keep = have < kKeyLen + 1 ? have : kKeyLen + 1;
    for (std::size_t k = 0; k < keep; ++k) buf[k] = buf[have - keep + k];
    have = keep;
  }
  syscall(SYS_close, fd);
  return found;
}

}  // namespace

// AddressSanitizer reads its defaults (LeakSanitizer's `detect_leaks` among them) from this hook
// before main. Open MPI 4.1 leaves allocations of its plugins at MPI_Finalize and dlcloses the
// plugins before the exit-time check, so the reports carry no library name that a suppression
// could match. A process started by Open MPI's launcher therefore skips the leak check; ASan's
// memory-error checks and UBSan stay on there, and every other process keeps the leak check.
extern "C" __attribute__((no_sanitize("address", "undefined"))) const char*
__asan_default_options() {
  return launched_by_mpirun() ? "detect_leaks=0" : "";
}
