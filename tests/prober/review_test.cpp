// The SLO review on the report fixture store (tests/prober/report_fixture.hpp has every row):
// each number is computed by hand in the comment next to it, then checked in the model, the JSON
// and the text. Also the incidents file's diagnostics and the target arithmetic.
#include "prober/report/review.hpp"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/registry.hpp"
#include "journeys/loader.hpp"
#include "prober/report/report.hpp"
#include "tests/prober/report_fixture.hpp"
#include "tests/support/proc.hpp"

namespace prober::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fx = report_fixture;

constexpr double kEps = 1e-9;

journeys::JourneyPtr load(const char* text, const std::string& file) {
  journeys::LoadOptions options;
  options.checks = &checks::catalog();
  return std::make_shared<const journeys::Journey>(
      journeys::load_journey_string(text, file, options));
}

// Run k of checkout starts at kUntil - (11 - k) minutes (the fixture's table).
constexpr std::int64_t at(int k) {
  return fx::kUntil - (11 - k) * fx::kMinute;
}

class ReviewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = tmp_.path() + "/prober.db";
    fx::write_db(db_);
    options_.db_path = db_;
    options_.journeys = {load(fx::kCheckout, "checkout.toml"), load(fx::kLogin, "login.toml")};
    options_.incidents_file = "incidents.toml";
    options_.until_ms = fx::kUntil;
    // A: r4 (pay 503) and r5 (browse 700 ms), both bad. B: login's L2 only (no SLO).
    // C: r7 only, good.
    options_.incidents = {
        {"Payments failing", at(4), at(6), {}},
        {"Login errors", fx::kUntil - 90 * fx::kMinute, fx::kUntil - 30 * fx::kMinute, {}},
        {"Quiet blip", at(7), at(8), {}}};
  }

  testing_support::TempDir tmp_;
  std::string db_;
  ReviewOptions options_;
};

TEST_F(ReviewTest, IncidentImpactPerJourneyAndStep) {
  const Review r = build_review(options_);
  ASSERT_EQ(r.incidents.size(), 3u);

  // A, checkout: runs r4, r5: valid 2, bad 2. Burn = (2/2) / (1 - 0.90) = 10.
  // Budget burned = 2 / (0.10 x 9 valid runs over the 1d window) = 2.2222.
  const IncidentReview& a = r.incidents[0];
  EXPECT_TRUE(a.seen);
  ASSERT_EQ(a.journeys.size(), 2u);
  const JourneyImpact& c = a.journeys[0];
  EXPECT_EQ(c.name, "checkout");
  EXPECT_EQ(c.valid, 2u);
  EXPECT_EQ(c.bad, 2u);
  ASSERT_TRUE(c.target);
  EXPECT_DOUBLE_EQ(*c.target, 90);
  ASSERT_TRUE(c.burn_rate);
  EXPECT_NEAR(*c.burn_rate, 10.0, kEps);
  ASSERT_TRUE(c.budget_burned);
  EXPECT_NEAR(*c.budget_burned, 2.0 / 0.9, kEps);
  EXPECT_FALSE(c.latency_burn_rate);  // checkout's latency SLO is on a step
  EXPECT_TRUE(c.seen);
  ASSERT_EQ(c.steps.size(), 2u);
  // browse: r4 good 400 ms, r5 bad 700 ms: valid 2, bad 1, burn 0.5 / 0.1 = 5; budget burned
  // 1 / (0.1 x 9 valid browse events in the window) = 1.1111. Latency SLO (500 ms, 75 %):
  // 1 of 2 answers slow, burn 0.5 / 0.25 = 2.
  EXPECT_EQ(c.steps[0].name, "browse");
  EXPECT_EQ(c.steps[0].valid, 2u);
  EXPECT_EQ(c.steps[0].bad, 1u);
  EXPECT_NEAR(*c.steps[0].burn_rate, 5.0, kEps);
  EXPECT_NEAR(*c.steps[0].budget_burned, 1.0 / 0.9, kEps);
  ASSERT_TRUE(c.steps[0].latency_burn_rate);
  EXPECT_NEAR(*c.steps[0].latency_burn_rate, 2.0, kEps);
  // pay: r4 bad, r5 skipped: valid 1, bad 1, burn 10; budget burned 1 / (0.1 x 6 valid pay
  // events in the window: r1 r2 r3 r4 r7 r9) = 1.6667.
  EXPECT_EQ(c.steps[1].valid, 1u);
  EXPECT_EQ(c.steps[1].bad, 1u);
  EXPECT_NEAR(*c.steps[1].burn_rate, 10.0, kEps);
  EXPECT_NEAR(*c.steps[1].budget_burned, 1.0 / 0.6, kEps);
  EXPECT_FALSE(c.steps[1].latency_burn_rate);
  // login: no run in A, no SLO.
  EXPECT_EQ(a.journeys[1].name, "login");
  EXPECT_EQ(a.journeys[1].valid, 0u);
  EXPECT_FALSE(a.journeys[1].burn_rate);
  EXPECT_FALSE(a.journeys[1].seen);
}

