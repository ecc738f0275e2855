// `kvcache datasize`: sizes from the one model table and the user templates, with the rules shown.
#include "orchestrator/datasize.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/units.hpp"
#include "model/model.hpp"
#include "model/templates.hpp"
#include "orchestrator/cli_main.hpp"
#include "test_util.hpp"

using namespace kv::orchestrator;

namespace {
const kv::model::ModelConfig& model(const char* key) {
  static const auto table = kv::model::ModelTable::builtin();
  return *table.find(key);
}
}  // namespace

TEST(Datasize, Llama8bUsesTheRealGeometry) {
  auto e = estimate_datasize(model("llama3.1-8b"), 100, 16, 32);
  EXPECT_EQ(e.bytes_per_token, 131072u);  // 32 x 8 x 128 x 2 x 2, not the reference's 4096
  // Mean full-context length over the three templates: (2304 + 14548 + 10240) / 3 tokens.
  const double per_user = (2304.0 + 14548.0 + 10240.0) / 3.0 * 131072.0;
  EXPECT_NEAR(e.per_user_mean_bytes, per_user, 1.0);
  EXPECT_NEAR(e.total_bytes, per_user * 100, 100.0);
  EXPECT_EQ(e.per_user_max_bytes, 25000u * 131072u);
  EXPECT_EQ(e.object_max_bytes, 25000u * 131072u);
  EXPECT_EQ(e.object_min_bytes, 128u * 131072u);  // chatbot: 512/4 tokens
  const double total_gib = per_user * 100 / static_cast<double>(kv::kGiB);
  EXPECT_NEAR(e.gpu_recommended_gib, std::max(16.0, 0.2 * total_gib), 1e-9);
  EXPECT_NEAR(e.cpu_recommended_gib, std::max(32.0, 0.5 * total_gib), 1e-9);
  EXPECT_NEAR(e.storage_recommended_gib, 2 * total_gib, 1e-9);
  ASSERT_EQ(e.templates.size(), 3u);
  EXPECT_EQ(e.templates[1].name, "coding");
  EXPECT_NEAR(e.templates[1].mean_tokens, 5.0 / 8.0 * 14548.0, 1e-9);
}

TEST(Datasize, TierFlagsWinWhenLarger) {
  auto e = estimate_datasize(model("tiny-1b"), 1, 100, 200);
  EXPECT_DOUBLE_EQ(e.gpu_recommended_gib, 100);
  EXPECT_DOUBLE_EQ(e.cpu_recommended_gib, 200);
  EXPECT_EQ(e.bytes_per_token, 24576u);
}

TEST(Datasize, RenderShowsNumbersAndRules) {
  auto e = estimate_datasize(model("llama3.1-70b-instruct"), 70, 0, 0);
  std::string s = e.render();
  EXPECT_NE(s.find("Per-token cache: 327680 bytes"), std::string::npos) << s;
  EXPECT_NE(s.find("80 layers x 8 KV heads x 128 head dim"), std::string::npos) << s;
  EXPECT_NE(s.find("Total for 70 users"), std::string::npos);
  EXPECT_NE(s.find("rule: max(--gpu-mem-gb 0.0, 20% of total working set)"), std::string::npos)
      << s;
  EXPECT_NE(s.find("rule: 2x total working set"), std::string::npos);
  auto j = e.to_json();
  EXPECT_EQ(j["bytes_per_token"], 327680);
  EXPECT_EQ(j["templates"].size(), 3u);
}

TEST(Datasize, MlaFormula) {
  auto e = estimate_datasize(model("deepseek-v3"), 10, 0, 0);
  EXPECT_EQ(e.bytes_per_token, 70272u);
  EXPECT_NE(e.bpt_formula.find("(512 + 64)"), std::string::npos) << e.bpt_formula;
}

TEST(DatasizeCommand, PrintsAndCreatesNothingWithoutResultsDir) {
  orchtest::TempDir t;
  orchtest::ScopedEnv db("MLPSTORAGE_HISTORY_DB", (t.path / "h.db").string());
  orchtest::ScopedEnv tmp("TMPDIR", t.path.string());  // the default results dir lives here
  std::ostringstream out;
  Environment env;
  env.out = &out;
  EXPECT_EQ(run_cli({"mlpstorage", "kvcache", "datasize", "-m", "tiny-1b", "-nu", "4"}, env), 0);
  EXPECT_NE(out.str().find("KV Cache Size Estimates for tiny-1b"), std::string::npos) << out.str();
  EXPECT_FALSE(std::filesystem::exists(t.path / "mlperf_storage_results"));
}

TEST(DatasizeCommand, ExplicitResultsDirGetsMetadata) {
  orchtest::TempDir t;
  orchtest::ScopedEnv db("MLPSTORAGE_HISTORY_DB", (t.path / "h.db").string());
  std::ostringstream out;
  Environment env;
  env.out = &out;
  const auto rd = t.path / "res";
  EXPECT_EQ(run_cli({"mlpstorage", "kvcache", "datasize", "-rd", rd.string()}, env), 0);
  auto dir = rd / "kv_cache" / "llama3.1-8b" / "datasize";
  ASSERT_TRUE(std::filesystem::is_directory(dir));
  auto it = std::filesystem::directory_iterator(dir);
  ASSERT_NE(it, std::filesystem::directory_iterator());
  const auto run_dir = it->path();
  const auto md_path = run_dir / ("kv_cache_" + run_dir.filename().string() + "_metadata.json");
  auto md = nlohmann::json::parse(orchtest::slurp(md_path));
  EXPECT_EQ(md["command"], "datasize");
  EXPECT_EQ(md["datasize"]["bytes_per_token"], 131072);
  EXPECT_FALSE(md.contains("hosts"));
  // datasize has no --what-if (it only prints unless --results-dir is given): a usage error.
  const auto rd2 = t.path / "res2";
  EXPECT_EQ(run_cli({"mlpstorage", "kvcache", "datasize", "-rd", rd2.string(), "--what-if"}, env),
            2);
  EXPECT_FALSE(std::filesystem::exists(rd2));
}

TEST(Datasize, HumanBytes) {
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(16.0 * 1024 * 1024), "16.00 MiB");
  EXPECT_EQ(human_bytes(1.5 * 1024 * 1024 * 1024), "1.50 GiB");
}
