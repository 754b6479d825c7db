#include "prober/engine/live_view.hpp"

#include <sstream>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using prober::engine::LiveStatus;
using prober::engine::render_live_frame;
using prober::record::Reason;
using prober::record::Recorder;
using prober::record::Result;
using prober::record::RunResult;
using prober::record::StepResult;
using testing::HasSubstr;
using testing::Not;

RunResult run(std::string journey, std::string location, Result result,
              Reason reason = Reason::none, std::string failed_step = "") {
  RunResult r;
  r.journey = std::move(journey);
  r.location = std::move(location);
  r.result = result;
  r.reason = reason;
  r.failed_step = failed_step;
  StepResult s;
  s.name = failed_step.empty() ? "only" : failed_step;
  s.result = result;
  s.reason = reason;
  s.status = result == Result::good ? 200 : 0;
  r.steps.push_back(s);
  return r;
}

std::vector<std::string> lines_of(const std::string& frame) {
  std::vector<std::string> v;
  std::istringstream in(frame);
  for (std::string l; std::getline(in, l);)
    v.push_back(l);
  return v;
}

// Columns in code points, as the view counts them.
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

Recorder sample() {
  Recorder rec;
  rec.add(run("checkout", "edge-a", Result::good));
  rec.add(run("checkout", "edge-a", Result::bad, Reason::status, "pay"));
  rec.add(run("login", "edge-a", Result::good));
  rec.add(run("login", "edge-a", Result::good));
  rec.add(run("search", "edge-b", Result::invalid, Reason::late_start, "query"));
  rec.add_missed_slot("search", "edge-b");
  rec.add_missed_slot("status", "edge-c");  // scheduled, never finished a run
  return rec;
}

LiveStatus status() {
  LiveStatus st;
  st.uptime = std::chrono::seconds(3723);
  st.runs_per_second = 2.5;
  st.in_flight = 1;
  st.scheduled = 4;
  st.schedule_lag_p99_ms = 1.25;
  st.loop_stall_max_ms = 0.3;
  st.missed_slots = 2;
  return st;
}

TEST(LiveView, ExactFrame) {
  const std::string frame = render_live_frame(sample(), status(), 0, 0, false);
  EXPECT_EQ(frame,
            "prober  up 1h02m03s  2.5 runs/s  in flight 1/4  good 3  bad 1  invalid 1  lag p99 "
            "1.2 ms  stall max 0.3 ms  missed 2\n"
            "checkout @ edge-a  bad at pay: status            runs 1/2  SLI 50.00%\n"
            "search @ edge-b    invalid at query: late_start  runs 0/0  SLI -        missed 1\n"
            "login @ edge-a     good                          runs 2/2  SLI 100.00%\n"
            "status @ edge-c    waiting                       runs 0/0  SLI -        missed 1\n");
}

TEST(LiveView, FailingPairsComeFirst) {
  const auto v = lines_of(render_live_frame(sample(), status(), 0, 0, false));
  ASSERT_EQ(v.size(), 5u);
  EXPECT_THAT(v[1], testing::StartsWith("checkout @ edge-a"));  // bad
  EXPECT_THAT(v[2], testing::StartsWith("search @ edge-b"));    // invalid
  EXPECT_THAT(v[3], testing::StartsWith("login @ edge-a"));     // good
  EXPECT_THAT(v[4], testing::StartsWith("status @ edge-c"));    // waiting
}

struct RowsCase {
  std::size_t max_rows;
  std::size_t journey_lines;  // lines after the header
  const char* last;           // what the last line starts with
};

class LiveViewRows : public testing::TestWithParam<RowsCase> {};

TEST_P(LiveViewRows, AtMostMaxRowsWithAMoreLine) {
  const auto& c = GetParam();
  const auto v = lines_of(render_live_frame(sample(), status(), 0, c.max_rows, false));
  ASSERT_EQ(v.size(), 1 + c.journey_lines);
  EXPECT_THAT(v.back(), testing::StartsWith(c.last));
}

