// JSON text that never throws on bad strings: a path flag, a YAML string or a host name may hold
// bytes that are not UTF-8, and nlohmann's dump() throws on them (a complete run's results would be
// lost). Invalid bytes become U+FFFD (the replacement character) instead.
#pragma once

#include <string>

namespace kv {

template <class Json>
std::string json_text(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace kv
