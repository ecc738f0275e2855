// Shared by the tier tests.
#pragma once

#include <string>

#include "engine/io/backend.hpp"

namespace kvtest {

// An object of `bytes` bytes (float16 elements) under `key`.
inline kv::io::ObjectSpec spec(const std::string& key, std::uint64_t bytes) {
  kv::io::ObjectSpec s;
  s.key = key;
  s.shape = {bytes / 2};
  s.payload_bytes = bytes;
  return s;
}

}  // namespace kvtest
