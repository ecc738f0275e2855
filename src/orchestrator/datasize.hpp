// `mlpstorage kvcache datasize`: KV-cache sizes from the one model table (model/model.hpp) and the
// engine's user templates (model/templates.hpp), not the reference's placeholder table.
//
// Definitions (users pick a template uniformly; per user a context length L ~ U[lo, hi]; per
// request context ~ U[max(1, L/4), L], as the engine does,
// docs/reference-behaviour.md#users-and-qos-classes):
//   object size          = context tokens × bytes per token   (one KV entry written per request)
//   per-template object  = min max(1, lo/4)·bpt, mean 5/8·(lo+hi)/2·bpt, max hi·bpt
//   per-user working set = one full-context entry, L·bpt (mean (lo+hi)/2·bpt over templates)
//   total working set    = num_users × mean per-user working set
// Recommended sizes (the rule is printed next to each number):
//   GPU     = max(--gpu-mem-gb, 20 % of total)    CPU = max(--cpu-mem-gb, 50 % of total)
//   storage = 2 × total (headroom for multi-turn history and eviction)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "orchestrator/options.hpp"

namespace kv::orchestrator {

struct TemplateObjects {
  std::string name;
  double share = 0;              // fraction of users
  std::uint64_t min_tokens = 0;  // per request
  std::uint64_t max_tokens = 0;
  double mean_tokens = 0;
  std::uint64_t min_bytes = 0;
  std::uint64_t max_bytes = 0;
  double mean_bytes = 0;
  double mean_user_bytes = 0;  // (lo+hi)/2 · bpt
};

struct DatasizeEstimate {
  std::string model;
  std::string model_name;
  std::string bpt_formula;
  std::uint64_t bytes_per_token = 0;
  int num_users = 0;
  std::vector<TemplateObjects> templates;
  std::uint64_t object_min_bytes = 0;
  std::uint64_t object_max_bytes = 0;
  double object_mean_bytes = 0;
  double per_user_mean_bytes = 0;
  std::uint64_t per_user_max_bytes = 0;
  double total_bytes = 0;
  double gpu_recommended_gib = 0;
  double cpu_recommended_gib = 0;
  double storage_recommended_gib = 0;
  std::string gpu_rule;
  std::string cpu_rule;
  std::string storage_rule;

  std::string render() const;  // the console text
  Json to_json() const;
};

DatasizeEstimate estimate_datasize(const kv::model::ModelConfig& m, int num_users,
                                   double gpu_mem_gb, double cpu_mem_gb);

// "1.50 GiB", "16.0 MiB", "512 B".
std::string human_bytes(double bytes);

}  // namespace kv::orchestrator
