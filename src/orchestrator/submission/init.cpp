#include "orchestrator/submission/init.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/error.hpp"
#include "core/version.hpp"

namespace kv::orchestrator::submission {

namespace stdfs = std::filesystem;

bool valid_orgname(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  }
  return true;
}

namespace {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

Error config_error(const std::string& msg, const std::string& hint) {
  return Error(ExitCode::kConfigurationError, msg, hint);
}

}  // namespace

std::string read_orgname(const std::string& results_dir) {
  const stdfs::path p = stdfs::path(results_dir) / kSentinelName;
  const std::string hint = "run `mlpstorage init <orgname> " + results_dir + "` first";
  std::error_code ec;
  if (!stdfs::is_regular_file(p, ec))
    throw config_error("--results-dir: '" + results_dir + "' has not been initialized (no " +
                           std::string(kSentinelName) + ")",
                       hint);
  YAML::Node n;
  try {
    n = YAML::LoadFile(p.string());
  } catch (const std::exception& e) {
    throw config_error(p.string() + ": not valid YAML: " + e.what(), hint);
  }
  if (!n.IsMap() || !n["orgname"] || !n["orgname"].IsScalar())
    throw config_error(p.string() + ": no 'orgname' key", hint);
  const std::string org = n["orgname"].as<std::string>();
  if (!valid_orgname(org))
    throw config_error(
        p.string() + ": orgname '" + org + "' may contain only letters, digits, '.', '_' and '-'",
        hint);
  return org;
}

std::string init_results_dir(const std::string& orgname, const std::string& results_dir) {
  if (!valid_orgname(orgname)) {
    throw usage_error("orgname",
                      "'" + orgname + "' may contain only letters, digits, '.', '_' and '-'");
  }
  const stdfs::path target = stdfs::absolute(results_dir).lexically_normal();
  const stdfs::path parent = target.parent_path();
  std::error_code ec;
  if (!stdfs::is_directory(parent, ec)) {
    throw config_error("results-dir: cannot initialize " + target.string() + ": parent directory " +
                           parent.string() + " does not exist",
                       "mkdir -p " + parent.string() + " first");
  }
  if (stdfs::exists(target, ec) && !stdfs::is_directory(target, ec)) {
    throw config_error("results-dir: " + target.string() + " exists and is not a directory",
                       "choose another path");
  }
  const stdfs::path sentinel = target / kSentinelName;
  if (stdfs::is_regular_file(sentinel, ec)) {
    const std::string existing = read_orgname(target.string());
    if (existing == orgname)
      return "results-dir " + target.string() + " is already initialized as '" + orgname +
             "'; nothing to do";
    throw config_error("results-dir: " + target.string() + " is already initialized as '" +
                           existing + "'; refusing to re-initialize it as '" + orgname + "'",
                       "choose another path, or remove " + sentinel.string() +
                           " if you really mean to change the orgname");
  }
  if (stdfs::is_directory(target, ec) && !stdfs::is_empty(target, ec)) {
    throw config_error("results-dir: " + target.string() + " is not empty and not initialized",
                       "choose an empty (or new) directory");
  }
  stdfs::create_directories(target, ec);
  if (ec)
    throw Error(ExitCode::kPermissionDenied,
                "results-dir: cannot create " + target.string() + ": " + ec.message());
  const std::string text = "mlperf_results_version: 1\norgname: " + orgname +
                           "\ninitialized_at: '" + utc_now() + "'\ninitialized_by: mlpstorage " +
                           kVersion + "\n";
  int fd = ::open(sentinel.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int e = errno;
    if (e == EEXIST)
      throw config_error("results-dir: " + sentinel.string() + " appeared meanwhile",
                         "run init again to see what it pins");
    throw Error(e == EACCES || e == EROFS ? ExitCode::kPermissionDenied : ExitCode::kFailure,
                "results-dir: cannot write " + sentinel.string() + ": " + std::strerror(e));
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw Error(ExitCode::kFailure, "results-dir: cannot write " + sentinel.string());
  return "Initialized results-dir " + target.string() + " as orgname '" + orgname + "' (sentinel " +
         sentinel.string() + ")";
}

}  // namespace kv::orchestrator::submission