TEST_F(ReviewTest, MissedIncidentsAreCoverageGaps) {
  const Review r = build_review(options_);
  // B: login's run L2 was bad, but login has no SLO: no burn rate, nobody saw it.
  const IncidentReview& b = r.incidents[1];
  EXPECT_FALSE(b.seen);
  EXPECT_EQ(b.journeys[0].valid, 0u);  // checkout did not run then
  EXPECT_EQ(b.journeys[1].valid, 1u);
  EXPECT_EQ(b.journeys[1].bad, 1u);
  EXPECT_FALSE(b.journeys[1].target);
  EXPECT_FALSE(b.journeys[1].max_burn());
  // C: r7 was good: burn 0 < 1.
  const IncidentReview& c = r.incidents[2];
  EXPECT_FALSE(c.seen);
  EXPECT_EQ(c.journeys[0].valid, 1u);
  EXPECT_NEAR(*c.journeys[0].burn_rate, 0.0, kEps);
  EXPECT_NEAR(*c.journeys[0].budget_burned, 0.0, kEps);
  EXPECT_EQ(r.missed, (std::vector<std::size_t>{1, 2}));
}

TEST_F(ReviewTest, TargetSuggestionFromTheWindow) {
  const Review r = build_review(options_);
  // Only checkout has an availability SLO. 1d window: 9 valid runs, 4 good: 44.44 %.
  ASSERT_EQ(r.targets.size(), 1u);
  const TargetSuggestion& s = r.targets[0];
  EXPECT_EQ(s.journey, "checkout");
  EXPECT_DOUBLE_EQ(s.current_target, 90);
  EXPECT_EQ(s.window_ms, fx::kDay);
  EXPECT_EQ(s.valid, 9u);
  EXPECT_EQ(s.good, 4u);
  EXPECT_NEAR(*s.achieved, 400.0 / 9, kEps);
  ASSERT_EQ(s.options.size(), 5u);
  // 99 %: 1 - 5 / (0.01 x 9) = -54.5556.
  EXPECT_FALSE(s.options[0].met);
  EXPECT_NEAR(s.options[0].budget_left, 1 - 5 / (0.01 * 9), 1e-6);
  EXPECT_EQ(suggestion_sentence(s),
            "achieved 44.44% over 1d; even 99% would have been missed (-5455.6% budget left)");
}

// The issue's example: 9993 good of 10000 is 99.93 %; 99.9 % allows 10 bad, 7 spent: 30 % left.
TEST(TargetOptions, IssueExample) {
  const std::vector<TargetOption> o = target_options(10000, 9993);
  ASSERT_EQ(o.size(), 5u);
  EXPECT_TRUE(o[0].met);  // 99 %: allows 100 bad, 7 spent
  EXPECT_NEAR(o[0].budget_left, 0.93, kEps);
  EXPECT_TRUE(o[1].met);  // 99.5 %: allows 50
  EXPECT_NEAR(o[1].budget_left, 1 - 7.0 / 50, 1e-6);
  EXPECT_TRUE(o[2].met);  // 99.9 %: allows 10
  EXPECT_NEAR(o[2].budget_left, 0.3, 1e-6);
  EXPECT_FALSE(o[3].met);  // 99.95 %: allows 5
  EXPECT_NEAR(o[3].budget_left, -0.4, 1e-6);
  EXPECT_FALSE(o[4].met);  // 99.99 %: allows 1
  EXPECT_NEAR(o[4].budget_left, -6.0, 1e-6);
  TargetSuggestion s;
  s.window_ms = 28 * fx::kDay;
  s.valid = 10000;
  s.good = 9993;
  s.achieved = 99.93;
  s.options = o;
  EXPECT_EQ(suggestion_sentence(s),
            "achieved 99.93% over 28d; 99.9% would have been met with 30.0% budget left");
  EXPECT_TRUE(target_options(0, 0).empty());
  // Exactly on the target is met, with (about) nothing left.
  const std::vector<TargetOption> edge = target_options(1000, 999);
  EXPECT_TRUE(edge[2].met);
  EXPECT_NEAR(edge[2].budget_left, 0.0, 1e-9);
}

