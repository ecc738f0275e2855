// make_backend(): builds the requested engine, taking and reporting fallbacks
// (O_DIRECT refused → buffered; io_uring unavailable → posix), each logged as one warning line.
#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/error.hpp"
#include "core/log.hpp"
#include "engine/io/backend_common.hpp"

namespace kv::io {

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
    if (!detail::direct_io_supported(opts.dir, &err)) {
      opts.direct_io = false;
      choice.fallbacks.push_back(std::string("O_DIRECT refused by the filesystem of ") + opts.dir.string() +
                                 " (" + std::strerror(err) + "): buffered I/O");
    }
  }
  if (opts.engine == Engine::kIoUring) {
    std::string why;
    choice.backend = detail::make_uring_backend(opts, &why);
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
