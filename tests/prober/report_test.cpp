// The SLO report on a fixture store (tests/prober/report_fixture.hpp has every row): each
// number below is computed by hand in the comment next to it, then checked in the model, the
// JSON and the text.
#include "prober/report/report.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/registry.hpp"
#include "journeys/loader.hpp"
#include "prober/report/render.hpp"
#include "prober/sinks/sqlite_store.hpp"
#include "tests/prober/report_fixture.hpp"

namespace prober::report {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;
namespace fx = report_fixture;

constexpr double kEps = 1e-9;

class TempDir {
 public:
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("prober-report-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

journeys::JourneyPtr load(const char* text, const std::string& file) {
  journeys::LoadOptions options;
  options.checks = &checks::catalog();
  return std::make_shared<const journeys::Journey>(
      journeys::load_journey_string(text, file, options));
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.file("data/prober.db");
    // The real store creates the file and its schema; the fixture adds its rows.
    { sinks::SqliteStore store(db_, std::chrono::hours(24 * 365 * 100)); }
    fx::write_db(db_);
    catalog_ = journeys::load_catalog_string(fx::kCujs, "cujs.toml");
    // Given in the "wrong" order: the report orders by CUJ rank.
    journeys_ = {load(fx::kLogin, "login.toml"), load(fx::kCheckout, "checkout.toml")};
  }

  Report build(std::optional<std::int64_t> since = std::nullopt, bool with_catalog = true) {
    ReportOptions o;
    o.db_path = db_;
    o.journeys = journeys_;
    o.catalog = with_catalog ? &catalog_ : nullptr;
    o.since_ms = since;
    o.until_ms = fx::kUntil;
    return build_report(o);
  }

  TempDir dir_;
  std::string db_;
  journeys::Catalog catalog_;
  std::vector<journeys::JourneyPtr> journeys_;
};

// Spaces collapsed, so that table rows compare regardless of column widths.
std::string squeeze(const std::string& s) {
  return std::regex_replace(s, std::regex(" +"), " ");
}

TEST(Percentile, NearestRank) {
  std::vector<double> v{100, 150, 200, 250, 300, 400, 700};
  EXPECT_EQ(percentile(v, 50), 250);  // ceil(3.5) = 4th
  EXPECT_EQ(percentile(v, 90), 700);  // ceil(6.3) = 7th
  EXPECT_EQ(percentile(v, 99), 700);
  std::vector<double> ten{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(percentile(ten, 90), 9);  // exactly the 9th: 90 % of 10
  EXPECT_EQ(percentile(ten, 50), 5);
  EXPECT_EQ(percentile(ten, 99), 10);  // ceil(9.9) = 10th
  EXPECT_FALSE(percentile({}, 50));
}

TEST(Objective, BudgetAndBurn) {
  // 99.9 % over 10000 events, 5 bad: allowed 10 bad, 5 left = 50 %; burn 0.0005 / 0.001 = 0.5.
  Objective o = make_objective("availability", 99.9, 10000, 9995);
  EXPECT_NEAR(*o.sli, 99.95, kEps);
  EXPECT_NEAR(*o.budget_remaining, 0.5, 1e-6);
  EXPECT_NEAR(*o.burn_rate, 0.5, 1e-6);
  EXPECT_TRUE(o.met());
  Objective none = make_objective("availability", 99.9, 0, 0);
  EXPECT_FALSE(none.sli);
  EXPECT_FALSE(none.budget_remaining);
  EXPECT_FALSE(none.burn_rate);
  EXPECT_FALSE(none.met());
}

TEST_F(ReportTest, OrderAndCatalog) {
  Report r = build();
  ASSERT_EQ(r.journeys.size(), 2u);
  EXPECT_EQ(r.journeys[0].name, "checkout");  // purchase, rank 1
  EXPECT_EQ(r.journeys[1].name, "login");     // account, rank 2
  EXPECT_EQ(r.journeys[0].cuj_rank, 1);
  EXPECT_EQ(r.journeys[0].cuj_owner, "checkout-team");
  ASSERT_EQ(r.cujs.size(), 3u);
  EXPECT_EQ(r.cujs[0].name, "purchase");
  EXPECT_THAT(r.cujs[0].journeys, ElementsAre("checkout"));
  EXPECT_EQ(r.cujs[2].name, "returns");
  EXPECT_TRUE(r.cujs[2].journeys.empty());
  // Without a catalog: no ranks, so by name (checkout < login) still, and no CUJ gap.
  Report plain = build(std::nullopt, false);
  EXPECT_FALSE(plain.journeys[0].cuj_rank);
  EXPECT_TRUE(plain.cujs.empty());
  for (const Gap& g : plain.gaps)
    EXPECT_NE(g.kind, "cuj_no_journey");
}

TEST_F(ReportTest, CheckoutRunsAndLocations) {
  const JourneyReport j = build().journeys[0];
  // SLO window 1d.
  EXPECT_EQ(j.window_ms, fx::kDay);
  EXPECT_EQ(j.since_ms, fx::kUntil - fx::kDay);
  // Runs in [until - 1d, until): r1..r10. Valid 9 (r6 invalid), good 4 (r1 r2 r3 r7), bad 5.
  EXPECT_EQ(j.runs.valid(), 9u);
  EXPECT_EQ(j.runs.good, 4u);
  EXPECT_EQ(j.runs.bad, 5u);
  EXPECT_EQ(j.runs.invalid, 1u);
  ASSERT_TRUE(j.availability);
  const Objective& a = *j.availability;
  EXPECT_EQ(a.target, 90);
  EXPECT_NEAR(*a.sli, 100.0 * 4 / 9, kEps);             // 44.44 %
  EXPECT_NEAR(*a.burn_rate, (5.0 / 9) / 0.1, 1e-9);     // 5.5556
  EXPECT_NEAR(*a.budget_remaining, 1 - 5 / 0.9, 1e-9);  // allowed 0.9 bad, 5 bad: -4.5556
  EXPECT_FALSE(a.met());
  ASSERT_EQ(j.locations.size(), 2u);
  // edge-a: r1..r5 valid, 3 good, r6 invalid. burn (2/5)/0.1 = 4, budget 1 - 2/0.5 = -3.
  EXPECT_EQ(j.locations[0].location, "edge-a");
  EXPECT_EQ(j.locations[0].runs.valid(), 5u);
  EXPECT_EQ(j.locations[0].runs.good, 3u);
  EXPECT_EQ(j.locations[0].runs.invalid, 1u);
  EXPECT_NEAR(*j.locations[0].availability->sli, 60, kEps);
  EXPECT_NEAR(*j.locations[0].availability->burn_rate, 4, 1e-9);
  EXPECT_NEAR(*j.locations[0].availability->budget_remaining, -3, 1e-9);
  // edge-b: r7..r10, 1 good. SLI 25 %, burn (3/4)/0.1 = 7.5, budget 1 - 3/0.4 = -6.5.
  EXPECT_EQ(j.locations[1].location, "edge-b");
  EXPECT_EQ(j.locations[1].runs.valid(), 4u);
  EXPECT_NEAR(*j.locations[1].availability->sli, 25, kEps);
  EXPECT_NEAR(*j.locations[1].availability->burn_rate, 7.5, 1e-9);
  EXPECT_NEAR(*j.locations[1].availability->budget_remaining, -6.5, 1e-9);
}

TEST_F(ReportTest, CheckoutSteps) {
  const JourneyReport j = build().journeys[0];
  ASSERT_EQ(j.steps.size(), 2u);
  const StepReport& browse = j.steps[0];
  // browse in valid runs: good r1 r2 r3 r4 r7 r9, bad r5 r8 r10; r6's event is invalid.
  EXPECT_EQ(browse.counts.valid(), 9u);
  EXPECT_EQ(browse.counts.good, 6u);
  EXPECT_EQ(browse.counts.invalid, 1u);
  EXPECT_EQ(browse.counts.skipped, 0u);
  // Availability: the journey's 90 %: SLI 66.67 %, burn (3/9)/0.1 = 3.3333, budget 1 - 3/0.9.
  EXPECT_NEAR(*browse.availability->sli, 100.0 * 6 / 9, kEps);
  EXPECT_NEAR(*browse.availability->burn_rate, (3.0 / 9) / 0.1, 1e-9);
  EXPECT_NEAR(*browse.availability->budget_remaining, 1 - 3 / 0.9, 1e-9);
  // Answered valid events (r8, r10 got no answer): 100 150 200 250 300 400 700.
  // p50 = 4th of 7 = 250, p90 = ceil(6.3) = 7th = 700, p99 = 700; over 500 ms: one (700).
  EXPECT_EQ(browse.latency.count, 7u);
  EXPECT_EQ(browse.latency.p50, 250);
  EXPECT_EQ(browse.latency.p90, 700);
  EXPECT_EQ(browse.latency.p99, 700);
  EXPECT_EQ(browse.latency.max, 700);
  EXPECT_EQ(browse.latency.threshold_ms, 500);
  EXPECT_EQ(browse.latency.over_threshold, 1u);
  // Latency SLO <= 500 ms, 75 %: valid = 7 answered + 1 timeout (r8) = 8 (the refused r10 says
  // nothing about latency); good = 6 answered within 500 ms. SLI 75 %, allowed 0.25 * 8 = 2 bad,
  // 2 bad: budget 0, burn (2/8)/0.25 = 1.
  ASSERT_TRUE(browse.latency_slo);
  EXPECT_EQ(browse.latency_slo->valid, 8u);
  EXPECT_EQ(browse.latency_slo->good, 6u);
  EXPECT_NEAR(*browse.latency_slo->sli, 75, kEps);
  EXPECT_NEAR(*browse.latency_slo->budget_remaining, 0, 1e-12);
  EXPECT_NEAR(*browse.latency_slo->burn_rate, 1, 1e-12);
  EXPECT_TRUE(browse.latency_slo->met());
  // Per location. edge-a: valid 5 (r1..r5), good 4; latencies 100 200 300 400 700:
  // p50 = 3rd = 300, p90 = ceil(4.5) = 5th = 700. edge-b: valid 4, good 2; 150 250.
  ASSERT_EQ(browse.locations.size(), 2u);
  EXPECT_EQ(browse.locations[0].location, "edge-a");
  EXPECT_EQ(browse.locations[0].counts.valid(), 5u);
  EXPECT_EQ(browse.locations[0].counts.good, 4u);
  EXPECT_EQ(browse.locations[0].latency.p50, 300);
  EXPECT_EQ(browse.locations[0].latency.p90, 700);
  EXPECT_EQ(browse.locations[1].counts.valid(), 4u);
  EXPECT_EQ(browse.locations[1].counts.good, 2u);
  EXPECT_EQ(browse.locations[1].latency.p50, 150);
  EXPECT_EQ(browse.locations[1].latency.p90, 250);
  // edge-b latency SLO: 2 answered + 1 timeout = 3 valid, 2 good.
  EXPECT_EQ(browse.locations[1].latency_slo->valid, 3u);
  EXPECT_EQ(browse.locations[1].latency_slo->good, 2u);

  const StepReport& pay = j.steps[1];
  // pay: good r1 r2 r3 r7, bad r4 r9, skipped r5 r8 r10, invalid r6.
  EXPECT_EQ(pay.counts.valid(), 6u);
  EXPECT_EQ(pay.counts.good, 4u);
  EXPECT_EQ(pay.counts.skipped, 3u);
  EXPECT_EQ(pay.counts.invalid, 1u);
  EXPECT_NEAR(*pay.availability->burn_rate, (2.0 / 6) / 0.1, 1e-9);  // 3.3333
  // 50 80 100 200 250 300: p50 = 3rd = 100, p90 = ceil(5.4) = 6th = 300. No threshold.
  EXPECT_EQ(pay.latency.p50, 100);
  EXPECT_EQ(pay.latency.p90, 300);
  EXPECT_EQ(pay.latency.p99, 300);
  EXPECT_FALSE(pay.latency.threshold_ms);
  EXPECT_FALSE(pay.latency_slo);
}

TEST_F(ReportTest, FunnelAndTopReasons) {
  const JourneyReport j = build().journeys[0];
  // Of 9 valid runs, 9 reached browse and 6 passed; 6 reached pay and 4 passed.
  ASSERT_EQ(j.funnel.size(), 2u);
  EXPECT_EQ(j.funnel[0].step, "browse");
  EXPECT_EQ(j.funnel[0].reached, 9u);
  EXPECT_EQ(j.funnel[0].passed, 6u);
  EXPECT_EQ(j.funnel[1].step, "pay");
  EXPECT_EQ(j.funnel[1].reached, 6u);
  EXPECT_EQ(j.funnel[1].passed, 4u);
  // pay/status twice (r4, r9: r9 is later, so its message), then the single ones in step order
  // and by reason name. The bad run at until - 2d is outside the window.
  ASSERT_EQ(j.top_reasons.size(), 4u);
  EXPECT_EQ(j.top_reasons[0].step, "pay");
  EXPECT_EQ(j.top_reasons[0].reason, "status");
  EXPECT_EQ(j.top_reasons[0].count, 2u);
  EXPECT_EQ(j.top_reasons[0].example, "expected status 200, got 500");
  EXPECT_EQ(j.top_reasons[0].example_location, "edge-b");
  EXPECT_EQ(j.top_reasons[0].example_at_ms, fx::kUntil - 2 * fx::kMinute);
  std::vector<std::string> rest;
  for (std::size_t i = 1; i < j.top_reasons.size(); ++i)
    rest.push_back(j.top_reasons[i].step + "/" + j.top_reasons[i].reason + "/" +
                   std::to_string(j.top_reasons[i].count));
  EXPECT_THAT(rest, ElementsAre("browse/connect/1", "browse/latency/1", "browse/timeout/1"));
}

TEST_F(ReportTest, LoginWithoutSloUses28Days) {
  const JourneyReport j = build().journeys[1];
  EXPECT_EQ(j.window_ms, 28 * fx::kDay);
  EXPECT_FALSE(j.availability);
  // L1 (3 d ago) and L2 (1 h ago), both bad at account.
  EXPECT_EQ(j.runs.valid(), 2u);
  EXPECT_EQ(j.runs.good, 0u);
  EXPECT_NEAR(*j.runs.sli(), 0, kEps);
  EXPECT_EQ(j.steps[1].counts.bad, 2u);
  EXPECT_EQ(j.steps[2].counts.skipped, 2u);
  EXPECT_EQ(j.steps[2].counts.valid(), 0u);
}

std::vector<std::string> gap_lines(const Report& r) {
  std::vector<std::string> out;
  for (const Gap& g : r.gaps)
    out.push_back(g.kind + " " + g.journey + "/" + g.step + "/" + g.location + "/" + g.cuj);
  return out;
}

TEST_F(ReportTest, Gaps) {
  Report r = build();
  EXPECT_THAT(
      gap_lines(r),
      ElementsAre("cuj_no_journey ///returns",
                  // checkout: pay is checked by status alone and has no latency bound; the catalog
                  // wants purchase from edge-a, edge-b and edge-c, and edge-c never ran it.
                  "status_only checkout/pay//purchase", "no_latency checkout/pay//purchase",
                  "location_never_ran checkout//edge-c/purchase",
                  // login: account never passed, logout never reached (and has no latency bound);
                  // no expected locations anywhere, so every location the store saw in its 28 d
                  // window (edge-a, edge-b, edge-d) should have run it.
                  "step_never_passed login/account//account",
                  "step_never_reached login/logout//account", "no_latency login/logout//account",
                  "location_never_ran login//edge-b/account",
                  "location_never_ran login//edge-d/account", "no_slo login///account"));
  EXPECT_EQ(r.gaps[0].message, "CUJ 'returns' (rank 3) has no journey");
  EXPECT_EQ(r.gaps[0].pos.file, "cujs.toml");
  EXPECT_EQ(r.gaps[0].pos.line, 14);
  EXPECT_EQ(r.gaps[1].pos.file, "checkout.toml");
  EXPECT_EQ(r.gaps[1].pos.line, 7);
  EXPECT_EQ(r.gaps[3].message, "location 'edge-c' never ran journey 'checkout' in the window");
  EXPECT_EQ(r.gaps[4].message, "step 'account' never passed in the window (2 bad events)");
  EXPECT_EQ(r.gaps[5].message, "step 'logout' was never reached in the window (2 runs skipped it)");
}

TEST_F(ReportTest, SinceOverridesTheWindow) {
  // --since 4m: [until - 4m, until) holds r7..r10 (edge-b): 4 valid, 1 good.
  Report r = build(4 * fx::kMinute);
  const JourneyReport& j = r.journeys[0];
  EXPECT_EQ(j.window_ms, 4 * fx::kMinute);
  EXPECT_EQ(j.runs.valid(), 4u);
  EXPECT_EQ(j.runs.good, 1u);
  // login's runs are both older: it never ran, so its steps are not "never reached" one by one.
  const JourneyReport& login = r.journeys[1];
  EXPECT_EQ(login.runs.valid(), 0u);
  std::vector<std::string> kinds;
  for (const Gap& g : r.gaps)
    if (g.journey == "login") kinds.push_back(g.kind + "/" + g.location);
  // Seen in the last 4 minutes: edge-b only.
  EXPECT_THAT(kinds, ElementsAre("journey_never_ran/", "no_latency/", "location_never_ran/edge-b",
                                 "no_slo/"));
}

TEST_F(ReportTest, TimeBuckets) {
  // SLO window 1d in 48 buckets of 30 min: every checkout run in the window (until - 10 min ..
  // until - 1 min) falls in the last one: 4 good, 5 bad, 1 invalid (r6).
  const JourneyReport j = build().journeys[0];
  EXPECT_EQ(j.bucket_ms, 30 * fx::kMinute);
  ASSERT_EQ(j.buckets.size(), kBuckets);
  EXPECT_EQ(j.buckets[0].start_ms, fx::kUntil - fx::kDay);
  EXPECT_EQ(j.buckets[47].start_ms, fx::kUntil - 30 * fx::kMinute);
  for (std::size_t b = 0; b < 47; ++b) {
    EXPECT_EQ(j.buckets[b].runs.valid() + j.buckets[b].runs.invalid, 0u) << b;
    EXPECT_FALSE(j.buckets[b].budget_remaining) << b;
  }
  EXPECT_EQ(j.buckets[47].runs.good, 4u);
  EXPECT_EQ(j.buckets[47].runs.bad, 5u);
  EXPECT_EQ(j.buckets[47].runs.invalid, 1u);
  // 90 % over 9 valid runs allows 0.9 bad; 5 bad: 1 - 5 / 0.9.
  EXPECT_NEAR(*j.buckets[47].budget_remaining, 1 - 5 / 0.9, 1e-9);
  ASSERT_EQ(j.series.size(), 2u);
  EXPECT_EQ(j.series[0].location, "edge-a");  // r1..r6: 3 good, 2 bad, 1 invalid
  EXPECT_EQ(j.series[0].buckets[47].runs.good, 3u);
  EXPECT_EQ(j.series[0].buckets[47].runs.bad, 2u);
  EXPECT_EQ(j.series[0].buckets[47].runs.invalid, 1u);
  EXPECT_EQ(j.series[1].location, "edge-b");  // r7..r10: 1 good, 3 bad
  EXPECT_EQ(j.series[1].buckets[47].runs.good, 1u);
  EXPECT_EQ(j.series[1].buckets[47].runs.bad, 3u);
  EXPECT_FALSE(j.series[1].buckets[47].budget_remaining);  // only the all-locations series

  // --since 12m: buckets of 15 s; run k starts (k + 1) min after since: bucket 4 (k + 1).
  Report r = build(12 * fx::kMinute);
  const JourneyReport& c = r.journeys[0];
  EXPECT_EQ(c.bucket_ms, 15'000);
  for (int k = 1; k <= 10; ++k) {
    const Bucket& b = c.buckets[static_cast<std::size_t>(4 * (k + 1))];
    EXPECT_EQ(b.runs.good + b.runs.bad + b.runs.invalid, 1u) << "run " << k;
  }
  EXPECT_EQ(c.buckets[8].runs.good, 1u);    // r1
  EXPECT_EQ(c.buckets[20].runs.bad, 1u);    // r4
  EXPECT_EQ(c.buckets[28].runs.invalid, 1u);  // r6
  EXPECT_EQ(c.series[1].buckets[44].runs.bad, 1u);  // r10, edge-b
  EXPECT_EQ(c.series[0].buckets[44].runs.valid(), 0u);
  // Cumulative budget: none before r1; r1..r3 good: 100 %; with r4 (3 good of 4): 1 - 1 / 0.4;
  // with r5 and the invalid r6 (3 of 5): 1 - 2 / 0.5; at the end 1 - 5 / 0.9.
  EXPECT_FALSE(c.buckets[7].budget_remaining);
  EXPECT_NEAR(*c.buckets[8].budget_remaining, 1, 1e-9);
  EXPECT_NEAR(*c.buckets[19].budget_remaining, 1, 1e-9);
  EXPECT_NEAR(*c.buckets[20].budget_remaining, 1 - 1 / 0.4, 1e-9);
  EXPECT_NEAR(*c.buckets[28].budget_remaining, 1 - 2 / 0.5, 1e-9);
  EXPECT_NEAR(*c.buckets[47].budget_remaining, 1 - 5 / 0.9, 1e-9);
  // login never ran in the last 12 minutes and has no SLO.
  EXPECT_TRUE(r.journeys[1].series.empty());
  for (const Bucket& b : r.journeys[1].buckets)
    EXPECT_FALSE(b.budget_remaining);
}

TEST_F(ReportTest, Json) {
  json doc = to_json(build());
  EXPECT_EQ(doc["schema"], 1);
  EXPECT_EQ(doc["until"], "2027-01-15T08:00:00.000Z");
  EXPECT_TRUE(doc["since_window"].is_null());
  EXPECT_EQ(doc["catalog"], "cujs.toml");
  const json& c = doc["journeys"][0];
  EXPECT_EQ(c["name"], "checkout");
  EXPECT_EQ(c["cuj"], "purchase");
  EXPECT_EQ(c["cuj_rank"], 1);
  EXPECT_EQ(c["window"]["length"], "1d");
  EXPECT_EQ(c["window"]["since"], "2027-01-14T08:00:00.000Z");
  EXPECT_EQ(c["runs"]["valid"], 9);
  EXPECT_EQ(c["runs"]["good"], 4);
  EXPECT_EQ(c["runs"]["invalid"], 1);
  EXPECT_NEAR(c["availability"]["sli"].get<double>(), 100.0 * 4 / 9, kEps);
  EXPECT_NEAR(c["availability"]["burn_rate"].get<double>(), (5.0 / 9) / 0.1, 1e-9);
  EXPECT_NEAR(c["availability"]["budget_remaining"].get<double>(), 1 - 5 / 0.9, 1e-9);
  EXPECT_EQ(c["availability"]["met"], false);
  EXPECT_TRUE(c["latency_slo"].is_null());
  const json& browse = c["steps"][0];
  EXPECT_EQ(browse["name"], "browse");
  EXPECT_EQ(browse["events"]["valid"], 9);
  EXPECT_EQ(browse["latency"]["p50_ms"], 250.0);
  EXPECT_EQ(browse["latency"]["p90_ms"], 700.0);
  EXPECT_EQ(browse["latency"]["threshold_ms"], 500.0);
  EXPECT_EQ(browse["latency"]["over_threshold"], 1);
  EXPECT_EQ(browse["latency_slo"]["valid"], 8);
  EXPECT_NEAR(browse["latency_slo"]["budget_remaining"].get<double>(), 0, 1e-12);
  EXPECT_EQ(browse["locations"][1]["location"], "edge-b");
  EXPECT_EQ(browse["locations"][1]["latency"]["p50_ms"], 150.0);
  EXPECT_TRUE(c["steps"][1]["latency"]["threshold_ms"].is_null());
  EXPECT_EQ(c["funnel"][1], (json{{"step", "pay"}, {"reached", 6}, {"passed", 4}}));
  EXPECT_EQ(c["top_reasons"][0]["example"], "expected status 200, got 500");
  EXPECT_EQ(c["top_reasons"][0]["example_at"], "2027-01-15T07:58:00.000Z");
  const json& login = doc["journeys"][1];
  EXPECT_TRUE(login["availability"].is_null());
  EXPECT_EQ(login["window"]["length"], "28d");
  ASSERT_EQ(doc["gaps"].size(), 10u);
  EXPECT_EQ(doc["gaps"][0]["kind"], "cuj_no_journey");
  EXPECT_EQ(doc["gaps"][0]["cuj"], "returns");
  EXPECT_TRUE(doc["gaps"][0]["journey"].is_null());
  EXPECT_EQ(doc["gaps"][0]["source"]["line"], 14);
  EXPECT_EQ(doc["gaps"][3]["kind"], "location_never_ran");
  EXPECT_EQ(doc["gaps"][3]["location"], "edge-c");
  EXPECT_TRUE(doc["gaps"][3]["source"].is_null());
  EXPECT_EQ(doc["gaps"][9]["kind"], "no_slo");
  EXPECT_EQ(doc["cujs"][2]["journeys"], json::array());
}

// The series in JSON: every bucket, hand-counted. --since 12m: buckets of 15 s from 07:48:00,
// run k in bucket 4 (k + 1) (see TimeBuckets): r1 r2 r3 good (8 12 16), r4 r5 bad (20 24),
// r6 invalid (28), r7 good (32), r8 r9 r10 bad (36 40 44); r1..r6 edge-a, r7..r10 edge-b.
TEST_F(ReportTest, JsonSeries) {
  json doc = to_json(build(12 * fx::kMinute));
  const json& s = doc["journeys"][0]["series"];
  EXPECT_EQ(s["bucket"], "15s");
  EXPECT_EQ(s["bucket_ms"], 15'000);
  ASSERT_EQ(s["all"].size(), kBuckets);
  // bucket -> {good, bad, invalid}; every other bucket is empty.
  const std::map<int, std::array<int, 3>> a = {{8, {1, 0, 0}},  {12, {1, 0, 0}}, {16, {1, 0, 0}},
                                                {20, {0, 1, 0}}, {24, {0, 1, 0}}, {28, {0, 0, 1}}};
  const std::map<int, std::array<int, 3>> b = {
      {32, {1, 0, 0}}, {36, {0, 1, 0}}, {40, {0, 1, 0}}, {44, {0, 1, 0}}};
  // Cumulative budget at each bucket's end (90 %: 0.1 bad allowed per valid run).
  const std::map<int, double> budget = {{8, 1},           {20, 1 - 1 / 0.4}, {24, 1 - 2 / 0.5},
                                        {32, 1 - 2 / 0.6}, {36, 1 - 3 / 0.7}, {40, 1 - 4 / 0.8},
                                        {44, 1 - 5 / 0.9}};
  double want_budget = 0;
  bool any_budget = false;
  for (int i = 0; i < static_cast<int>(kBuckets); ++i) {
    std::array<int, 3> want{0, 0, 0};
    for (const auto* m : {&a, &b})
      if (auto it = m->find(i); it != m->end()) want = it->second;
    const json& p = s["all"][static_cast<std::size_t>(i)];
    char t[32];
    std::snprintf(t, sizeof t, "2027-01-15T07:%02d:%02d.000Z", 48 + i / 4, (i % 4) * 15);
    EXPECT_EQ(p["t"], t) << i;
    EXPECT_EQ(p["good"], want[0]) << i;
    EXPECT_EQ(p["bad"], want[1]) << i;
    EXPECT_EQ(p["invalid"], want[2]) << i;
    EXPECT_EQ(p["valid"], want[0] + want[1]) << i;
    if (want[0] + want[1] == 0)
      EXPECT_TRUE(p["sli"].is_null()) << i;
    else
      EXPECT_EQ(p["sli"], want[0] ? 100.0 : 0.0) << i;
    if (auto it = budget.find(i); it != budget.end()) {
      want_budget = it->second;
      any_budget = true;
    }
    if (any_budget)
      EXPECT_NEAR(p["budget_remaining"].get<double>(), want_budget, 1e-9) << i;
    else
      EXPECT_TRUE(p["budget_remaining"].is_null()) << i;
  }
  ASSERT_EQ(s["locations"].size(), 2u);
  for (std::size_t l = 0; l < 2; ++l) {
    const json& loc = s["locations"][l];
    EXPECT_EQ(loc["location"], l == 0 ? "edge-a" : "edge-b");
    ASSERT_EQ(loc["points"].size(), kBuckets);
    const auto& mine = l == 0 ? a : b;
    int valid = 0, good = 0, invalid = 0;
    for (int i = 0; i < static_cast<int>(kBuckets); ++i) {
      const json& p = loc["points"][static_cast<std::size_t>(i)];
      EXPECT_FALSE(p.contains("budget_remaining"));
      std::array<int, 3> want{0, 0, 0};
      if (auto it = mine.find(i); it != mine.end()) want = it->second;
      EXPECT_EQ(p["good"], want[0]) << loc["location"] << " " << i;
      EXPECT_EQ(p["bad"], want[1]) << loc["location"] << " " << i;
      EXPECT_EQ(p["invalid"], want[2]) << loc["location"] << " " << i;
      valid += p["valid"].get<int>();
      good += p["good"].get<int>();
      invalid += p["invalid"].get<int>();
    }
    // edge-a: 5 valid, 3 good, 1 invalid; edge-b: 4 valid, 1 good.
    EXPECT_EQ(valid, l == 0 ? 5 : 4);
    EXPECT_EQ(good, l == 0 ? 3 : 1);
    EXPECT_EQ(invalid, l == 0 ? 1 : 0);
  }
  // The SLO window (1 d): 30 min buckets, everything in the last one (07:30).
  json day = to_json(build());
  const json& d = day["journeys"][0]["series"];
  EXPECT_EQ(d["bucket"], "30m");
  EXPECT_EQ(d["all"][47]["t"], "2027-01-15T07:30:00.000Z");
  EXPECT_EQ(d["all"][47]["valid"], 9);
  EXPECT_EQ(d["all"][47]["good"], 4);
  EXPECT_EQ(d["all"][47]["invalid"], 1);
  EXPECT_NEAR(d["all"][47]["sli"].get<double>(), 100.0 * 4 / 9, kEps);
  EXPECT_NEAR(d["all"][47]["budget_remaining"].get<double>(), 1 - 5 / 0.9, 1e-9);
  EXPECT_EQ(d["all"][46]["valid"], 0);
  EXPECT_EQ(d["locations"][0]["points"][47]["sli"], 60.0);  // edge-a: 3 of 5
  EXPECT_EQ(d["locations"][1]["points"][47]["sli"], 25.0);  // edge-b: 1 of 4
  // login: no SLO, so no budget; L1 (3 d ago) in bucket 42 of 14 h, L2 (1 h ago) in 47.
  const json& login = day["journeys"][1]["series"];
  EXPECT_EQ(login["bucket"], "14h");
  EXPECT_EQ(login["all"][42]["t"], "2027-01-11T20:00:00.000Z");
  EXPECT_EQ(login["all"][42]["bad"], 1);
  EXPECT_EQ(login["all"][47]["bad"], 1);
  EXPECT_TRUE(login["all"][47]["budget_remaining"].is_null());
}

// Hand-written sparklines: '.' no valid run, '#' all good, '_' the scale's floor.
std::string spark_of(const std::string& pattern) {
  std::string out;
  for (char c : pattern)
    out += c == '.' ? "·" : c == '#' ? "█" : c == '_' ? "▁" : c == '2' ? "▂" : c == '4' ? "▄" : "?";
  return out;
}

TEST_F(ReportTest, TextSeries) {
  {
    std::ostringstream out;
    render_text(out, build(), false);
    const std::string t = squeeze(out.str());
    // 1d in 30 min buckets; the scale runs from min(target 90 %, worst bucket 25 %) to 100 %:
    // 44.44 % is step floor(19.44 / 75 * 7) = 1 (▂), 60 % step 3 (▄), 25 % step 0 (▁).
    const std::string dots(47, '.');
    EXPECT_THAT(t, HasSubstr(" run SLI per 30m bucket (▁ 25.00% … █ 100%, · no valid run):\n"));
    EXPECT_THAT(t, HasSubstr(" all locations " + spark_of(dots + "2") +
                             " 44.44% (4 of 9 good) from 2027-01-15T07:30:00.000Z\n"));
    EXPECT_THAT(t, HasSubstr(" edge-a " + spark_of(dots + "4") +
                             " 60.00% (3 of 5 good) from 2027-01-15T07:30:00.000Z\n"));
    EXPECT_THAT(t, HasSubstr(" edge-b " + spark_of(dots + "_") +
                             " 25.00% (1 of 4 good) from 2027-01-15T07:30:00.000Z\n"));
    EXPECT_THAT(t, HasSubstr(" error budget left -455.6% at the end; spent in the bucket from "
                             "2027-01-15T07:30:00.000Z\n"));
    // login: both runs bad (0 %), buckets 42 and 47 of 14 h; no SLO, so no budget line.
    EXPECT_THAT(t, HasSubstr(" run SLI per 14h bucket (▁ 0.00% … █ 100%, · no valid run):\n"));
    EXPECT_THAT(t, HasSubstr(" all locations " + spark_of(std::string(42, '.') + "_...._") +
                             " 0.00% (0 of 1 good) from 2027-01-11T20:00:00.000Z\n"));
    EXPECT_EQ(t.find("budget left", t.find("journey login")), std::string::npos);
  }
  // --since 12m: one run per bucket (see JsonSeries); the floor is 0 %.
  std::ostringstream out;
  render_text(out, build(12 * fx::kMinute), false);
  const std::string t = squeeze(out.str());
  EXPECT_THAT(t, HasSubstr(" run SLI per 15s bucket (▁ 0.00% … █ 100%, · no valid run):\n"));
  EXPECT_THAT(t, HasSubstr(" all locations " +
                           spark_of("........#...#...#..._..._.......#..._..._..._...") +
                           " 0.00% (0 of 1 good) from 2027-01-15T07:53:00.000Z\n"));
  EXPECT_THAT(t, HasSubstr(" edge-a " +
                           spark_of("........#...#...#..._..._.......................") +
                           " 0.00% (0 of 1 good) from 2027-01-15T07:53:00.000Z\n"));
  EXPECT_THAT(t, HasSubstr(" edge-b " +
                           spark_of("................................#..._..._..._...") +
                           " 0.00% (0 of 1 good) from 2027-01-15T07:57:00.000Z\n"));
  EXPECT_THAT(t, HasSubstr(" error budget left -455.6% at the end; spent in the bucket from "
                           "2027-01-15T07:53:00.000Z\n"));
  // login never ran in these 12 minutes: no series lines.
  EXPECT_EQ(t.find("run SLI per", t.find("journey login")), std::string::npos);
}

TEST_F(ReportTest, Text) {
  std::ostringstream out;
  render_text(out, build(), false);
  const std::string text = out.str();
  EXPECT_EQ(text.find('\033'), std::string::npos) << "no colour without a TTY";
  const std::string t = squeeze(text);
  EXPECT_THAT(t, HasSubstr("until 2027-01-15T08:00:00.000Z, each journey over its SLO window"));
  EXPECT_THAT(t, HasSubstr("1 purchase checkout-team checkout\n"));
  EXPECT_THAT(t, HasSubstr("3 returns support-team (none)\n"));
  // Journeys in rank order.
  EXPECT_LT(text.find("journey checkout"), text.find("journey login"));
  EXPECT_THAT(t, HasSubstr("journey checkout CUJ purchase (rank 1) owner checkout-team\n"));
  EXPECT_THAT(t, HasSubstr("window 1d: 2027-01-14T08:00:00.000Z .. 2027-01-15T08:00:00.000Z"));
  // runs: valid good invalid SLI SLO budget burn. 4/9 = 44.44 %, budget -455.6 %, burn 5.56x.
  EXPECT_THAT(t, HasSubstr(" all locations 9 4 1 44.44% 90.00% -455.6% 5.56x\n"));
  EXPECT_THAT(t, HasSubstr(" edge-a 5 3 1 60.00% 90.00% -300.0% 4.00x\n"));
  EXPECT_THAT(t, HasSubstr(" edge-b 4 1 0 25.00% 90.00% -650.0% 7.50x\n"));
  // steps: valid good skipped SLI SLO budget burn p50 p90 p99 limit over.
  // browse 6/9 = 66.66 % (rounded down), budget 1 - 3/0.9 = -233.3 %, burn 3.33x.
  EXPECT_THAT(
      t, HasSubstr(" browse 9 6 0 66.66% 90.00% -233.3% 3.33x 250 ms 700 ms 700 ms 500 ms 1\n"));
  EXPECT_THAT(
      t, HasSubstr(" edge-a 5 4 0 80.00% 90.00% -100.0% 2.00x 300 ms 700 ms 700 ms 500 ms 1\n"));
  EXPECT_THAT(t, HasSubstr(" pay 6 4 3 66.66% 90.00% -233.3% 3.33x 100 ms 300 ms 300 ms - -\n"));
  EXPECT_THAT(t, HasSubstr("latency SLO browse <= 500 ms: 75.00% of 8 (good 6), SLO 75.00%, "
                           "budget left 0.0%, burn 1.00x"));
  // funnel: a 20-wide bar of passed / reached the first step (6/9 -> 13, 4/9 -> 9).
  EXPECT_THAT(t, HasSubstr(" browse 9 6 #############"));
  EXPECT_THAT(t, HasSubstr(" pay 6 4 #########"));
  EXPECT_THAT(t, HasSubstr(" 2 pay status expected status 200, got 500 (edge-b, "
                           "2027-01-15T07:58:00.000Z)\n"));
  EXPECT_THAT(t, HasSubstr("coverage gaps: 10\n"));
  EXPECT_THAT(t,
              HasSubstr(" cuj_no_journey cujs.toml:14:1 CUJ 'returns' (rank 3) has no journey\n"));
  EXPECT_THAT(t, HasSubstr(" status_only checkout.toml:7:1 step 'pay' is checked only by its "
                           "status code\n"));
  EXPECT_THAT(t, HasSubstr(" location_never_ran checkout location 'edge-c' never ran journey "
                           "'checkout' in the window\n"));
  // Columns line up: every row of the gap table starts its message at the same column.
  std::istringstream lines(text);
  std::string line;
  std::vector<std::size_t> starts;
  for (bool in_gaps = false; std::getline(lines, line);) {
    if (line.starts_with("coverage gaps"))
      in_gaps = true;
    else if (in_gaps)
      starts.push_back(line.find_first_not_of(' ', line.find(' ', 2)));
  }
  ASSERT_EQ(starts.size(), 11u);  // header and 10 gaps
  for (std::size_t s : starts)
    EXPECT_EQ(s, starts[0]);
}

TEST_F(ReportTest, TextColourOnlyWhenAsked) {
  std::ostringstream out;
  render_text(out, build(), true);
  EXPECT_THAT(out.str(), HasSubstr("\033[31m44.44%"));  // below target: red
  EXPECT_THAT(out.str(), HasSubstr("\033[33mcuj_no_journey"));
}

TEST(ReportDb, Errors) {
  TempDir dir;
  ReportOptions o;
  o.db_path = dir.file("missing.db");
  try {
    build_report(o);
    FAIL() << "no error";
  } catch (const DbError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no database at " + o.db_path));
  }
  o.db_path = dir.file("junk.db");
  std::ofstream(o.db_path) << "this is not a database, just some text long enough to be a header";
  EXPECT_THROW(build_report(o), DbError);
  // A SQLite file without the store's tables.
  o.db_path = dir.file("other.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(o.db_path.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  try {
    build_report(o);
    FAIL() << "no error";
  } catch (const DbError& e) {
    EXPECT_THAT(e.what(), HasSubstr("not a prober store (no schema_version table)"));
  }
  // Another schema version.
  o.db_path = dir.file("v2.db");
  fx::write_db(o.db_path);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(o.db_path.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "UPDATE schema_version SET version = 2", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  try {
    build_report(o);
    FAIL() << "no error";
  } catch (const DbError& e) {
    EXPECT_THAT(e.what(), HasSubstr("schema version 2, this prober reads version 1"));
  }
}

}  // namespace
}  // namespace prober::report
