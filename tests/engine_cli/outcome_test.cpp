// The rule for a run that measured nothing (engine_cli/outcome.hpp, docs/safety.md): the cause
// named from the results JSON (every request failed, the window shorter than one request, nothing
// issued, issued but never started), nothing for a run that completed a request; mlpstorage's
// record of such a run becomes `failed` with exit 6 and the cause, unless it was interrupted, a
// rank failed, or the engine failed for another reason.
#include "engine_cli/outcome.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "orchestrator/metadata.hpp"

using kv::engine_cli::nothing_measured;
using Json = nlohmann::json;

namespace {

// A results JSON with the counts the rule reads.
Json results(std::uint64_t completed, std::uint64_t failed, std::uint64_t in_flight,
             std::uint64_t queued, std::uint64_t enqueued) {
  return Json{{"summary",
               {{"total_requests", completed},
                {"elapsed_time", 2.04},
                {"failed_requests", failed},
                {"interrupted_requests", in_flight},
                {"dropped_queued_requests", queued}}},
              {"workload",
               {{"requests_enqueued", enqueued},
                {"failure_examples", Json::array({"write k1: No space left on device"})}}}};
}

}  // namespace

TEST(NothingMeasured, ARunThatCompletedARequestOrHasNoSummaryIsNotConcerned) {
  EXPECT_FALSE(nothing_measured(results(1, 7, 3, 2, 13)));
  EXPECT_FALSE(nothing_measured(Json::object()));
  EXPECT_FALSE(nothing_measured(Json(nullptr)));
}

TEST(NothingMeasured, NamesTheLikelyCauseFirstFailuresThenTheWindowThenNothingIssued) {
  const auto all_failed = nothing_measured(results(0, 5, 3, 2, 10));
  ASSERT_TRUE(all_failed);
  EXPECT_EQ(*all_failed,
            "no request completed in the 2.0 s window: 5 requests failed and none completed "
            "(first: write k1: No space left on device)");
  const auto short_window = nothing_measured(results(0, 0, 3, 2, 5));
  ASSERT_TRUE(short_window);
  EXPECT_NE(short_window->find("the window is shorter than one request (3 in flight and 2 queued"),
            std::string::npos)
      << *short_window;
  const auto none_issued = nothing_measured(results(0, 0, 0, 0, 0));
  ASSERT_TRUE(none_issued);
  EXPECT_NE(none_issued->find(": no request was issued"), std::string::npos) << *none_issued;
  const auto never_started = nothing_measured(results(0, 0, 0, 4, 4));
  ASSERT_TRUE(never_started);
  EXPECT_NE(never_started->find("4 requests were issued but none started (4 queued"),
            std::string::npos)
      << *never_started;
  // The same text from the engine's ordered JSON.
  const auto ordered =
      nothing_measured(nlohmann::ordered_json::parse(results(0, 5, 3, 2, 10).dump()));
  EXPECT_EQ(ordered, all_failed);
}

TEST(NothingMeasuredRule, FailsASuccessOrAnExit6WithTheCauseAndLeavesOtherOutcomesAlone) {
  const Json none = results(0, 0, 3, 2, 5);
  std::string status = "success", error;
  int code = 0;
  ASSERT_TRUE(kv::orchestrator::apply_nothing_measured_rule(none, status, code, error));
  EXPECT_EQ(status, "failed");
  EXPECT_EQ(code, 6);
  EXPECT_EQ(error, *nothing_measured(none));

  status = "failed", code = 6, error = "engine exited with status 6";
  ASSERT_TRUE(kv::orchestrator::apply_nothing_measured_rule(none, status, code, error));
  EXPECT_EQ(error, *nothing_measured(none));

  struct Case {
    const char* status;
    int code;
    Json results;
  };
  Json partial = none;
  partial["partial_failure"] = true;
  for (const Case& c :
       {Case{"interrupted", 8, none}, Case{"failed", 2, none}, Case{"error", 3, none},
        Case{"failed", 6, partial}, Case{"success", 0, results(4, 0, 0, 0, 4)}}) {
    status = c.status, code = c.code, error = "before";
    EXPECT_FALSE(kv::orchestrator::apply_nothing_measured_rule(c.results, status, code, error))
        << c.status << " " << c.code;
    EXPECT_EQ(status, c.status);
    EXPECT_EQ(code, c.code);
    EXPECT_EQ(error, "before");
  }
}
