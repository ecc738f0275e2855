// Optional test tools (chromium, numpy): a test skips without one, unless the suite requires it.
// scripts/run-tests.sh sets KV_REQUIRE_<TOOL>=1 for every tool scripts/install-deps.sh installs,
// so there a missing tool is a broken set-up and the test fails instead.
#pragma once

#include <cstdlib>
#include <string_view>

namespace kv::testsupport {

// Whether the environment variable `var` (KV_REQUIRE_CHROMIUM, KV_REQUIRE_NUMPY) is "1".
inline bool tool_required(const char* var) {
  const char* v = std::getenv(var);
  return v != nullptr && std::string_view(v) == "1";
}

}  // namespace kv::testsupport
