#include "prober/record/recorder.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using prober::record::default_buckets;
using prober::record::format_sli;
using prober::record::Histogram;
using prober::record::JourneyKey;
using prober::record::print_summary;
using prober::record::Reason;
using prober::record::Recorder;
using prober::record::Result;
using prober::record::RunResult;
using prober::record::sli_percent;
using prober::record::StepKey;
using prober::record::StepResult;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::Not;

StepResult step(std::string name, Result result, Reason reason = Reason::none, int status = 200,
                double total_ms = 10, std::string message = "") {
  StepResult s;
  s.name = std::move(name);
  s.result = result;
  s.reason = reason;
  s.status = status;
  s.timings.total_ms = total_ms;
  s.message = std::move(message);
  return s;
}

// A run whose result follows the rule of event.hpp: good if every step is good, else the first
// step that is not good.
RunResult run(std::string journey, std::string location, std::vector<StepResult> steps) {
  RunResult r;
  r.journey = std::move(journey);
  r.location = std::move(location);
  for (const auto& s : steps) {
    if (s.result != Result::good && r.failed_step.empty()) {
      r.result = s.result;
      r.reason = s.reason;
      r.failed_step = s.name;
    }
  }
  r.steps = std::move(steps);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Histogram

TEST(Histogram, DefaultBucketsAreFiveMillisecondsToThirtySeconds) {
  EXPECT_THAT(default_buckets(),
              ElementsAre(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30));
  Histogram h;
  EXPECT_EQ(h.bounds(), default_buckets());
  EXPECT_EQ(h.counts().size(), default_buckets().size() + 1);  // + the +Inf bucket
}

TEST(Histogram, BucketsAreLessOrEqualAndTheLastIsInfinite) {
  Histogram h({1, 2, 4});
  for (double v : {0.0, 1.0, 1.0000001, 2.0, 3.9, 4.0, 4.5, 1e9})
    h.observe(v);
  EXPECT_THAT(h.counts(), ElementsAre(2, 2, 2, 2));
  EXPECT_EQ(h.count(), 8u);
  EXPECT_DOUBLE_EQ(h.sum(), 0 + 1 + 1.0000001 + 2 + 3.9 + 4 + 4.5 + 1e9);
}

TEST(Histogram, NanIsNotObserved) {
  Histogram h({1});
  h.observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.sum(), 0);
}

TEST(Histogram, BoundsAreSortedAndInfinityIsImplicit) {
  Histogram h({4, 1, std::numeric_limits<double>::infinity(), 2, 2});
  EXPECT_THAT(h.bounds(), ElementsAre(1, 2, 4));
  EXPECT_EQ(h.counts().size(), 4u);
}

struct QuantileCase {
  const char* name;
  std::vector<double> bounds;
  std::vector<double> observations;
  double q;
  double want;
};

class HistogramQuantile : public testing::TestWithParam<QuantileCase> {};

TEST_P(HistogramQuantile, InterpolatesAsPrometheus) {
  const auto& c = GetParam();
  Histogram h(c.bounds);
  for (double v : c.observations)
    h.observe(v);
  EXPECT_NEAR(h.quantile(c.q), c.want, 1e-12) << c.name;
}

