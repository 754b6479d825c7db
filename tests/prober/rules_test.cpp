#include "prober/report/rules.hpp"

#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/registry.hpp"
#include "journeys/loader.hpp"
#include "prober/record/recorder.hpp"
#include "prober/sinks/prom_format.hpp"
#include "prober/sinks/prometheus.hpp"

namespace {

using namespace std::chrono_literals;
using journeys::Duration;
using prober::report::journey_rules;
using prober::report::prom_duration;
using prober::report::render_rules_yaml;
using prober::report::Rule;
using prober::report::RuleGroup;
using prober::report::RulesOptions;
using prober::report::scale_window;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::Not;

journeys::Journey load(const std::string& slo, const std::string& extra = "") {
  journeys::LoadOptions options;
  options.checks = &checks::catalog();
  const std::string text =
      "name = \"checkout\"\n" + extra +
      "[[steps]]\nname = \"browse\"\nrequest = { url = \"http://127.0.0.1:1/\" }\n"
      "[[steps]]\nname = \"pay\"\nrequest = { url = \"http://127.0.0.1:1/pay\" }\n" +
      slo;
  return journeys::load_journey_string(text, "checkout.toml", options);
}

const char* const kSlo = R"([slo]
availability = 99.5
window = "28d"
latency = { step = "pay", threshold_ms = 1000, target = 99.0 }
)";

std::vector<const Rule*> records(const RuleGroup& g) {
  std::vector<const Rule*> out;
  for (const Rule& r : g.rules)
    if (!r.record.empty()) out.push_back(&r);
  return out;
}
std::vector<const Rule*> alerts(const RuleGroup& g) {
  std::vector<const Rule*> out;
  for (const Rule& r : g.rules)
    if (!r.alert.empty()) out.push_back(&r);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Windows

TEST(RulesWindows, ScaleFromThirtyDays) {
  struct Case {
    Duration base, slo;
    const char* want;
  };
  const Case cases[] = {
      {1h, 24h * 30, "1h"},
      {5min, 24h * 30, "5m"},
      {72h, 24h * 30, "3d"},
      {1h, 24h * 28, "56m"},
      {5min, 24h * 28, "4m40s"},
      {30min, 24h * 28, "28m"},
      {6h, 24h * 28, "5h36m"},
      {24h, 24h * 28, "22h24m"},
      {2h, 24h * 28, "1h52m"},
      {72h, 24h * 28, "2d19h12m"},
      {5min, 24h * 7, "1m10s"},
      {1h, 24h * 90, "3h"},
      {72h, 24h * 90, "9d"},
      // 5m * 1000h / 720h = 416.67 s: rounded to the nearest second.
      {5min, 1000h, "6m57s"},
      // 5m * 1d / 30d = 10 s: raised to the one-minute floor; so is 30m * 1d / 30d = 1m.
      {5min, 24h, "1m"},
      {30min, 24h, "1m"},
      {1h, 24h, "2m"},
  };
  for (const Case& c : cases)
    EXPECT_EQ(prom_duration(scale_window(c.base, c.slo)), c.want)
        << prom_duration(c.base) << " for a " << prom_duration(c.slo) << " SLO";
}

TEST(RulesWindows, PromDuration) {
  EXPECT_EQ(prom_duration(0s), "0s");
  EXPECT_EQ(prom_duration(59s), "59s");
  EXPECT_EQ(prom_duration(3661s), "1h1m1s");
  EXPECT_EQ(prom_duration(24h * 28), "28d");
  EXPECT_EQ(prom_duration(1499ms), "1s");
  EXPECT_EQ(prom_duration(1500ms), "2s");
}

// ---------------------------------------------------------------------------------------------
// The `le` format: the rules select exactly what the scrape endpoint writes.

TEST(RulesLe, SharedFormatMatchesRenderMetrics) {
  prober::record::Recorder rec;
  prober::record::RunResult run;
  run.journey = "j";
  run.location = "l";
  run.result = prober::record::Result::good;
  prober::record::StepResult s;
  s.name = "s";
  s.result = prober::record::Result::good;
  s.status = 200;
  s.timings.total_ms = 3;
  run.steps = {s};
  rec.add(run);
  for (bool om : {false, true}) {
    const std::string text = prober::sinks::render_metrics(rec, nullptr, om);
    const std::regex le_re("prober_step_latency_seconds_bucket\\{[^}]*le=\"([^\"]+)\"\\}");
    std::vector<std::string> rendered;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), le_re);
         it != std::sregex_iterator(); ++it)
      rendered.push_back((*it)[1]);
    std::vector<std::string> ours;
    for (double b : prober::record::default_buckets())
      ours.push_back(prober::sinks::prom_format_le(b, om));
    ours.push_back("+Inf");
    EXPECT_EQ(rendered, ours) << (om ? "OpenMetrics" : "text format");
  }
}

