#include "orchestrator/options.hpp"

#include <filesystem>

namespace kv::orchestrator {

std::string default_results_dir() {
  std::error_code ec;
  auto tmp = std::filesystem::temp_directory_path(ec);
  if (ec) tmp = "/tmp";
  return (tmp / "mlperf_storage_results").string();
}

bool SequenceOptions::was_given(const std::string& long_name) const {
  for (const auto& g : given)
    if (g == long_name) return true;
  return false;
}

namespace {
template <typename T>
Json opt(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}
}  // namespace

Json Invocation::args_json() const {
  Json a = Json::object();
  a["program"] = program;
  a["command"] = command;
  // universal
  a["results_dir"] = uni.results_dir;
  a["loops"] = uni.loops;
  a["config_file"] = uni.config_file.empty() ? Json(nullptr) : Json(uni.config_file);
  a["closed"] = uni.closed;
  a["open"] = uni.open;
  a["debug"] = uni.debug;
  a["verbose"] = uni.verbose;
  a["stream_log_level"] = uni.stream_log_level;
  a["allow_invalid_params"] = uni.allow_invalid_params;
  a["what_if"] = uni.what_if;
  a["skip_validation"] = uni.skip_validation;
  a["history_db"] = uni.history_db.empty() ? Json(nullptr) : Json(uni.history_db);
  if (program == "kvcache") {
    a["model"] = kv.model;
    a["num_users"] = kv.num_users;
    a["gpu_mem_gb"] = kv.gpu_mem_gb;
    a["cpu_mem_gb"] = kv.cpu_mem_gb;
    a["cache_dir"] = kv.cache_dir.empty() ? Json(nullptr) : Json(kv.cache_dir);
    if (command == "run") {
      a["duration"] = kv.duration;
      a["generation_mode"] = kv.generation_mode;
      a["performance_profile"] = kv.performance_profile;
      a["seed"] = opt(kv.seed);
      a["kvcache_bin_path"] =
          kv.kvcache_bin_path.empty() ? Json(nullptr) : Json(kv.kvcache_bin_path);
      a["max_concurrent_allocs"] = opt(kv.max_concurrent_allocs);
      a["disable_multi_turn"] = kv.disable_multi_turn;
      a["disable_prefix_caching"] = kv.disable_prefix_caching;
      a["enable_rag"] = kv.enable_rag;
      a["rag_num_docs"] = kv.rag_num_docs;
      a["enable_autoscaling"] = kv.enable_autoscaling;
      a["autoscaler_mode"] = kv.autoscaler_mode;
      a["io_engine"] = kv.io_engine.empty() ? Json(nullptr) : Json(kv.io_engine);
      a["direct_io"] = kv.direct_io;
      a["io_depth"] = opt(kv.io_depth);
      a["io_chunk_mib"] = opt(kv.io_chunk_mib);
      a["gpu_backend"] = kv.gpu_backend.empty() ? Json(nullptr) : Json(kv.gpu_backend);
      a["keep_cache"] = kv.keep_cache;
      a["kvcache_params"] = kv.kvcache_params;
      a["exec_type"] = kv.exec_type;
      a["num_processes"] = opt(kv.num_processes);
      a["hosts"] = kv.hosts;
      a["mpi_bin"] = kv.mpi_bin;
      a["oversubscribe"] = kv.oversubscribe;
      a["allow_run_as_root"] = kv.allow_run_as_root;
      a["mpi_params"] = kv.mpi_params;
      if (!seq.division.empty()) {
        a["division"] = seq.division;
        a["systemname"] = seq.systemname;
        a["trials"] = opt(seq.trials);
        a["inter_option_delay"] = opt(seq.inter_option_delay);
        a["settle"] = opt(seq.settle);
        a["npernode"] = opt(seq.npernode);
        a["config"] = seq.engine_config.empty() ? Json(nullptr) : Json(seq.engine_config);
        a["resume"] = seq.resume.empty() ? Json(nullptr) : Json(seq.resume);
        a["given"] = seq.given;
      }
    }
  }
  return a;
}

}  // namespace kv::orchestrator
