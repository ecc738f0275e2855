// io_uring backend (placeholder until the liburing engine lands: reports unavailability so
// make_backend() falls back to posix and says so).
#include "engine/io/backend_common.hpp"

namespace kv::io::detail {

std::unique_ptr<StorageBackend> make_uring_backend(const BackendOptions&, std::string* why) {
  *why = "io_uring engine not built yet";
  return nullptr;
}

}  // namespace kv::io::detail
