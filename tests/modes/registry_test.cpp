// The workload-mode registry (engine/modes/registry.hpp) and the mode flag rules
// (engine/config/mode_rules.hpp): selection precedence, one entry per mode, refused combinations.
#include "engine/modes/registry.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace kv::engine;

namespace {

EngineConfig config() {
  EngineConfig c;
  c.num_users = 1;
  return c;
}

TEST(ModeRegistry, OneEntryPerModeWithDistinctNames) {
  std::set<Mode> modes;
  std::set<std::string> names;
  for (const modes::ModeEntry* e : modes::mode_registry()) {
    modes.insert(e->mode);
    names.insert(e->name);
    EXPECT_STREQ(modes::mode_name(e->mode), e->name);
  }
  EXPECT_EQ(modes.size(), 4u);
  EXPECT_EQ(names, (std::set<std::string>{"synthetic", "sharegpt", "burstgpt", "mooncake"}));
}

TEST(ModeRegistry, SelectionFollowsTheFlagsPrecedence) {
  EngineConfig c = config();
  EXPECT_EQ(modes::select_mode(c).mode, Mode::kSynthetic);
  c.use_burst_trace = true;
  EXPECT_EQ(modes::select_mode(c).mode, Mode::kBurstGpt);
  c.dataset_path = "d.json";  // wins over --use-burst-trace, with a warning
  EXPECT_EQ(modes::select_mode(c).mode, Mode::kShareGpt);
  EXPECT_EQ(check_mode_flags(c).warnings.size(), 1u);
  c.mooncake_trace = "m.jsonl";  // wins, but cannot be combined
  EXPECT_EQ(modes::select_mode(c).mode, Mode::kMooncake);
  ASSERT_FALSE(check_mode_flags(c).errors.empty());
  EXPECT_EQ(check_mode_flags(c).errors[0].rfind("--mooncake-trace:", 0), 0u);
}

TEST(ModeFlagRules, RefusedCombinationsNameTheirFlag) {
  EngineConfig c = config();
  EXPECT_TRUE(check_mode_flags(c).errors.empty());
  c.enable_autoscaling = true;
  c.use_burst_trace = true;
  ASSERT_EQ(check_mode_flags(c).errors.size(), 1u);
  EXPECT_NE(check_mode_flags(c).errors[0].find("--enable-autoscaling: "), std::string::npos);
  EXPECT_NE(check_mode_flags(c).errors[0].find("burstgpt"), std::string::npos);
  c = config();
  c.enable_rag = true;
  c.mooncake_trace = "m.jsonl";
  EXPECT_EQ(check_mode_flags(c).errors,
            std::vector<std::string>{"--enable-rag: cannot be combined with --mooncake-trace"});
  c = config();
  c.io_trace_real = true;
  EXPECT_EQ(check_mode_flags(c).errors,
            std::vector<std::string>{"--io-trace-real: needs --io-trace-log PATH"});
}

}  // namespace