// ---------------------------------------------------------------------------------------------
// A fixture journey's exact rules

TEST(Rules, RecordingRulesForEveryWindowUsed) {
  const RuleGroup g = journey_rules(load(kSlo), {});
  EXPECT_EQ(g.name, "prober/checkout");
  EXPECT_TRUE(g.comments.empty());
  const auto recs = records(g);
  const std::vector<std::string> windows = {"4m40s", "28m",    "56m",     "1h52m",
                                            "5h36m", "22h24m", "2d19h12m"};
  ASSERT_EQ(recs.size(), 2 * windows.size());
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const std::string& w = windows[i];
    const Rule& a = *recs[i];
    EXPECT_EQ(a.record, "prober:sli_error_ratio:rate" + w);
    EXPECT_EQ(a.expr,
              "1 - (\n"
              "  sum by (journey) "
              "(rate(prober_journey_runs_total{journey=\"checkout\",result=\"good\"}[" +
                  w +
                  "]))\n"
                  "  /\n"
                  "  sum by (journey) "
                  "(rate(prober_journey_runs_total{journey=\"checkout\",result=~\"good|bad\"}[" +
                  w +
                  "]))\n"
                  ")");
    EXPECT_THAT(a.labels, ElementsAre(std::pair<std::string, std::string>("journey", "checkout"),
                                      std::pair<std::string, std::string>("slo", "availability")));
    const Rule& l = *recs[windows.size() + i];
    EXPECT_EQ(l.record, "prober:sli_error_ratio:rate" + w);
    EXPECT_EQ(l.expr,
              "1 - (\n"
              "  sum by (journey, step) "
              "(rate(prober_step_latency_seconds_bucket{journey=\"checkout\",step=\"pay\",le=~\"1|"
              "1\\\\.0\"}[" +
                  w +
                  "]))\n"
                  "  /\n"
                  "  sum by (journey, step) "
                  "(rate(prober_step_latency_seconds_count{journey=\"checkout\",step=\"pay\"}[" +
                  w +
                  "]))\n"
                  ")");
    EXPECT_THAT(l.labels,
                ElementsAre(std::pair<std::string, std::string>("journey", "checkout"),
                            std::pair<std::string, std::string>("slo", "latency:pay:1000ms")));
  }
}

