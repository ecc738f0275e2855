// What rank 0's roster makes of the messages it received: who shares a filesystem, each rank's
// status and reason in the outcomes the merge takes, messages from impossible sources ignored.
#include "engine/mpi/roster.hpp"

#include <gtest/gtest.h>

using namespace kv::engine;
using namespace kv::engine::mpi;

namespace {

Sender sender(int r, const std::string& host) {
  return Sender{.rank = r, .host = host, .pid = 100 + r};
}

}  // namespace

TEST(MpiRoster, SharersCountRanksOnTheSameHostAndFilesystem) {
  Roster ro(4, sender(0, "a"));
  ro[0].hello_msg = Hello{.from = sender(0, "a"), .fs = "1"};
  EXPECT_TRUE(ro.absorb(1, Hello{.from = sender(1, "a"), .fs = "1"}));
  EXPECT_TRUE(ro.absorb(2, Hello{.from = sender(2, "a"), .fs = "2"}));
  EXPECT_TRUE(ro.absorb(3, Hello{.from = sender(3, "b"), .fs = "1"}));
  EXPECT_EQ(ro.sharers(0), 2u);
  EXPECT_EQ(ro.sharers(1), 2u);
  EXPECT_EQ(ro.sharers(2), 1u);
  EXPECT_EQ(ro.sharers(3), 1u);  // same fs id, other host
  EXPECT_EQ(ro[1].out.host, "a");
  EXPECT_EQ(ro[1].out.pid, 101);
}

TEST(MpiRoster, IgnoresImpossibleSourcesAndRankZerosOwnMessages) {
  Roster ro(2, sender(0, "a"));
  EXPECT_FALSE(ro.absorb(0, Ready{.from = sender(0, "a")}));
  EXPECT_FALSE(ro.absorb(2, Ready{.from = sender(2, "a")}));
  EXPECT_FALSE(ro.absorb(-1, Ready{}));
  EXPECT_FALSE(ro.absorb(1, Go{.ok = true}));
  EXPECT_FALSE(ro.absorb(1, Plan{}));
  EXPECT_FALSE(ro.absorb(1, Done{}));
  EXPECT_FALSE(ro[1].ready);
  EXPECT_TRUE(ro.absorb(1, Ready{.from = sender(1, "a")}));
  EXPECT_TRUE(ro[1].ready);
}

TEST(MpiRoster, OutcomesGiveEachRankItsStatusAndReason) {
  Roster ro(5, sender(0, "a"));
  ro[0].final = true;
  ro[0].out.results = ojson{{"requests_completed", 10}};
  ro.absorb(1, Hello{.from = sender(1, "b")});
  ro.absorb(1, Result{.from = sender(1, "b"), .exit_code = 8, .results = ojson::object()});
  ro.absorb(2, Result{.from = sender(2, "c"),
                      .exit_code = 6,
                      .results = ojson{{"requests_completed", 0},
                                       {"summary", {{"failed_requests", 27}}},
                                       {"workload", {{"failure_examples", {"write x: ENOSPC"}}}}}});
  ro.absorb(3, Failed{.from = sender(3, "d"), .reason = "run cancelled", .cancelled = true});
  ro.absorb(4, Hello{.from = sender(4, "e")});
  ro.absorb(4, Ready{.from = sender(4, "e")});
  ro.absorb(4, Heartbeat{.from = sender(4, "e"), .t = 4.2, .completed = 31});
  EXPECT_FALSE(ro.all_peers([](const Roster::Peer& p) { return p.final; }));

  const auto v = ro.outcomes({.stopped = false, .rank_timeout = 30});
  ASSERT_EQ(v.size(), 5u);
  for (int r = 0; r < 5; ++r) EXPECT_EQ(v[static_cast<std::size_t>(r)].rank, r);
  EXPECT_EQ(v[0].status, RankStatus::kOk);
  EXPECT_EQ(v[1].status, RankStatus::kOk);  // 8 = interrupted with the job: its data counts
  EXPECT_EQ(v[2].status, RankStatus::kFailed);
  EXPECT_EQ(v[2].reason, "exit code 6: no request completed, 27 failed (first: write x: ENOSPC)");
  EXPECT_EQ(v[3].status, RankStatus::kCancelled);
  EXPECT_EQ(v[3].host, "d");
  EXPECT_EQ(v[4].status, RankStatus::kFailed);
  EXPECT_EQ(v[4].exit_code, -1);
  EXPECT_NE(v[4].reason.find("no result within --rank-timeout 30 s (last heartbeat 4.2 s into "
                             "the window, 31 requests completed"),
            std::string::npos)
      << v[4].reason;
  EXPECT_EQ(v[4].last_heartbeat["completed"], 31);

  const auto stopped = ro.outcomes({.stopped = true, .rank_timeout = 30});
  EXPECT_EQ(stopped[4].reason.rfind("no result before the job was stopped", 0), 0u);
  const auto early = ro.outcomes({.stopped = true, .rank_timeout = 30, .provisional = true});
  EXPECT_EQ(early[4].reason, "no result received yet when the job was stopped");
}

TEST(MpiRoster, MissingReasonSaysHowFarTheRankGot) {
  Roster ro(4, sender(0, "a"));
  ro.absorb(2, Hello{.from = sender(2, "a")});
  ro.absorb(3, Hello{.from = sender(3, "a")});
  ro.absorb(3, Ready{.from = sender(3, "a")});
  const auto v = ro.outcomes({.rank_timeout = 5});
  EXPECT_NE(v[1].reason.find("(it never reported at start-up)"), std::string::npos);
  EXPECT_NE(v[2].reason.find("(it started; never reported ready)"), std::string::npos);
  EXPECT_NE(v[3].reason.find("(it was ready; no heartbeat received)"), std::string::npos);
}
