#include "engine/config/yaml_config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace kv::engine {

namespace {

class Walker {
 public:
  std::vector<std::string> errors;
  std::vector<std::string> given;

  void error(const std::string& path, const std::string& what) { errors.push_back(path + ": " + what); }

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

  bool is_quoted(const YAML::Node& n) const { return n.Tag() == "!"; }

  std::optional<double> number(const YAML::Node& n, const std::string& path) {
    double v = 0;
    if (!n.IsScalar() || is_quoted(n) || !YAML::convert<double>::decode(n, v) || !std::isfinite(v)) {
      error(path, "expected a number");
      return std::nullopt;
    }
    return v;
  }
  std::optional<std::int64_t> integer(const YAML::Node& n, const std::string& path) {
    long long v = 0;
    if (!n.IsScalar() || is_quoted(n) || !YAML::convert<long long>::decode(n, v)) {
      error(path, "expected an integer");
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v);
  }
  std::optional<std::string> string(const YAML::Node& n, const std::string& path) {
    if (!n.IsScalar()) {
      error(path, "expected a string");
      return std::nullopt;
    }
    return n.Scalar();
  }
  std::optional<model::Range> range(const YAML::Node& n, const std::string& path, double min,
                                    double max) {
    if (!n.IsSequence() || n.size() != 2) {
      error(path, "expected a list of two numbers [min, max]");
      return std::nullopt;
    }
    auto lo = number(n[0], path + "[0]");
    auto hi = number(n[1], path + "[1]");
    if (!lo || !hi) return std::nullopt;
    if (*lo < min) {
      error(path, fmt::format("minimum must be >= {} (got {})", min, *lo));
      return std::nullopt;
    }
    if (*lo > *hi) {
      error(path, fmt::format("minimum {} is above maximum {}", *lo, *hi));
      return std::nullopt;
    }
    if (*hi > max) {
      error(path, fmt::format("maximum must be <= {} (got {})", max, *hi));
      return std::nullopt;
    }
    return model::Range{*lo, *hi};
  }

  // Iterates a mapping, dispatching each key to `handlers`; unknown keys are errors.
  using Handler = std::function<void(const YAML::Node&, const std::string&)>;
  void section(const YAML::Node& n, const std::string& path, const std::map<std::string, Handler>& handlers) {
    if (n.IsNull()) return;
    if (!n.IsMap()) {
      error(path.empty() ? "(top level)" : path, "expected a mapping");
      return;
    }
    for (const auto& kv : n) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      const std::string p = join(path, key);
      auto it = handlers.find(key);
      if (it == handlers.end()) {
        std::string allowed;
        for (const auto& h : handlers) allowed += (allowed.empty() ? "" : ", ") + h.first;
        error(p, "unknown key (allowed: " + allowed + ")");
        continue;
      }
      given.push_back(p);
      it->second(kv.second, p);
    }
  }

  // Handlers for scalar fields with limits.
  Handler num(double* out, double lo, double hi, bool lo_exclusive = false) {
    return [this, out, lo, hi, lo_exclusive](const YAML::Node& n, const std::string& p) {
      auto v = number(n, p);
      if (!v) return;
      if ((lo_exclusive ? !(*v > lo) : !(*v >= lo)) || !(*v <= hi)) {
        error(p, fmt::format("must be {} {} and <= {} (got {})", lo_exclusive ? ">" : ">=", lo, hi, *v));
        return;
      }
      *out = *v;
    };
  }
  template <class T>
  Handler integer_field(T* out, std::int64_t lo, std::int64_t hi) {
    return [this, out, lo, hi](const YAML::Node& n, const std::string& p) {
      auto v = integer(n, p);
      if (!v) return;
      if (*v < lo || *v > hi) {
        error(p, fmt::format("must be between {} and {} (got {})", lo, hi, *v));
        return;
      }
      *out = static_cast<T>(*v);
    };
  }
};

constexpr double kBig = 1e18;
constexpr std::int64_t kIntMax = 2147483647;
// Token counts of a request or a RAG document: at most 2^20, as a trace's (modes/producers.cpp).
constexpr std::int64_t kMaxTokens = 1 << 20;
// Think times: at most a day (a wait is clamped to kv::kMaxWaitNs anyway).
constexpr double kMaxThinkS = 86400;
// A model's KV bytes per token: at most 64 MiB (the largest built-in model needs ~1 MiB), so an
// object of kMaxTokens tokens stays below 2^46 bytes.
constexpr double kMaxBytesPerToken = 64.0 * 1024 * 1024;

