// make_backend(): builds the requested engine, taking and reporting fallbacks
// (O_DIRECT refused → buffered; io_uring unavailable → posix), each logged as one warning line.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "core/error.hpp"
#include "core/log.hpp"
#include "engine/io/backend_common.hpp"

namespace kv::io {

namespace {
// Test hook: KV_TEST_FORCE_FALLBACK=direct,io_uring makes the probes fail as they would on a
// filesystem without O_DIRECT / a kernel without io_uring (the fallback paths stay testable on
// machines that support both).
bool forced(const char* what) {
  const char* env = std::getenv("KV_TEST_FORCE_FALLBACK");
  return env != nullptr && std::strstr(env, what) != nullptr;
}
}  // namespace

BackendChoice make_backend(const BackendOptions& requested) {
  BackendOptions opts = requested;
  BackendChoice choice;
  std::error_code ec;
  std::filesystem::create_directories(opts.dir, ec);
  if (ec || !std::filesystem::is_directory(opts.dir)) {
    throw Error(ExitCode::kFileNotFound,
                "--cache-dir: cannot create directory " + opts.dir.string() + (ec ? ": " + ec.message() : ""));
  }
  if (opts.direct_io) {
    int err = 0;
    if (forced("direct")) err = EINVAL;
    if (err != 0 || !detail::direct_io_supported(opts.dir, &err)) {
      opts.direct_io = false;
      choice.fallbacks.push_back(std::string("O_DIRECT refused by the filesystem of ") + opts.dir.string() +
                                 " (" + std::strerror(err) + "): buffered I/O");
    }
  }
  if (opts.engine == Engine::kIoUring) {
    std::string why;
    if (forced("io_uring")) {
      why = "io_uring_queue_init: " + std::string(std::strerror(ENOSYS)) + " (forced by KV_TEST_FORCE_FALLBACK)";
    } else {
      choice.backend = detail::make_uring_backend(opts, &why, &choice.fallbacks);
    }
    if (!choice.backend) {
      opts.engine = Engine::kPosix;
      choice.fallbacks.push_back("io_uring unavailable (" + why + "): posix engine");
    }
  }
  if (!choice.backend) choice.backend = detail::make_posix_backend(opts);
  choice.engine = opts.engine;
  choice.direct_io = opts.direct_io;
  for (const auto& f : choice.fallbacks) log::warn("storage I/O fallback: {}", f);
  return choice;
}

}  // namespace kv::io
