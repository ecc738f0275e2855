// Reads a --config-file YAML into plain (key, values) pairs; cli.cpp applies them to the flags
// with values converted by each flag's own type and checks (the reference kept them as strings).
// Top level must be a mapping. A scalar gives one value, a sequence one value per scalar entry, a
// mapping "k=v" values, null is kept as "no value" (skipped by the caller). Throws
// kv::Error(kInvalidArguments) naming --config-file for a missing file or bad YAML.
#pragma once

#include <string>
#include <vector>

namespace kv::orchestrator {

struct ConfigEntry {
  enum class Kind { kNull, kScalar, kSequence, kMapping };
  std::string key;
  Kind kind = Kind::kNull;
  std::vector<std::string> values;
};

struct ConfigFile {
  bool empty = true;  // file has no content at all
  std::vector<ConfigEntry> entries;
};

ConfigFile read_config_file(const std::string& path);

}  // namespace kv::orchestrator