TEST(Rules, BurnRateAlertsAfterTheWorkbook) {
  const RuleGroup g = journey_rules(load(kSlo), {});
  const auto al = alerts(g);
  ASSERT_EQ(al.size(), 8u);
  struct Want {
    const char *severity, *rate, *lw, *sw;
  };
  const Want want[] = {{"page", "14.4", "56m", "4m40s"},
                       {"page", "6", "5h36m", "28m"},
                       {"ticket", "3", "22h24m", "1h52m"},
                       {"ticket", "1", "2d19h12m", "5h36m"}};
  for (std::size_t i = 0; i < 8; ++i) {
    const Want& w = want[i % 4];
    const bool availability = i < 4;
    const std::string sel = availability ? "{journey=\"checkout\",slo=\"availability\"}"
                                         : "{journey=\"checkout\",slo=\"latency:pay:1000ms\"}";
    const std::string thr =
        std::string("(") + w.rate + " * " + (availability ? "0.005" : "0.01") + ")";
    const Rule& r = *al[i];
    EXPECT_EQ(r.alert, "ProberErrorBudgetBurn");
    EXPECT_EQ(r.expr, std::string("prober:sli_error_ratio:rate") + w.lw + sel + " > " + thr +
                          "\nand\nprober:sli_error_ratio:rate" + w.sw + sel + " > " + thr);
    EXPECT_THAT(r.labels,
                ElementsAre(std::pair<std::string, std::string>("journey", "checkout"),
                            std::pair<std::string, std::string>("long_window", w.lw),
                            std::pair<std::string, std::string>("severity", w.severity),
                            std::pair<std::string, std::string>(
                                "slo", availability ? "availability" : "latency:pay:1000ms")));
    ASSERT_EQ(r.annotations.size(), 2u);
    EXPECT_EQ(r.annotations[0].first, "description");
    EXPECT_EQ(r.annotations[1].first, "summary");
  }
  EXPECT_EQ(al[0]->annotations[1].second,
            "checkout: availability SLO 99.5% over 28d is burning its error budget at 14.4x over "
            "56m and 4m40s");
  EXPECT_EQ(
      al[0]->annotations[0].second,
      "More than 7.2% of the valid runs of journey checkout (good or bad; invalid runs do not "
      "count) failed over the last 56m and the last 4m40s, all locations together. The SLO "
      "allows 0.5% over 28d; at 14.4x that budget lasts 1d22h40m, and about 2% of it is "
      "spent by the time this fires. Find the failing step and reason: "
      "prober_step_bad_total{journey=\"checkout\"} by step, location and reason, or the "
      "prober's 'run failed' log lines. If a single location fails, suspect its network "
      "before the service. Pages: act now.");
  EXPECT_EQ(al[7]->annotations[1].second,
            "checkout/pay: latency SLO 99% within 1000 ms over 28d is burning its error budget at "
            "1x over 2d19h12m and 5h36m");
  EXPECT_THAT(al[7]->annotations[0].second,
              HasSubstr("More than 1% of the answers of step pay in journey checkout took longer "
                        "than 1000 ms over the last 2d19h12m and the last 5h36m"));
  EXPECT_THAT(al[7]->annotations[0].second,
              HasSubstr("at 1x that budget lasts 28d, and about 10% "));
  EXPECT_THAT(al[7]->annotations[0].second, HasSubstr("A ticket"));
}

TEST(Rules, YamlRendering) {
  const std::string yaml = render_rules_yaml({journey_rules(load(kSlo), {})}, {});
  EXPECT_THAT(
      yaml,
      HasSubstr(
          "\ngroups:\n  - name: \"prober/checkout\"\n    rules:\n"
          "      - record: prober:sli_error_ratio:rate4m40s\n"
          "        expr: |-\n"
          "          1 - (\n"
          "            sum by (journey) "
          "(rate(prober_journey_runs_total{journey=\"checkout\",result=\"good\"}[4m40s]))\n"
          "            /\n"
          "            sum by (journey) "
          "(rate(prober_journey_runs_total{journey=\"checkout\",result=~\"good|bad\"}[4m40s]))\n"
          "          )\n"
          "        labels:\n"
          "          journey: \"checkout\"\n"
          "          slo: \"availability\"\n"));
  EXPECT_THAT(
      yaml,
      HasSubstr(
          "      - alert: ProberErrorBudgetBurn\n"
          "        expr: |-\n"
          "          prober:sli_error_ratio:rate56m{journey=\"checkout\",slo=\"availability\"} > "
          "(14.4 * 0.005)\n"
          "          and\n"
          "          prober:sli_error_ratio:rate4m40s{journey=\"checkout\",slo=\"availability\"} > "
          "(14.4 * 0.005)\n"
          "        labels:\n"
          "          journey: \"checkout\"\n"
          "          long_window: \"56m\"\n"
          "          severity: \"page\"\n"
          "          slo: \"availability\"\n"
          "        annotations:\n"
          "          description: \"More than 7.2% of the valid runs"));
  EXPECT_THAT(yaml, HasSubstr("prober_step_bad_total{journey=\\\"checkout\\\"}"));
  // Same input, same bytes.
  EXPECT_EQ(yaml, render_rules_yaml({journey_rules(load(kSlo), {})}, {}));
}

