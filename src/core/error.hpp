// Errors as values users can act on: every error carries a stable exit code, names what was wrong
// (flag, file, line) and may suggest what to do. Both binaries map uncaught kv::Error to exit codes
// with exit_code_of(); the table is documented in README.md ("Exit codes").
#pragma once

#include <stdexcept>
#include <string>

namespace kv {

// Stable process exit codes, shared by kv-cache and mlpstorage (values follow mlpstorage's EXIT_CODE).
enum class ExitCode : int {
  kSuccess = 0,
  kGeneralError = 1,      // also: help printed because no command was given
  kInvalidArguments = 2,  // usage error: unknown/invalid flag, bad value, bad input file content
  kFileNotFound = 3,
  kPermissionDenied = 4,
  kConfigurationError = 5,
  kFailure = 6,           // the benchmark ran and failed (I/O errors, a rank failed, child failed)
  kTimeout = 7,
  kInterrupted = 8,       // SIGINT/SIGTERM; results written so far are still valid files
};

constexpr int to_int(ExitCode c) { return static_cast<int>(c); }
const char* exit_code_name(ExitCode c);

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::string message, std::string suggestion = {})
      : std::runtime_error(std::move(message)), code_(code), suggestion_(std::move(suggestion)) {}
  ExitCode code() const { return code_; }
  const std::string& suggestion() const { return suggestion_; }
  // "error: <message>" plus "  hint: <suggestion>" when there is one.
  std::string describe() const;

 private:
  ExitCode code_;
  std::string suggestion_;
};

// Usage error naming the flag: "--num-users: must be between 1 and 100000 (got 0)".
inline Error usage_error(const std::string& flag, const std::string& what) {
  return Error(ExitCode::kInvalidArguments, flag + ": " + what);
}

}  // namespace kv
