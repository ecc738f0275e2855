// Parses a JSON file for tests (throws nlohmann's parse_error when it is missing or not JSON).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/files.hpp"

namespace kv::testsupport {

template <class JsonT = nlohmann::json>
JsonT load_json(const std::filesystem::path& p) {
  return JsonT::parse(slurp(p));
}

}  // namespace kv::testsupport
