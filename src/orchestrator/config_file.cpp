#include "orchestrator/config_file.hpp"

// yaml-cpp 0.7's inline node code trips GCC 12's -Wdangling-pointer (false positive in its
// headers).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#include <yaml-cpp/yaml.h>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace kv::orchestrator {

ConfigFile read_config_file(const std::string& path) {
  ConfigFile cf;
  YAML::Node root;
  // read_file: a missing file is exit 3, a directory or an unbounded file (/dev/zero) exit 2.
  const std::string text = kv::fs::read_file(path, "--config-file", std::size_t{16} << 20);
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw usage_error("--config-file", "'" + path + "' is not valid YAML: " + e.what());
  }
  if (!root || root.IsNull()) return cf;
  cf.empty = false;
  if (!root.IsMap())
    throw usage_error("--config-file", "'" + path + "' must be a mapping of flag names to values");
  try {
    for (const auto& kvp : root) {
      ConfigEntry e;
      e.key = kvp.first.as<std::string>();
      const YAML::Node v = kvp.second;
      if (!v || v.IsNull()) {
        e.kind = ConfigEntry::Kind::kNull;
      } else if (v.IsScalar()) {
        e.kind = ConfigEntry::Kind::kScalar;
        e.values.push_back(v.Scalar());
      } else if (v.IsSequence()) {
        e.kind = ConfigEntry::Kind::kSequence;
        for (const auto& x : v) {
          if (!x.IsScalar())
            throw usage_error("--config-file",
                              "'" + path + "': '" + e.key + "' entries must be scalars");
          e.values.push_back(x.Scalar());
        }
      } else {
        e.kind = ConfigEntry::Kind::kMapping;
        for (const auto& m : v) {
          if (!m.second.IsScalar()) {
            throw usage_error("--config-file",
                              "'" + path + "': '" + e.key + "' mapping values must be scalars");
          }
          e.values.push_back(m.first.as<std::string>() + "=" + m.second.Scalar());
        }
      }
      cf.entries.push_back(std::move(e));
    }
  } catch (const YAML::Exception& e) {
    throw usage_error("--config-file", "'" + path + "': " + e.what());
  }
  return cf;
}

}  // namespace kv::orchestrator
#pragma GCC diagnostic pop