TEST(Rules, JourneysSortedByName) {
  journeys::Journey a = load(kSlo);
  journeys::Journey b = load(kSlo);
  a.name = "zeta";
  b.name = "alpha";
  const auto groups = prober::report::rules_for(
      {std::make_shared<const journeys::Journey>(a), std::make_shared<const journeys::Journey>(b)},
      {});
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].name, "prober/alpha");
  EXPECT_EQ(groups[1].name, "prober/zeta");
}

TEST(Rules, ThirtyDayWindowIsTheWorkbookTable) {
  const RuleGroup g = journey_rules(load("[slo]\navailability = 99.9\nwindow = \"30d\"\n"), {});
  std::vector<std::string> names;
  for (const Rule* r : records(g))
    names.push_back(r->record);
  EXPECT_THAT(names, ElementsAre("prober:sli_error_ratio:rate5m", "prober:sli_error_ratio:rate30m",
                                 "prober:sli_error_ratio:rate1h", "prober:sli_error_ratio:rate2h",
                                 "prober:sli_error_ratio:rate6h", "prober:sli_error_ratio:rate1d",
                                 "prober:sli_error_ratio:rate3d"));
  // 99.9 %: the budget prints as 0.001, not as its binary neighbour.
  EXPECT_THAT(alerts(g)[0]->expr, HasSubstr("> (14.4 * 0.001)"));
  EXPECT_THAT(alerts(g)[0]->annotations[0].second, HasSubstr("More than 1.44% of the valid runs"));
}

// ---------------------------------------------------------------------------------------------
// Quorum

TEST(RulesQuorum, PerLocationRatiosAndACount) {
  RulesOptions o;
  o.quorum = 2;
  const RuleGroup g = journey_rules(load(kSlo), o);
  const auto recs = records(g);
  ASSERT_EQ(recs.size(), 14u);
  EXPECT_EQ(recs[2]->record, "prober:sli_error_ratio_by_location:rate56m");
  EXPECT_THAT(
      recs[2]->expr,
      HasSubstr("sum by (journey, location) "
                "(rate(prober_journey_runs_total{journey=\"checkout\",result=\"good\"}[56m]))"));
  EXPECT_THAT(recs[9]->expr, HasSubstr("sum by (journey, step, location) (rate("));
  const auto al = alerts(g);
  ASSERT_EQ(al.size(), 8u);
  EXPECT_EQ(
      al[0]->expr,
      "count by (journey, slo) (\n"
      "  prober:sli_error_ratio_by_location:rate56m{journey=\"checkout\",slo=\"availability\"} > "
      "(14.4 * 0.005)\n"
      "  and\n"
      "  prober:sli_error_ratio_by_location:rate4m40s{journey=\"checkout\",slo=\"availability\"} > "
      "(14.4 * 0.005)\n"
      ") >= 2");
  EXPECT_THAT(al[4]->expr, HasSubstr("count by (journey, step, slo) (\n"));
  EXPECT_THAT(al[0]->annotations[1].second,
              HasSubstr("over 56m and 4m40s in at least 2 locations"));
  EXPECT_THAT(al[0]->annotations[0].second, HasSubstr("in at least 2 locations, each on its own."));
  EXPECT_THAT(render_rules_yaml({g}, o),
              HasSubstr("# Quorum: an alert needs at least 2 locations"));
}

