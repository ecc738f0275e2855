#include "orchestrator/datasize.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "core/units.hpp"
#include "model/templates.hpp"
#include "orchestrator/plan.hpp"

namespace kv::orchestrator {

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 5) {
    bytes /= 1024.0;
    ++u;
  }
  if (u == 0) return fmt::format("{:.0f} B", bytes);
  return fmt::format("{:.2f} {}", bytes, units[u]);
}

static std::string formula(const kv::model::ModelConfig& m) {
  if (m.attention == kv::model::Attention::kMLA) {
    return fmt::format("{} layers x ({} + {}) latent x {} bytes", m.num_layers, m.kv_lora_rank,
                       m.qk_rope_head_dim, m.dtype_bytes());
  }
  return fmt::format("{} layers x {} KV heads x {} head dim x 2 (K,V) x {} bytes", m.num_layers,
                     m.kv_heads, m.head_dim(), m.dtype_bytes());
}

DatasizeEstimate estimate_datasize(const kv::model::ModelConfig& m, int num_users,
                                   double gpu_mem_gb, double cpu_mem_gb) {
  DatasizeEstimate e;
  e.model = m.key;
  e.model_name = m.name;
  e.bpt_formula = formula(m);
  e.bytes_per_token = m.bytes_per_token();
  e.num_users = num_users;
  const auto templates = kv::model::default_user_templates();
  const double share = 1.0 / static_cast<double>(templates.size());
  const double bpt = static_cast<double>(e.bytes_per_token);
  e.object_min_bytes = std::numeric_limits<std::uint64_t>::max();
  for (const auto& t : templates) {
    TemplateObjects o;
    o.name = t.name;
    o.share = share;
    const auto lo = static_cast<std::uint64_t>(t.context_tokens.lo);
    const auto hi = static_cast<std::uint64_t>(t.context_tokens.hi);
    o.min_tokens = std::max<std::uint64_t>(1, lo / 4);
    o.max_tokens = hi;
    o.mean_tokens = 5.0 / 8.0 * (t.context_tokens.lo + t.context_tokens.hi) / 2.0;
    o.min_bytes = m.object_bytes(o.min_tokens);
    o.max_bytes = m.object_bytes(o.max_tokens);
    o.mean_bytes = o.mean_tokens * bpt;
    o.mean_user_bytes = (t.context_tokens.lo + t.context_tokens.hi) / 2.0 * bpt;
    e.object_min_bytes = std::min(e.object_min_bytes, o.min_bytes);
    e.object_max_bytes = std::max(e.object_max_bytes, o.max_bytes);
    e.object_mean_bytes += share * o.mean_bytes;
    e.per_user_mean_bytes += share * o.mean_user_bytes;
    e.per_user_max_bytes = std::max(e.per_user_max_bytes, o.max_bytes);
    e.templates.push_back(std::move(o));
  }
  e.total_bytes = e.per_user_mean_bytes * num_users;
  const double total_gib = e.total_bytes / static_cast<double>(kv::kGiB);
  e.gpu_recommended_gib = std::max(gpu_mem_gb, total_gib * 0.2);
  e.cpu_recommended_gib = std::max(cpu_mem_gb, total_gib * 0.5);
  e.storage_recommended_gib = total_gib * 2.0;
  e.gpu_rule =
      fmt::format("max(--gpu-mem-gb {}, 20% of total working set)", format_float(gpu_mem_gb));
  e.cpu_rule =
      fmt::format("max(--cpu-mem-gb {}, 50% of total working set)", format_float(cpu_mem_gb));
  e.storage_rule = "2x total working set (headroom for multi-turn history and eviction)";
  return e;
}

std::string DatasizeEstimate::render() const {
  std::string s;
  s += fmt::format("KV Cache Size Estimates for {} ({}):\n", model, model_name);
  s += fmt::format("  Per-token cache: {} bytes ({}; {})\n", bytes_per_token,
                   human_bytes(static_cast<double>(bytes_per_token)), bpt_formula);
  s += "  Object size per request (context tokens x bytes per token; users pick a template "
       "uniformly):\n";
  s += fmt::format("    {:<10} {:>6} {:>17} {:>12} {:>12} {:>12}\n", "template", "share",
                   "context tokens", "min", "mean", "max");
  for (const auto& t : templates) {
    s += fmt::format("    {:<10} {:>5.0f}% {:>17} {:>12} {:>12} {:>12}\n", t.name, t.share * 100.0,
                     fmt::format("{}-{}", t.min_tokens, t.max_tokens),
                     human_bytes(static_cast<double>(t.min_bytes)), human_bytes(t.mean_bytes),
                     human_bytes(static_cast<double>(t.max_bytes)));
  }
  s += fmt::format("    {:<10} {:>6} {:>17} {:>12} {:>12} {:>12}\n", "all", "100%", "",
                   human_bytes(static_cast<double>(object_min_bytes)),
                   human_bytes(object_mean_bytes),
                   human_bytes(static_cast<double>(object_max_bytes)));
  s += fmt::format("  Per-user working set (one full-context entry): mean {}, max {}\n",
                   human_bytes(per_user_mean_bytes),
                   human_bytes(static_cast<double>(per_user_max_bytes)));
  s += fmt::format("  Total for {} users: {}\n", num_users, human_bytes(total_bytes));
  s += "\nRecommended tier sizes:\n";
  s += fmt::format("  GPU memory:     {:>10.1f} GiB   rule: {}\n", gpu_recommended_gib, gpu_rule);
  s += fmt::format("  CPU memory:     {:>10.1f} GiB   rule: {}\n", cpu_recommended_gib, cpu_rule);
  s += fmt::format("  Storage (NVMe): {:>10.1f} GiB   rule: {}\n", storage_recommended_gib,
                   storage_rule);
  s += "  (MLPerf CLOSED options run with --gpu-mem-gb 0 and --cpu-mem-gb 0 or 4, so KV traffic "
       "goes to storage.)\n";
  return s;
}

Json DatasizeEstimate::to_json() const {
  Json t = Json::array();
  for (const auto& x : templates) {
    t.push_back(Json{{"name", x.name},
                     {"share", x.share},
                     {"min_tokens", x.min_tokens},
                     {"max_tokens", x.max_tokens},
                     {"mean_tokens", x.mean_tokens},
                     {"min_object_bytes", x.min_bytes},
                     {"mean_object_bytes", x.mean_bytes},
                     {"max_object_bytes", x.max_bytes},
                     {"mean_user_working_set_bytes", x.mean_user_bytes}});
  }
  return Json{{"model", model},
              {"bytes_per_token", bytes_per_token},
              {"bytes_per_token_formula", bpt_formula},
              {"num_users", num_users},
              {"templates", t},
              {"object_min_bytes", object_min_bytes},
              {"object_mean_bytes", object_mean_bytes},
              {"object_max_bytes", object_max_bytes},
              {"per_user_mean_bytes", per_user_mean_bytes},
              {"per_user_max_bytes", per_user_max_bytes},
              {"total_bytes", total_bytes},
              {"recommended", Json{{"gpu_mem_gib", gpu_recommended_gib},
                                   {"gpu_rule", gpu_rule},
                                   {"cpu_mem_gib", cpu_recommended_gib},
                                   {"cpu_rule", cpu_rule},
                                   {"storage_gib", storage_recommended_gib},
                                   {"storage_rule", storage_rule}}}};
}

}  // namespace kv::orchestrator