TEST_F(ReviewTest, TextAndJson) {
  const Review r = build_review(options_);
  std::ostringstream text;
  render_review_text(text, r);
  const std::string t = text.str();
  EXPECT_THAT(t, HasSubstr("SLO review of " + db_ + ": 3 incidents from incidents.toml"));
  EXPECT_THAT(t, HasSubstr("incident 'Payments failing' 2027-01-15T07:53:00"));
  EXPECT_THAT(t, HasSubstr("(2m): seen\n"));
  EXPECT_THAT(t, HasSubstr("  journey checkout: 2 bad of 2 runs, burn 10.00x, budget burned "
                           "222.2% of 90%  <- saw it\n"));
  EXPECT_THAT(t, HasSubstr("    step browse: 1 bad of 2, burn 5.00x, budget burned 111.1%, "
                           "latency burn 2.00x\n"));
  EXPECT_THAT(t, HasSubstr("    step pay: 1 bad of 1, burn 10.00x, budget burned 166.7%\n"));
  EXPECT_THAT(t, HasSubstr("(1h): MISSED (coverage gap)\n"));
  EXPECT_THAT(t, HasSubstr("  journey login: 1 bad of 1 runs (no availability SLO)\n"));
  EXPECT_THAT(t, HasSubstr("incidents no SLI saw: 2\n"));
  EXPECT_THAT(t, HasSubstr("  - 'Login errors' at 2027-01-15T06:30:00"));
  EXPECT_THAT(t, HasSubstr(": no SLO measured it, 1 bad runs\n"));
  EXPECT_THAT(t, HasSubstr(": highest burn 0.00x (checkout), 0 bad runs\n"));
  EXPECT_THAT(t, HasSubstr("  checkout (SLO 90%): achieved 44.44% over 1d; even 99% would"));
  EXPECT_THAT(t, HasSubstr("  99.9% missed -55455.6%"));  // 1 - 5 / (0.001 x 9)

  const nlohmann::json j = review_to_json(r);
  EXPECT_EQ(j["schema"], 1);
  EXPECT_EQ(j["until_ms"], fx::kUntil);
  EXPECT_EQ(j["missed"], nlohmann::json({"Login errors", "Quiet blip"}));
  const auto& c = j["incidents"][0]["journeys"][0];
  EXPECT_EQ(c["name"], "checkout");
  EXPECT_NEAR(c["burn_rate"].get<double>(), 10.0, kEps);
  EXPECT_NEAR(c["steps"][1]["budget_burned"].get<double>(), 1.0 / 0.6, kEps);
  EXPECT_TRUE(j["incidents"][1]["journeys"][1]["burn_rate"].is_null());
  EXPECT_EQ(j["incidents"][0]["start_ms"], at(4));
  EXPECT_EQ(j["targets"][0]["valid"], 9);
  EXPECT_FALSE(j["targets"][0]["options"][0]["met"].get<bool>());
}

TEST_F(ReviewTest, SinceWidensTheBudgetWindow) {
  // --since 3d: checkout also counts the bad run at kUntil - 2d: 10 valid, 4 good, so A burns
  // 2 / (0.1 x 10) = 2.0 of the budget; the burn rate inside A does not change.
  options_.since_ms = 3 * fx::kDay;
  const Review r = build_review(options_);
  EXPECT_NEAR(*r.incidents[0].journeys[0].budget_burned, 2.0, kEps);
  EXPECT_NEAR(*r.incidents[0].journeys[0].burn_rate, 10.0, kEps);
  EXPECT_EQ(r.targets[0].valid, 10u);
  EXPECT_EQ(r.targets[0].window_ms, 3 * fx::kDay);
}