TEST(RulesQuorum, LoweredToTheLocationsAJourneyRunsFrom) {
  RulesOptions o;
  o.quorum = 3;
  const RuleGroup own = journey_rules(load(kSlo, "locations = [\"a\", \"b\"]\n"), o);
  EXPECT_THAT(alerts(own)[0]->expr, HasSubstr(") >= 2"));
  ASSERT_EQ(own.comments.size(), 1u);
  EXPECT_EQ(
      own.comments[0],
      "journey 'checkout' runs from 2 locations (its `locations`): quorum lowered from 3 to 2");

  o.config_locations = 1;
  const RuleGroup cfg = journey_rules(load(kSlo), o);
  EXPECT_THAT(alerts(cfg)[0]->expr, HasSubstr(") >= 1"));
  EXPECT_THAT(cfg.comments,
              ElementsAre(HasSubstr("runs from 1 location (the config's [locations])")));

  o.config_locations = 5;
  const RuleGroup enough = journey_rules(load(kSlo), o);
  EXPECT_THAT(alerts(enough)[0]->expr, HasSubstr(") >= 3"));
  EXPECT_TRUE(enough.comments.empty());
}

// ---------------------------------------------------------------------------------------------
// SLOs without rules, and SLOs no rule can measure

TEST(Rules, JourneyLevelLatencyFromTheDurationHistogram) {
  // 3000 ms is no default bucket bound: the daemon adds it to the buckets, so it is fine here.
  const RuleGroup g = journey_rules(
      load("[slo]\nwindow = \"28d\"\nlatency = { threshold_ms = 3000, target = 99.0 }\n"), {});
  EXPECT_TRUE(g.comments.empty());
  const auto recs = records(g);
  ASSERT_EQ(recs.size(), 7u);
  // Good runs within 3 s / (good runs + timed-out runs); the timeouts' series may not exist
  // yet, so `or 0 * …` keeps the sum.
  const std::string count =
      "sum by (journey) (rate(prober_journey_duration_seconds_count{journey=\"checkout\"}[56m]))";
  EXPECT_EQ(recs[2]->record, "prober:sli_error_ratio:rate56m");
  EXPECT_EQ(recs[2]->expr,
            "1 - (\n"
            "  sum by (journey) (rate(prober_journey_duration_seconds_bucket{journey=\"checkout\","
            "le=~\"3|3\\\\.0\"}[56m]))\n"
            "  /\n"
            "  (\n"
            "    " + count + "\n"
            "    +\n"
            "    (sum by (journey) (rate(prober_step_bad_total{journey=\"checkout\","
            "reason=\"timeout\"}[56m])) or 0 * " + count + ")\n"
            "  )\n"
            ")");
  EXPECT_THAT(recs[2]->labels,
              ElementsAre(std::pair<std::string, std::string>("journey", "checkout"),
                          std::pair<std::string, std::string>("slo", "latency::3000ms")));
  const auto al = alerts(g);
  ASSERT_EQ(al.size(), 4u);
  EXPECT_EQ(al[0]->expr,
            "prober:sli_error_ratio:rate56m{journey=\"checkout\",slo=\"latency::3000ms\"} > "
            "(14.4 * 0.01)\nand\nprober:sli_error_ratio:rate4m40s{journey=\"checkout\","
            "slo=\"latency::3000ms\"} > (14.4 * 0.01)");
  EXPECT_EQ(al[0]->annotations[1].second,
            "checkout: latency SLO 99% of runs within 3000 ms over 28d is burning its error "
            "budget at 14.4x over 56m and 4m40s");
  EXPECT_THAT(al[0]->annotations[0].second,
              HasSubstr("More than 14.4% of the good and timed-out runs of journey checkout took "
                        "longer than 3000 ms or timed out over the last 56m and the last 4m40s, "
                        "all locations together."));
  EXPECT_THAT(al[0]->annotations[0].second, HasSubstr("prober_journey_duration_seconds"));

  // With a quorum: per location, counted by journey and slo (no step label).
  RulesOptions o;
  o.quorum = 2;
  const RuleGroup q = journey_rules(
      load("[slo]\nwindow = \"28d\"\nlatency = { threshold_ms = 250, target = 99.0 }\n"), o);
  EXPECT_THAT(records(q)[0]->expr,
              HasSubstr("sum by (journey, location) (rate(prober_journey_duration_seconds_bucket{"
                        "journey=\"checkout\",le=\"0.25\"}[4m40s]))"));
  EXPECT_THAT(records(q)[0]->expr,
              HasSubstr("or 0 * sum by (journey, location) (rate(prober_journey_duration_"
                        "seconds_count{journey=\"checkout\"}[4m40s]))"));
  EXPECT_THAT(alerts(q)[0]->expr, HasSubstr("count by (journey, slo) (\n"));

  // Next to a step latency SLO and availability: its own SLO label, sorted before the step's.
  const RuleGroup both = journey_rules(
      load("[slo]\navailability = 99.5\nwindow = \"28d\"\nlatency = [ { step = \"pay\", "
           "threshold_ms = 1000, target = 99.0 }, { threshold_ms = 2500, target = 95.0 } ]\n"),
      {});
  std::vector<std::string> slos;
  for (const Rule* r : alerts(both))
    if (r->labels[1].second == "56m") slos.push_back(r->labels[3].second);
  EXPECT_THAT(slos, ElementsAre("availability", "latency::2500ms", "latency:pay:1000ms"));
  EXPECT_THAT(render_rules_yaml({both}, {}), Not(HasSubstr("# latency SLO")));
}

