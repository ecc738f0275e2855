#include "engine/replay/trace_files.hpp"

#include <glob.h>

#include <algorithm>
#include <system_error>

#include "core/error.hpp"

namespace kv::replay {
namespace stdfs = std::filesystem;

namespace {
bool has_glob_chars(const std::string& s) {
  return s.find_first_of("*?[") != std::string::npos;
}

bool is_regular(const stdfs::path& p) {
  std::error_code ec;
  return stdfs::is_regular_file(p, ec);
}
}  // namespace

std::vector<stdfs::path> resolve_trace_files(const std::string& spec, std::string_view extension,
                                             std::string_view flag) {
  const std::string f(flag);
  if (spec.empty()) throw Error(ExitCode::kInvalidArguments, f + ": no trace path given");
  std::error_code ec;
  std::vector<stdfs::path> out;
  const stdfs::path p(spec);
  if (stdfs::is_directory(p, ec)) {
    for (stdfs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
      const auto& e = it->path();
      if (is_regular(e) && e.filename().string().ends_with(extension)) out.push_back(e);
    }
    if (ec) throw Error(ExitCode::kFileNotFound, f + ": cannot list " + spec + ": " + ec.message());
    if (out.empty()) {
      throw Error(ExitCode::kFileNotFound,
                  f + ": directory " + spec + " contains no *" + std::string(extension) + " file");
    }
  } else if (is_regular(p)) {
    out.push_back(p);
  } else if (has_glob_chars(spec)) {
    glob_t g{};
    const int rc = ::glob(spec.c_str(), 0, nullptr, &g);
    if (rc == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) {
        stdfs::path m(g.gl_pathv[i]);
        if (is_regular(m)) out.push_back(std::move(m));
      }
    }
    ::globfree(&g);
    if (out.empty()) throw Error(ExitCode::kFileNotFound, f + ": no file matches " + spec);
  } else {
    throw Error(ExitCode::kFileNotFound, f + ": no such file or directory: " + spec);
  }
  std::sort(out.begin(), out.end());
  return out;
}

LineCursor::LineCursor(std::vector<stdfs::path> files, std::string flag)
    : files_(std::move(files)), flag_(std::move(flag)) {
  if (files_.empty()) throw Error(ExitCode::kInvalidArguments, flag_ + ": no trace file given");
}

void LineCursor::open_current() {
  in_.close();
  in_.clear();
  in_.open(files_[file_index_], std::ios::binary);
  if (!in_) {
    throw Error(ExitCode::kFileNotFound, flag_ + ": cannot open " + files_[file_index_].string());
  }
  opened_ = true;
  line_ = 0;
}

bool LineCursor::next(std::string& line) {
  for (;;) {
    if (!opened_) open_current();
    if (std::getline(in_, line)) {
      ++line_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return true;
    }
    if (in_.bad()) {
      throw Error(ExitCode::kFailure, flag_ + ": read error in " + files_[file_index_].string());
    }
    if (file_index_ + 1 >= files_.size()) return false;
    ++file_index_;
    opened_ = false;
  }
}

void LineCursor::rewind() {
  in_.close();
  in_.clear();
  file_index_ = 0;
  opened_ = false;
  line_ = 0;
}

std::string LineCursor::where() const {
  return file().string() + ":" + std::to_string(line_);
}

nlohmann::ordered_json to_json(const TraceReadStats& s) {
  nlohmann::ordered_json j;
  j["files"] = s.files;
  j["records"] = s.records;
  j["bad_lines_skipped"] = s.bad_lines;
  j["bad_line_samples"] = s.bad_line_samples;
  j["cycles_completed"] = s.cycles_completed;
  return j;
}

void require_usable_record(const std::vector<std::filesystem::path>& files, const std::string& flag,
                           const std::function<bool(LineCursor&, std::string&)>& usable_in) {
  std::string first_problem;
  bool usable = false;
  for (const auto& f : files) {  // every file: usable_in() checks each one's header
    LineCursor c({f}, flag);
    std::string problem;
    if (usable_in(c, problem)) usable = true;
    if (!usable && first_problem.empty())
      first_problem = problem.empty() ? f.string() + ": no records (empty file)" : problem;
  }
  if (usable) return;
  std::string names;
  for (std::size_t i = 0; i < files.size() && i < 3; ++i)
    names += (i ? ", " : "") + files[i].string();
  if (files.size() > 3) names += ", ... (" + std::to_string(files.size()) + " files)";
  throw Error(ExitCode::kInvalidArguments,
              flag + ": no usable record in " + names + " (first problem: " + first_problem + ")");
}

}  // namespace kv::replay