TEST_F(ReviewTest, MissingDatabaseNamesTheFile) {
  options_.db_path = tmp_.path() + "/nope.db";
  try {
    build_review(options_);
    FAIL() << "no DbError";
  } catch (const DbError& e) {
    EXPECT_THAT(e.what(), HasSubstr("nope.db"));
  }
}

TEST(Incidents, ParsesStringsAndTomlTimes) {
  const auto v = load_incidents_string(R"([[incident]]
title = "a"
start = "2027-01-15T07:00:00Z"
end = "2027-01-15T07:30:00.5Z"

[[incident]]
title = "b"
start = 2027-01-15T09:00:00+02:00
end = 2027-01-15T07:10:00Z
)",
                                       "incidents.toml");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].title, "a");
  EXPECT_EQ(v[0].start_ms, fx::kUntil - fx::kHour);
  EXPECT_EQ(v[0].end_ms, fx::kUntil - 30 * fx::kMinute + 500);
  EXPECT_EQ(v[0].pos.line, 1);
  EXPECT_EQ(v[1].start_ms, fx::kUntil - fx::kHour);  // 09:00+02:00 is 07:00Z
  EXPECT_EQ(v[1].end_ms, fx::kUntil - 50 * fx::kMinute);
}

std::string errors_of(const char* toml) {
  try {
    load_incidents_string(toml, "incidents.toml");
  } catch (const journeys::LoadError& e) {
    std::string out;
    for (const auto& d : e.diagnostics())
      out += d.str() + "\n";
    return out;
  }
  return "";
}

TEST(Incidents, LocatedErrors) {
  const std::string e = errors_of(R"([[incident]]
title = "x"
start = "2027-01-15T07:00:00Z"
end = "2027-01-15T06:00:00Z"
tittle = 1

[[incident]]
title = "y"
start = "yesterday"
end = 2027-01-15T07:00:00

[[incident]]
start = "2027-01-15T07:00:00Z"
end = "2027-01-15T08:00:00Z"
[incidnet]
)");
  EXPECT_THAT(e, HasSubstr("incidents.toml:4:7: incident 'x': 'end' must be after 'start'"));
  EXPECT_THAT(e, HasSubstr("incidents.toml:5:"));
  EXPECT_THAT(e, HasSubstr("incident 'x': unknown key 'tittle' (did you mean 'title'?)"));
  EXPECT_THAT(e, HasSubstr("incidents.toml:9:9: incident 'y': 'start' must be an RFC 3339 UTC "
                           "time like \"2027-01-15T08:00:00Z\", not 'yesterday'"));
  EXPECT_THAT(e, HasSubstr("incidents.toml:10:7: incident 'y': 'end' has no time zone"));
  EXPECT_THAT(e, HasSubstr("incidents.toml:12:1: incident: missing required key 'title'"));
  EXPECT_THAT(e, HasSubstr("unknown key 'incidnet' (did you mean 'incident'?)"));
  EXPECT_THAT(errors_of(""), HasSubstr("no incident in the file"));
  EXPECT_THAT(errors_of("[[incident]\n"), HasSubstr("incidents.toml:1:"));
  EXPECT_THAT(errors_of("incident = 3\n"), HasSubstr("an array of tables ([[incident]])"));
  EXPECT_EQ(errors_of("[[incident]]\ntitle = \"ok\"\nstart = \"2027-01-15T07:00:00Z\"\n"
                      "end = \"2027-01-15T07:00:01Z\"\n"),
            "");
}

TEST(Incidents, Rfc3339Utc) {
  EXPECT_EQ(parse_rfc3339_utc("2027-01-15T08:00:00Z"), fx::kUntil);
  EXPECT_EQ(parse_rfc3339_utc("2027-01-15T08:00:00.250Z"), fx::kUntil + 250);
  EXPECT_EQ(parse_rfc3339_utc("2027-01-15T08:00:00+00:00"), fx::kUntil);
  EXPECT_FALSE(parse_rfc3339_utc("2027-01-15T08:00:00"));
  EXPECT_FALSE(parse_rfc3339_utc("2027-01-15T08:00:00+01:00"));
  EXPECT_FALSE(parse_rfc3339_utc("2027-13-15T08:00:00Z"));
  EXPECT_FALSE(parse_rfc3339_utc("2027-01-15 08:00:00Z"));
}

}  // namespace
}  // namespace prober::report