// Bytes per token of `m` in floating point (no overflow whatever the fields), for the bound check
// before ModelConfig::bytes_per_token()'s integer product.
double bytes_per_token_estimate(const model::ModelConfig& m) {
  const double d = m.dtype_bytes(), L = m.num_layers;
  if (m.attention == model::Attention::kMLA)
    return L * (static_cast<double>(m.kv_lora_rank) + m.qk_rope_head_dim) * d;
  return L * m.kv_heads * static_cast<double>(m.head_dim()) * 2 * d;
}

}  // namespace

YamlSettings parse_yaml_config(const std::string& text, const std::string& source, const model::ModelTable& base) {
  YamlSettings s;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(ExitCode::kInvalidArguments,
                fmt::format("--config: {}: YAML syntax error at line {}, column {}: {}", source, e.mark.line + 1,
                            e.mark.column + 1, e.msg));
  }
  Walker w;
  using H = Walker::Handler;

  auto templates = [&](const YAML::Node& n, const std::string& p) {
    std::map<std::string, H> per;
    for (std::size_t i = 0; i < s.user_templates.size(); ++i) {
      auto* t = &s.user_templates[i];
      per[t->name] = [&w, t](const YAML::Node& tn, const std::string& tp) {
        w.section(tn, tp,
                  {{"context_range",
                    [&w, t](const YAML::Node& x, const std::string& xp) {
                      if (auto r = w.range(x, xp, 1, static_cast<double>(kMaxTokens)))
                        t->context_tokens = *r;
                    }},
                   {"generation_range",
                    [&w, t](const YAML::Node& x, const std::string& xp) {
                      if (auto r = w.range(x, xp, 1, static_cast<double>(kMaxTokens)))
                        t->generation_tokens = *r;
                    }},
                   {"think_time_range", [&w, t](const YAML::Node& x, const std::string& xp) {
                      if (auto r = w.range(x, xp, 0, kMaxThinkS)) t->think_time_s = *r;
                    }}});
      };
    }
    w.section(n, p, per);
  };

  auto qos = [&](const YAML::Node& n, const std::string& p) {
    std::map<std::string, H> per;
    for (auto& q : s.qos) {
      auto* c = &q;
      per[c->name] = [&w, c](const YAML::Node& qn, const std::string& qp) {
        w.section(qn, qp,
                  {{"target_latency_p95_ms", w.num(&c->target_p95_ms, 0, kBig, true)},
                   {"target_latency_p99_ms", w.num(&c->target_p99_ms, 0, kBig, true)},
                   {"target_latency_p999_ms", w.num(&c->target_p999_ms, 0, kBig, true)},
                   {"target_latency_p9999_ms", w.num(&c->target_p9999_ms, 0, kBig, true)},
                   {"priority", w.integer_field(&c->priority, 0, 1000)}});
      };
    }
    w.section(n, p, per);
  };

  auto models = [&](const YAML::Node& n, const std::string& p) {
    if (n.IsNull()) return;
    if (!n.IsMap()) {
      w.error(p, "expected a mapping of model keys");
      return;
    }
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const std::string mp = Walker::join(p, key);
      w.given.push_back(mp);
      model::ModelConfig m;
      const bool existing = base.find(key) != nullptr;
      if (existing) m = *base.find(key);
      m.key = key;
      if (!existing) m.name = key;
      std::string att;
      bool bad = false;
      const std::size_t errors_before = w.errors.size();
      w.section(kv.second, mp,
                {{"name",
                  [&](const YAML::Node& x, const std::string& xp) {
                    if (auto v = w.string(x, xp)) m.name = *v;
                  }},
                 {"num_layers", w.integer_field(&m.num_layers, 1, 100000)},
                 {"hidden_dim", w.integer_field(&m.hidden_dim, 1, 10000000)},
                 {"num_heads", w.integer_field(&m.num_heads, 1, 100000)},
                 {"kv_heads", w.integer_field(&m.kv_heads, 1, 100000)},
                 {"dtype",
                  [&](const YAML::Node& x, const std::string& xp) {
                    if (auto v = w.string(x, xp)) m.dtype = *v;
                  }},
                 {"kv_dim_per_head", w.integer_field(&m.kv_dim_per_head, 0, 1000000)},
                 {"attention_type",
                  [&](const YAML::Node& x, const std::string& xp) {
                    auto v = w.string(x, xp);
                    if (!v) return;
                    auto a = model::parse_attention(*v);
                    if (!a) {
                      w.error(xp, fmt::format("must be one of mha, gqa, mla (got '{}')", *v));
                      return;
                    }
                    m.attention = *a;
                  }},
                 {"kv_lora_rank", w.integer_field(&m.kv_lora_rank, 0, 1000000)},
                 {"qk_rope_head_dim", w.integer_field(&m.qk_rope_head_dim, 0, 1000000)}});
      if (w.errors.size() != errors_before) bad = true;
      if (!bad && !existing) {
        const char* need[] = {"num_layers", "hidden_dim", "num_heads"};
        const int have[] = {m.num_layers, m.hidden_dim, m.num_heads};
        for (int i = 0; i < 3; ++i)
          if (have[i] <= 0) {
            w.error(Walker::join(mp, need[i]), "required for a new model");
            bad = true;
          }
        if (m.attention == model::Attention::kMLA && m.kv_lora_rank + m.qk_rope_head_dim <= 0) {
          w.error(Walker::join(mp, "kv_lora_rank"), "an MLA model needs kv_lora_rank + qk_rope_head_dim > 0");
          bad = true;
        }
        if (m.attention != model::Attention::kMLA && m.kv_heads <= 0) m.kv_heads = m.num_heads;
      }
      if (!bad && bytes_per_token_estimate(m) > kMaxBytesPerToken) {
        w.error(mp, fmt::format("gives {:.4g} bytes per token (at most {} = 64 MiB)",
                                bytes_per_token_estimate(m), kMaxBytesPerToken));
        bad = true;
      }
      if (!bad && m.bytes_per_token() == 0) {
        w.error(mp, "gives 0 bytes per token");
        bad = true;
      }
      if (!bad) s.models.push_back(std::move(m));
    }
  };

  w.section(
      root, "",
      {{"user_templates", templates},
       {"generation_timing",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(n, p,
                    {{"none", w.num(&s.generation_timing[0], 0, 60)},
                     {"fast", w.num(&s.generation_timing[1], 0, 60)},
                     {"realistic", w.num(&s.generation_timing[2], 0, 60)}});
        }},
       {"qos_profiles", qos},
       {"qos_distribution",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(n, p,
                    {{"interactive_probability", w.num(&s.interactive_probability, 0, 1)},
                     {"responsive_threshold", w.num(&s.responsive_threshold, 0, 1)}});
        }},
       {"eviction",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(n, p,
                    {{"max_recursion_depth", w.integer_field(&s.max_recursion_depth, 0, 1000)},
                     {"target_usage_ratio", w.num(&s.target_usage_ratio, 0, 1, true)},
                     {"large_entry_limit_ratio", w.num(&s.large_entry_limit_ratio, 0, 1, true)},
                     {"max_evictions_hard_cap", w.integer_field(&s.max_evictions_hard_cap, 1, kIntMax)},
                     {"max_evictions_min", w.integer_field(&s.max_evictions_min, 0, kIntMax)}});
        }},
       {"gpu_backend",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(n, p,
                    {{"memory_fraction", w.num(&s.gpu_memory_fraction, 0, 1, true)},
                     {"max_eviction_attempts", w.integer_field(&s.gpu_max_eviction_attempts, 0, kIntMax)},
                     {"free_memory_threshold", w.num(&s.gpu_free_memory_threshold, 0, 1)}});
        }},
       {"prefix_cache",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(n, p,
                    {{"min_prefix_length", w.integer_field(&s.min_prefix_length, 0, kIntMax)},
                     {"max_prefix_entries", w.integer_field(&s.max_prefix_entries, 0, kIntMax)},
                     {"system_prompt_hit_probability", w.num(&s.system_prompt_hit_probability, 0, 1)}});
        }},
       {"rag",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(
              n, p,
              {{"chunk_size_tokens", w.integer_field(&s.rag_chunk_size_tokens, 1, kIntMax)},
               {"top_k_chunks", w.integer_field(&s.rag_top_k_chunks, 1, kIntMax)},
               {"max_chunk_bytes", w.integer_field(&s.rag_max_chunk_bytes, 1, INT64_MAX)},
               {"request_probability", w.num(&s.rag_request_probability, 0, 1)},
               {"retrieval_distribution",
                [&](const YAML::Node& x, const std::string& xp) {
                  auto v = w.string(x, xp);
                  if (!v) return;
                  if (*v != "zipfian" && *v != "uniform" && *v != "random") {
                    w.error(xp, fmt::format("must be one of zipfian, uniform, random (got '{}')", *v));
                    return;
                  }
                  s.rag_retrieval_distribution = *v;
                }},
               {"max_documents", w.integer_field(&s.rag_max_documents, 0, kIntMax)},
               {"large_model_doc_tokens_min",
                w.integer_field(&s.rag_large_model_doc_tokens_min, 1, kMaxTokens)},
               {"large_model_doc_tokens_max",
                w.integer_field(&s.rag_large_model_doc_tokens_max, 1, kMaxTokens)},
               {"small_model_doc_tokens_min",
                w.integer_field(&s.rag_small_model_doc_tokens_min, 1, kMaxTokens)},
               {"small_model_doc_tokens_max",
                w.integer_field(&s.rag_small_model_doc_tokens_max, 1, kMaxTokens)}});
        }},
       {"conversation",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(n, p,
                    {{"max_conversations", w.integer_field(&s.max_conversations, 1, kIntMax)},
                     {"max_turns_per_conv", w.integer_field(&s.max_turns_per_conv, 1, 1000000)},
                     {"end_conversation_probability", w.num(&s.end_conversation_probability, 0, 1)}});
        }},
       {"autoscaler",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(n, p,
                    {{"min_users", w.integer_field(&s.autoscaler_min_users, 1, kIntMax)},
                     {"max_users", w.integer_field(&s.autoscaler_max_users, 1, kIntMax)},
                     {"scale_up_factor", w.num(&s.autoscaler_scale_up_factor, 0, kBig, true)},
                     {"scale_down_factor", w.num(&s.autoscaler_scale_down_factor, 0, kBig, true)},
                     {"consecutive_samples_required",
                      w.integer_field(&s.autoscaler_consecutive_samples_required, 1, kIntMax)},
                     // ours: the monitor's sampling interval (reference: fixed 10 s)
                     {"sample_interval_s",
                      w.num(&s.autoscaler_sample_interval_s, 0, 86400, true)}});
        }},
       {"decode",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(n, p, {{"batch_size", w.integer_field(&s.decode_batch_size, 1, 1000000)}});
        }},
       {"sharegpt",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(n, p,
                    {{"max_context_tokens", w.integer_field(&s.sharegpt_max_context_tokens, 1, kIntMax)},
                     {"max_generation_tokens", w.integer_field(&s.sharegpt_max_generation_tokens, 1, kIntMax)},
                     {"chars_per_token_estimate", w.num(&s.sharegpt_chars_per_token_estimate, 0, kBig, true)}});
        }},
       {"saturation_detection",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(
              n, p,
              {{"read_latency_p95_threshold_ms", w.num(&s.saturation_read_latency_p95_threshold_ms, 0, kBig)},
               {"write_latency_p95_threshold_ms", w.num(&s.saturation_write_latency_p95_threshold_ms, 0, kBig)},
               {"queue_depth_threshold", w.integer_field(&s.saturation_queue_depth_threshold, 0, kIntMax)},
               {"history_window_size", w.integer_field(&s.saturation_history_window_size, 1, kIntMax)}});
        }},
       {"validation_limits",
        [&](const YAML::Node& n, const std::string& p) {
          w.section(n, p,
                    {{"max_users", w.integer_field(&s.vl_max_users, 0, INT64_MAX)},
                     {"max_duration_seconds", w.integer_field(&s.vl_max_duration_seconds, 0, INT64_MAX)},
                     {"max_gpu_memory_gb", w.integer_field(&s.vl_max_gpu_memory_gb, 0, INT64_MAX)},
                     {"max_cpu_memory_gb", w.integer_field(&s.vl_max_cpu_memory_gb, 0, INT64_MAX)}});
        }},
       {"model_configs", models}});

  if (w.errors.empty() && s.interactive_probability > s.responsive_threshold)
    w.error("qos_distribution.interactive_probability",
            fmt::format("must be <= responsive_threshold ({})", s.responsive_threshold));
  if (!w.errors.empty()) {
    std::string msg = w.errors.size() == 1 ? fmt::format("--config: {}", w.errors[0])
                                           : fmt::format("--config: {} errors in {}:", w.errors.size(), source);
    if (w.errors.size() > 1)
      for (const auto& e : w.errors) msg += "\n  " + e;
    throw Error(ExitCode::kInvalidArguments, msg, "see docs/engine.md for the schema");
  }
  s.keys_given = std::move(w.given);
  return s;
}

YamlSettings load_yaml_config(const std::string& path, const model::ModelTable& base) {
  const std::string text = kv::fs::read_file(path, "--config");
  return parse_yaml_config(text, path, base);
}

void apply_models(const YamlSettings& s, model::ModelTable& table) {
  for (const auto& m : s.models) table.upsert(m);
}

}  // namespace kv::engine