INSTANTIATE_TEST_SUITE_P(LiveView, LiveViewRows,
                         testing::Values(RowsCase{0, 4, "status @"},  // 0: no limit
                                         RowsCase{4, 4, "status @"},  // exactly fits
                                         RowsCase{10, 4, "status @"}, RowsCase{3, 3, "… 2 more"},
                                         RowsCase{2, 2, "… 3 more"}, RowsCase{1, 1, "… 4 more"}));

class LiveViewWidth : public testing::TestWithParam<std::size_t> {};

TEST_P(LiveViewWidth, EveryLineFitsAndCutsAreMarked) {
  const std::size_t width = GetParam();
  const std::string full = render_live_frame(sample(), status(), 0, 0, false);
  const auto whole = lines_of(full);
  const auto cut = lines_of(render_live_frame(sample(), status(), width, 0, false));
  ASSERT_EQ(cut.size(), whole.size());
  for (std::size_t i = 0; i < cut.size(); ++i) {
    EXPECT_LE(columns(cut[i]), width) << cut[i];
    if (columns(whole[i]) <= width) {
      EXPECT_EQ(cut[i], whole[i]);
    } else {
      EXPECT_EQ(columns(cut[i]), width) << cut[i];
      EXPECT_THAT(cut[i], testing::EndsWith("…"));
      // what is left is the start of the whole line
      const std::string kept = cut[i].substr(0, cut[i].size() - std::string("…").size());
      EXPECT_EQ(whole[i].compare(0, kept.size(), kept), 0) << cut[i];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(LiveView, LiveViewWidth, testing::Values(1, 10, 40, 60, 80, 200));

TEST(LiveView, CutCountsCodePointsNotBytes) {
  Recorder rec;
  rec.add(run("café", "zürich", Result::good));
  const auto v = lines_of(render_live_frame(rec, status(), 12, 0, false));
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1], "café @ züri…");
}

TEST(LiveView, ColourDoesNotCountAsColumns) {
  const std::size_t width = 50;
  const std::string colored = render_live_frame(sample(), status(), width, 0, true);
  EXPECT_THAT(colored, HasSubstr("\033[31m"));  // bad
  EXPECT_THAT(colored, HasSubstr("\033[32m"));  // good
  EXPECT_THAT(colored, HasSubstr("\033[35m"));  // invalid
  std::string plain;
  for (std::size_t i = 0; i < colored.size(); ++i) {
    if (colored[i] == '\033') {
      i = colored.find('m', i);
      continue;
    }
    plain += colored[i];
  }
  EXPECT_EQ(plain, render_live_frame(sample(), status(), width, 0, false));
  EXPECT_THAT(render_live_frame(sample(), status(), width, 0, false), Not(HasSubstr("\033")));
}

TEST(LiveView, NamesCannotDriveTheTerminal) {
  Recorder rec;
  rec.add(run("evil\033[2J", "loc\nnext", Result::good));
  const std::string frame = render_live_frame(rec, status(), 0, 0, false);
  EXPECT_THAT(frame, Not(HasSubstr("\033")));
  EXPECT_EQ(lines_of(frame).size(), 2u);
  EXPECT_THAT(frame, HasSubstr("evil?[2J @ loc?next"));
}

struct UptimeCase {
  long long seconds;
  const char* text;
};

class LiveViewUptime : public testing::TestWithParam<UptimeCase> {};

TEST_P(LiveViewUptime, Formats) {
  LiveStatus st;
  st.uptime = std::chrono::seconds(GetParam().seconds);
  EXPECT_THAT(render_live_frame(Recorder{}, st, 0, 0, false),
              testing::StartsWith(std::string("prober  up ") + GetParam().text + "  "));
}

INSTANTIATE_TEST_SUITE_P(LiveView, LiveViewUptime,
                         testing::Values(UptimeCase{0, "0s"}, UptimeCase{45, "45s"},
                                         UptimeCase{125, "2m05s"}, UptimeCase{3723, "1h02m03s"},
                                         UptimeCase{3 * 86400 + 4 * 3600 + 5 * 60 + 6,
                                                    "3d04h05m"}));

TEST(LiveView, EmptyRecorderIsJustTheHeader) {
  const auto v = lines_of(render_live_frame(Recorder{}, LiveStatus{}, 80, 10, false));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_THAT(v[0], HasSubstr("good 0  bad 0  invalid 0"));
}

}  // namespace