TEST(Rules, DuplicateJourneyLevelLatencySloIsAnError) {
  try {
    journey_rules(load("[slo]\nlatency = [ { threshold_ms = 2500, target = 99.0 }, "
                       "{ threshold_ms = 2500, target = 95.0 } ]\n"),
                  {});
    FAIL() << "no error";
  } catch (const journeys::LoadError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_THAT(e.diagnostics()[0].str(),
                HasSubstr("slo: a second journey-level latency SLO at 2500 ms (the first is at "
                          "line 9): their rules would collide; keep one"));
  }
}

TEST(Rules, NoSloNoRules) {
  const RuleGroup g = journey_rules(load(""), {});
  EXPECT_TRUE(g.rules.empty());
  EXPECT_THAT(g.comments, ElementsAre("journey 'checkout' has no [slo]: no rules"));
}

TEST(Rules, ThresholdThatIsNotABucketBoundIsAnError) {
  try {
    journey_rules(load("[slo]\nlatency = { step = \"pay\", threshold_ms = 300, target = 99.0 }\n"),
                  {});
    FAIL() << "no error";
  } catch (const journeys::LoadError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].str(),
              "checkout.toml:9:11: slo: latency SLO of step 'pay': threshold_ms 300 is not a "
              "bucket bound of prober_step_latency_seconds (5, 10, 25, 50, 100, 250, 500, 1000, "
              "2500, 5000, 10000, 30000 ms), so no series counts the answers within it");
  }
}

TEST(Rules, DuplicateLatencySloIsAnError) {
  EXPECT_THROW(journey_rules(load("[slo]\nlatency = [ { step = \"pay\", threshold_ms = 500, "
                                  "target = 99.0 }, { step = \"pay\", threshold_ms = 500, "
                                  "target = 95.0 } ]\n"),
                             {}),
               journeys::LoadError);
}

TEST(Rules, BucketBoundsBelowOneSecondMatchOneSpelling) {
  const RuleGroup g = journey_rules(
      load("[slo]\nlatency = { step = \"pay\", threshold_ms = 250, target = 99.0 }\n"), {});
  EXPECT_THAT(records(g)[0]->expr, HasSubstr(",le=\"0.25\"}"));
}

TEST(Rules, ImpossibleBurnRateIsNoted) {
  const RuleGroup g = journey_rules(load("[slo]\navailability = 92.0\n"), {});
  EXPECT_THAT(g.comments,
              ElementsAre(HasSubstr("the 14.4x alert needs an error ratio above 115.2%")));
}

TEST(Rules, YamlQuote) {
  EXPECT_EQ(prober::report::yaml_quote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\x01\"");
}

}  // namespace
