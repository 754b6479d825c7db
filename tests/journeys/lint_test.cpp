// Static coverage gaps of a loaded journey.
#include "journeys/lint.hpp"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace journeys {
namespace {

// A check that only has a reason: lint looks at nothing else.
class FakeCheck : public Check {
 public:
  explicit FakeCheck(std::string reason) : reason_(std::move(reason)) {}
  std::string_view reason() const noexcept override { return reason_; }
  std::string describe() const override { return reason_; }
  Verdict evaluate(const Response&, const Scope&) const noexcept override {
    return Verdict::pass(reason_);
  }

 private:
  std::string reason_;
};

Step step(std::string name, std::vector<std::string> reasons,
          std::optional<double> latency_ms = std::nullopt) {
  Step s;
  s.name = std::move(name);
  s.pos = SourcePos{"j.toml", 7, 1};
  for (std::string& r : reasons)
    s.checks.push_back(std::make_shared<FakeCheck>(std::move(r)));
  s.latency_threshold_ms = latency_ms;
  return s;
}

Journey journey(std::vector<Step> steps, bool with_slo) {
  Journey j;
  j.name = "checkout";
  j.pos = SourcePos{"j.toml", 1, 8};
  j.steps = std::move(steps);
  if (with_slo) j.slo = Slo{};
  return j;
}

std::vector<std::string> messages(const std::vector<Gap>& gaps) {
  std::vector<std::string> out;
  for (const Gap& g : gaps)
    out.push_back(std::string(to_string(g.kind)) + ": " + g.message);
  return out;
}

TEST(Lint, WellCoveredJourneyHasNoGaps) {
  Journey j = journey({step("browse", {"status", "json"}, 500.0)}, true);
  EXPECT_TRUE(static_gaps(j).empty());
}

TEST(Lint, StatusOnlyStep) {
  std::vector<Gap> gaps = static_gaps(journey({step("browse", {"status", "status"}, 500.0)}, true));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].kind, Gap::Kind::status_only);
  EXPECT_EQ(gaps[0].journey, "checkout");
  EXPECT_EQ(gaps[0].step, "browse");
  EXPECT_EQ(gaps[0].pos.line, 7);
  EXPECT_EQ(gaps[0].message, "step 'browse' is checked only by its status code");
}

TEST(Lint, LatencyCheckIsNotOnlyStatus) {
  // Status plus a latency bound is more than "status only": the latency is observed.
  EXPECT_TRUE(static_gaps(journey({step("a", {"status", "latency"}, 300.0)}, true)).empty());
}

TEST(Lint, EveryKindOfGap) {
  Journey j =
      journey({step("browse", {"status"}), step("pay", {}), step("ok", {"body"}, 1.0)}, false);
  EXPECT_EQ(messages(static_gaps(j)), (std::vector<std::string>{
                                          "status_only: step 'browse' is checked only by its "
                                          "status code",
                                          "no_latency: step 'browse' has no latency threshold",
                                          "no_checks: step 'pay' has no checks",
                                          "no_latency: step 'pay' has no latency threshold",
                                          "no_slo: journey 'checkout' has no SLO",
                                      }));
}

TEST(Lint, JourneyGapHasNoStepAndPointsAtTheJourney) {
  std::vector<Gap> gaps = static_gaps(journey({step("a", {"json"}, 100.0)}, false));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].kind, Gap::Kind::no_slo);
  EXPECT_EQ(gaps[0].step, "");
  EXPECT_EQ(gaps[0].pos.line, 1);
  EXPECT_EQ(gaps[0].pos.column, 8);
}

TEST(Lint, KindNames) {
  EXPECT_EQ(to_string(Gap::Kind::status_only), "status_only");
  EXPECT_EQ(to_string(Gap::Kind::no_latency), "no_latency");
  EXPECT_EQ(to_string(Gap::Kind::no_checks), "no_checks");
  EXPECT_EQ(to_string(Gap::Kind::no_slo), "no_slo");
}

}  // namespace
}  // namespace journeys
