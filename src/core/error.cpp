#include "core/error.hpp"

namespace kv {

const char* exit_code_name(ExitCode c) {
  switch (c) {
    case ExitCode::kSuccess: return "SUCCESS";
    case ExitCode::kGeneralError: return "GENERAL_ERROR";
    case ExitCode::kInvalidArguments: return "INVALID_ARGUMENTS";
    case ExitCode::kFileNotFound: return "FILE_NOT_FOUND";
    case ExitCode::kPermissionDenied: return "PERMISSION_DENIED";
    case ExitCode::kConfigurationError: return "CONFIGURATION_ERROR";
    case ExitCode::kFailure: return "FAILURE";
    case ExitCode::kTimeout: return "TIMEOUT";
    case ExitCode::kInterrupted: return "INTERRUPTED";
  }
  return "UNKNOWN";
}

std::string Error::describe() const {
  std::string s = "error: ";
  s += what();
  if (!suggestion_.empty()) {
    s += "\n  hint: ";
    s += suggestion_;
  }
  return s;
}

}  // namespace kv
