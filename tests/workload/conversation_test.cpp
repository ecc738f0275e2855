// ConversationManager (docs/reference-behaviour.md#conversations): counter-based IDs, turn keys,
// turn limit, LRU limit.
#include "engine/workload/conversation.hpp"

#include <gtest/gtest.h>

using kv::workload::ConversationManager;

TEST(Conversation, IdsAndTurnKeysAreDeterministicStrings) {
  EXPECT_EQ(ConversationManager::conversation_id("user_0003", 5), "conv_user_0003_5");
  EXPECT_EQ(ConversationManager::turn_key("conv_user_0003_5", 2), "conv_user_0003_5_turn_2");
  std::string s = "garbage";
  ConversationManager::turn_key(s, "c", 10);
  EXPECT_EQ(s, "c_turn_10");
}

TEST(Conversation, TurnsCountUpToTheLimit) {
  ConversationManager m(10, 3);
  m.start("a");
  EXPECT_EQ(m.add_turn("a", 100), 1u);
  EXPECT_EQ(m.add_turn("a", 100), 2u);
  EXPECT_EQ(m.add_turn("a", 100), 3u);
  EXPECT_FALSE(m.add_turn("a", 100).has_value());
  EXPECT_EQ(m.turns("a"), 3u);
  EXPECT_FALSE(m.add_turn("unknown", 1).has_value());
  m.end("a");
  EXPECT_FALSE(m.contains("a"));
}

TEST(Conversation, LeastRecentlyUsedIsEvictedAtTheLimit) {
  ConversationManager m(2, 50);
  m.start("a");
  m.start("b");
  m.add_turn("a", 1);  // a is now more recent than b
  m.start("c");        // evicts b
  EXPECT_TRUE(m.contains("a"));
  EXPECT_FALSE(m.contains("b"));
  EXPECT_TRUE(m.contains("c"));
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.evicted(), 1u);
  EXPECT_EQ(m.started(), 3u);
}