// Expected values worked by hand with histogram_quantile's formula:
//   start + (end - start) * (rank - cumulative_before) / in_bucket, rank = q * count.
const std::vector<double> kMs = {0.003, 0.007, 0.02, 0.02};  // cumulative 1, 2, 4 by 25 ms
INSTANTIATE_TEST_SUITE_P(
    Histogram, HistogramQuantile,
    testing::Values(
        QuantileCase{"empty", {1, 2}, {}, 0.5, 0},
        // rank 2 -> (5 ms, 10 ms], 1 of 1 -> 10 ms
        QuantileCase{"p50", default_buckets(), kMs, 0.5, 0.01},
        // rank 3.8 -> (10 ms, 25 ms], 1.8 of 2 -> 10 + 15 * 0.9 = 23.5 ms
        QuantileCase{"p95", default_buckets(), kMs, 0.95, 0.0235},
        // rank 1 -> first bucket, lower bound 0 -> 0 + 5 * 1/1
        QuantileCase{"p25", default_buckets(), kMs, 0.25, 0.005},
        // rank 4 -> (10 ms, 25 ms], 2 of 2 -> its upper bound
        QuantileCase{"p100", default_buckets(), kMs, 1.0, 0.025},
        QuantileCase{"p0", default_buckets(), kMs, 0.0, 0},
        // cumulative 2, 4, 8 over (0,1], (1,2], (2,4]
        QuantileCase{"mid bucket", {1, 2, 4}, {0.5, 0.5, 1.5, 1.5, 3, 3, 3, 3}, 0.75, 3.0},
        QuantileCase{"at a bucket edge", {1, 2, 4}, {0.5, 0.5, 1.5, 1.5, 3, 3, 3, 3}, 0.5, 2.0},
        QuantileCase{"first bucket", {1, 2, 4}, {0.5, 0.5, 1.5, 1.5, 3, 3, 3, 3}, 0.1, 0.4},
        // the +Inf bucket answers the last finite bound
        QuantileCase{"in +Inf", {1, 2}, {0.5, 5, 6, 7}, 0.9, 2.0},
        QuantileCase{"all in +Inf", {1, 2}, {5, 6}, 0.5, 2.0},
        // Prometheus gives NaN here (0/0); we give the first non-empty bucket's lower bound
        QuantileCase{"p0 with empty first bucket", {1, 2}, {1.5}, 0.0, 1.0},
        QuantileCase{"q clamped above 1", {1, 2}, {0.5, 1.5}, 7.0, 2.0},
        QuantileCase{"q clamped below 0", {1, 2}, {0.5, 1.5}, -1.0, 0.0},
        QuantileCase{"non-positive first bound", {0, 1}, {-1, 0.5}, 0.25, 0.0}),
    [](const testing::TestParamInfo<QuantileCase>& info) {
      std::string n = info.param.name;
      for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

// ---------------------------------------------------------------------------------------------
// SLI arithmetic

struct SliCase {
  std::uint64_t good, valid;
  double percent;
  const char* text;
};

class RecorderSli : public testing::TestWithParam<SliCase> {};

TEST_P(RecorderSli, PercentAndText) {
  const auto& c = GetParam();
  EXPECT_DOUBLE_EQ(sli_percent(c.good, c.valid), c.percent);
  EXPECT_EQ(format_sli(c.good, c.valid), c.text);
}

INSTANTIATE_TEST_SUITE_P(Recorder, RecorderSli,
                         testing::Values(SliCase{0, 0, -1, "-"}, SliCase{5, 5, 100, "100.00%"},
                                         SliCase{0, 4, 0, "0.00%"},
                                         SliCase{199, 200, 99.5, "99.50%"},
                                         SliCase{1, 3, 100.0 / 3, "33.33%"},
                                         // rounded down: never claim more than measured
                                         SliCase{2, 3, 200.0 / 3, "66.66%"},
                                         SliCase{99999, 100000, 99.999, "99.99%"}));

// ---------------------------------------------------------------------------------------------
// Recorder

TEST(Recorder, CountsEventsPerStepAndRunsPerJourney) {
  Recorder rec;
  rec.add(run("checkout", "edge-a",
              {step("browse", Result::good, Reason::none, 200, 120),
               step("pay", Result::bad, Reason::status, 503, 40, "status: expected 200, got 503"),
               step("receipt", Result::skipped, Reason::none, 0, 0)}));
  rec.add(run("checkout", "edge-a",
              {step("browse", Result::good, Reason::none, 200, 80),
               step("pay", Result::good, Reason::none, 200, 300),
               step("receipt", Result::good, Reason::none, 200, 20)}));
  rec.add(run("checkout", "edge-a",
              {step("browse", Result::good, Reason::none, 200, 90),
               // no answer: counted bad, no latency observed
               step("pay", Result::bad, Reason::timeout, 0, 10000, "timeout after 10 s"),
               step("receipt", Result::skipped, Reason::none, 0, 0)}));
  rec.add(run("checkout", "edge-a",
              {step("browse", Result::invalid, Reason::late_start, 0, 0),
               step("pay", Result::skipped), step("receipt", Result::skipped)}));

  EXPECT_EQ(rec.runs(), 4u);
  EXPECT_EQ(rec.runs_good(), 1u);
  EXPECT_EQ(rec.runs_bad(), 2u);
  EXPECT_EQ(rec.runs_invalid(), 1u);

  const auto& browse = rec.steps().at(StepKey{"checkout", "browse", "edge-a"});
  EXPECT_EQ(browse.good, 3u);
  EXPECT_EQ(browse.bad, 0u);
  EXPECT_EQ(browse.invalid, 1u);
  EXPECT_EQ(browse.valid(), 3u);
  EXPECT_EQ(browse.invalid_by_reason.at(Reason::late_start), 1u);
  EXPECT_EQ(browse.latency.count(), 3u);
  EXPECT_NEAR(browse.latency.sum(), 0.29, 1e-12);
  EXPECT_EQ(browse.position, 0u);

  const auto& pay = rec.steps().at(StepKey{"checkout", "pay", "edge-a"});
  EXPECT_EQ(pay.good, 1u);
  EXPECT_EQ(pay.bad, 2u);
  EXPECT_EQ(pay.skipped, 1u);
  EXPECT_EQ(pay.bad_by_reason.at(Reason::status), 1u);
  EXPECT_EQ(pay.bad_by_reason.at(Reason::timeout), 1u);
  EXPECT_EQ(pay.latency.count(), 2u);  // 503 after 40 ms and 200 after 300 ms; not the timeout
  EXPECT_NEAR(pay.latency.sum(), 0.34, 1e-12);
  EXPECT_EQ(pay.last_bad_message, "timeout after 10 s");
  EXPECT_EQ(pay.position, 1u);

  const auto& receipt = rec.steps().at(StepKey{"checkout", "receipt", "edge-a"});
  EXPECT_EQ(receipt.good, 1u);
  EXPECT_EQ(receipt.skipped, 3u);
  EXPECT_EQ(receipt.valid(), 1u);

  const auto& js = rec.journeys().at(JourneyKey{"checkout", "edge-a"});
  EXPECT_TRUE(js.ran);
  EXPECT_EQ(js.runs_good, 1u);
  EXPECT_EQ(js.runs_bad, 2u);
  EXPECT_EQ(js.runs_invalid, 1u);
  EXPECT_EQ(js.runs_valid(), 3u);
  EXPECT_EQ(js.last_result, Result::invalid);
  EXPECT_EQ(js.last_reason, Reason::late_start);
  EXPECT_EQ(js.last_failed_step, "browse");
}

TEST(Recorder, KeysSeparateJourneysAndLocations) {
  Recorder rec;
  rec.add(run("login", "edge-a", {step("post", Result::good)}));
  rec.add(run("login", "edge-b", {step("post", Result::bad, Reason::connect, 0)}));
  rec.add(run("search", "edge-a", {step("post", Result::good)}));
  ASSERT_EQ(rec.steps().size(), 3u);
  ASSERT_EQ(rec.journeys().size(), 3u);
  EXPECT_EQ(rec.steps().at(StepKey{"login", "post", "edge-a"}).good, 1u);
  EXPECT_EQ(rec.steps().at(StepKey{"login", "post", "edge-b"}).bad, 1u);
  EXPECT_EQ(rec.journeys().at(JourneyKey{"login", "edge-b"}).last_reason, Reason::connect);
  EXPECT_EQ(rec.journeys().at(JourneyKey{"search", "edge-a"}).last_result, Result::good);
}

TEST(Recorder, UsesItsBucketsForEveryStep) {
  Recorder rec({0.1, 1});
  rec.add(run("j", "l", {step("s", Result::good, Reason::none, 200, 500)}));
  const auto& h = rec.steps().at(StepKey{"j", "s", "l"}).latency;
  EXPECT_THAT(h.bounds(), ElementsAre(0.1, 1));
  EXPECT_THAT(h.counts(), ElementsAre(0, 1, 0));
}

TEST(Recorder, MissedSlotsCountWithoutARun) {
  Recorder rec;
  rec.add_missed_slot("checkout", "edge-a");
  rec.add_missed_slot("checkout", "edge-a");
  const auto& js = rec.journeys().at(JourneyKey{"checkout", "edge-a"});
  EXPECT_EQ(js.missed_slots, 2u);
  EXPECT_FALSE(js.ran);
  EXPECT_EQ(rec.runs(), 0u);
  rec.add(run("checkout", "edge-a", {step("s", Result::good)}));
  EXPECT_EQ(rec.journeys().at(JourneyKey{"checkout", "edge-a"}).missed_slots, 2u);
  EXPECT_TRUE(rec.journeys().at(JourneyKey{"checkout", "edge-a"}).ran);
}

// ---------------------------------------------------------------------------------------------
// Summary

std::string summary(const Recorder& rec, bool color = false) {
  std::ostringstream out;
  print_summary(out, rec, color);
  return out.str();
}

TEST(Summary, EmptyRecorder) {
  EXPECT_EQ(summary(Recorder{}), "No runs recorded.\n");
}

TEST(Summary, ExactLayout) {
  Recorder rec;
  // 199 good of 200 for "login", listed before "browse" because it comes first in the journey.
  for (int i = 0; i < 199; ++i)
    rec.add(run("shop", "edge-a",
                {step("login", Result::good, Reason::none, 200, 7),
                 step("browse", Result::good, Reason::none, 200, 20)}));
  rec.add(run("shop", "edge-a",
              {step("login", Result::bad, Reason::status, 500, 3, "status: expected 200, got 500"),
               step("browse", Result::skipped)}));
  rec.add_missed_slot("shop", "edge-a");

  const std::string want =
      "JOURNEY  LOCATION  STEP    VALID  GOOD      SLI      P50      P95  INVALID  TOP REASON\n"
      "shop     edge-a    login     200   199   99.50%  7.49 ms  9.75 ms        0  status ×1\n"
      "                   browse    199   199  100.00%  17.5 ms  24.2 ms        0  -\n"
      "\n"
      "shop @ edge-a: 199/200 runs good (99.50%), 1 missed slot; last run bad at login "
      "(status)\n"
      "\n"
      "last failures:\n"
      "  shop @ edge-a / login: status: expected 200, got 500\n"
      "\n"
      "200 runs: 199 good, 1 bad, 0 invalid\n";
  EXPECT_EQ(summary(rec), want);
}

TEST(Summary, RowsAndNumbers) {
  Recorder rec;
  rec.add(run("checkout", "edge-a",
              {step("pay", Result::bad, Reason::status, 503, 40, "got 503"),
               step("receipt", Result::skipped)}));
  rec.add(run("checkout", "edge-a",
              {step("pay", Result::bad, Reason::status, 502, 40, "got 502"),
               step("receipt", Result::skipped)}));
  rec.add(run("checkout", "edge-a",
              {step("pay", Result::bad, Reason::timeout, 0, 10000, "timed out"),
               step("receipt", Result::skipped)}));
  rec.add(
      run("checkout", "edge-a",
          {step("pay", Result::invalid, Reason::late_start, 0), step("receipt", Result::skipped)}));
  rec.add(run("login", "edge-b", {step("post", Result::good, Reason::none, 200, 100)}));
  rec.add_missed_slot("search", "edge-c");

  const std::string text = summary(rec);
  EXPECT_THAT(text, Not(HasSubstr("\033[")));
  std::istringstream lines(text);
  std::vector<std::string> v;
  for (std::string l; std::getline(lines, l);)
    v.push_back(l);
  ASSERT_GE(v.size(), 4u);
  // pay: 3 valid, 0 good, SLI 0 %, latency of the two answers (40 ms -> in (25, 50] ms), 1
  // invalid, status twice beats timeout once.
  EXPECT_THAT(v[1],
              testing::MatchesRegex(
                  "checkout +edge-a +pay +3 +0 +0.00% +[0-9.]+ ms +[0-9.]+ ms +1 +status ×2"));
  // receipt never ran: no SLI, no latency
  EXPECT_THAT(v[2], testing::MatchesRegex(" +receipt +0 +0 +- +- +- +0 +-"));
  EXPECT_THAT(v[3], testing::MatchesRegex(
                        "login +edge-b +post +1 +1 +100.00% +[0-9.]+ ms +[0-9.]+ ms +0 +-"));
  EXPECT_THAT(text, HasSubstr("checkout @ edge-a: 0/3 runs good (0.00%), 1 invalid, 0 missed "
                              "slots; last run invalid at pay (late_start)\n"));
  EXPECT_THAT(text, HasSubstr("login @ edge-b: 1/1 runs good (100.00%), 0 missed slots\n"));
  EXPECT_THAT(text, HasSubstr("search @ edge-c: no run finished, 1 missed slot\n"));
  EXPECT_THAT(text, HasSubstr("  checkout @ edge-a / pay: timed out\n"));
  EXPECT_THAT(text, HasSubstr("5 runs: 1 good, 3 bad, 1 invalid\n"));
}

TEST(Summary, LatencyBeyondTheLastBucketIsMarked) {
  Recorder rec({0.1});
  rec.add(run("j", "l", {step("s", Result::good, Reason::none, 200, 5000)}));
  EXPECT_THAT(summary(rec), HasSubstr(">100.0 ms"));
}

TEST(Summary, ColorOnlyWhenAsked) {
  Recorder rec;
  rec.add(run("j", "l", {step("s", Result::bad, Reason::body, 200, 5, "no order_id")}));
  EXPECT_THAT(summary(rec, false), Not(HasSubstr("\033[")));
  const std::string colored = summary(rec, true);
  EXPECT_THAT(colored, HasSubstr("\033[31m"));
  EXPECT_THAT(colored, HasSubstr("\033[0m"));
  // The same text once the escape codes are removed.
  std::string plain;
  for (std::size_t i = 0; i < colored.size(); ++i) {
    if (colored[i] == '\033') {
      i = colored.find('m', i);
      continue;
    }
    plain += colored[i];
  }
  EXPECT_EQ(plain, summary(rec, false));
}

}  // namespace
