#include "prober/sinks/remote_write.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <snappy.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "remote_write.pb.h"  // protoc's classes: the reference decoder

namespace {

using prober::record::Reason;
using prober::record::Recorder;
using prober::record::Result;
using prober::record::RunResult;
using prober::record::StepResult;
using prober::sinks::collect_samples;
using prober::sinks::Samples;
using prober::sinks::WireSample;

Recorder filled() {
  Recorder rec({0.1, 1});
  RunResult r;
  r.journey = "shop \"x\"";
  r.location = "eu";
  r.result = Result::bad;
  StepResult a;
  a.name = "home";
  a.result = Result::good;
  a.timings.total_ms = 50;
  StepResult b;
  b.name = "cart";
  b.result = Result::bad;
  b.reason = Reason::status;
  b.status = 500;
  b.timings.total_ms = 1500;
  r.steps = {a, b};
  rec.add(r);
  rec.add_missed_slot("shop \"x\"", "eu");
  return rec;
}

prometheus::WriteRequest decode(const std::string& body) {
  std::string raw;
  EXPECT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw));
  prometheus::WriteRequest req;
  EXPECT_TRUE(req.ParseFromString(raw));
  return req;
}

std::map<std::string, std::string> labels_of(const prometheus::TimeSeries& ts) {
  std::map<std::string, std::string> m;
  for (const auto& l : ts.labels()) m[l.name()] = l.value();
  return m;
}

TEST(RemoteWrite, RoundTripThroughProtocAndSnappy) {
  const Recorder rec = filled();
  prober::engine::SchedulerStats self;
  self.loop_stall_max_ms = 250;
  const Samples samples = collect_samples(rec, &self);
  std::vector<WireSample> wire;
  prober::sinks::remote_write_encode(samples, 1'700'000'000'123, wire);
  ASSERT_EQ(wire.size(), samples.series.size());

  const auto req = decode(prober::sinks::remote_write_body(wire));
  ASSERT_EQ(static_cast<std::size_t>(req.timeseries_size()), samples.series.size());
  for (int i = 0; i < req.timeseries_size(); ++i) {
    const auto& ts = req.timeseries(i);
    const auto& s = samples.series[static_cast<std::size_t>(i)];
    // Labels sorted by name, __name__ among them, every non-empty label there.
    std::vector<std::string> names;
    for (const auto& l : ts.labels()) names.push_back(l.name());
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end())) << testing::PrintToString(names);
    auto m = labels_of(ts);
    EXPECT_EQ(m["__name__"], samples.name(s));
    for (const auto& [k, v] : s.labels) EXPECT_EQ(m[k], v) << k;
    EXPECT_EQ(m.size(), s.labels.size() + 1);
    ASSERT_EQ(ts.samples_size(), 1);
    EXPECT_EQ(ts.samples(0).timestamp(), 1'700'000'000'123);
    EXPECT_EQ(ts.samples(0).value(), s.value.as_double()) << samples.name(s);
  }
  // Spot checks of known values.
  bool saw_bad = false, saw_stall = false, saw_bucket = false;
  for (const auto& ts : req.timeseries()) {
    auto m = labels_of(ts);
    if (m["__name__"] == "prober_step_bad_total" && m["step"] == "cart") {
      saw_bad = true;
      EXPECT_EQ(m["reason"], "status");
      EXPECT_EQ(m["journey"], "shop \"x\"");  // no escaping in protobuf
      EXPECT_EQ(ts.samples(0).value(), 1);
    }
    if (m["__name__"] == "prober_loop_stall_max_seconds") {
      saw_stall = true;
      EXPECT_EQ(ts.samples(0).value(), 0.25);
    }
    if (m["__name__"] == "prober_step_latency_seconds_bucket" && m["step"] == "cart" &&
        m["le"] == "+Inf") {
      saw_bucket = true;
      EXPECT_EQ(ts.samples(0).value(), 1);
    }
  }
  EXPECT_TRUE(saw_bad && saw_stall && saw_bucket);
}

TEST(RemoteWrite, BytesEqualProtocsOwnSerialization) {
  const Recorder rec = filled();
  const Samples samples = collect_samples(rec, nullptr);
  std::vector<WireSample> wire;
  prober::sinks::remote_write_encode(samples, 1000, wire);
  prober::sinks::remote_write_encode(samples, 2000, wire);

  // The same request built with the generated classes: one TimeSeries per series, both samples.
  prometheus::WriteRequest want;
  for (const auto& s : samples.series) {
    auto* ts = want.add_timeseries();
    std::vector<std::pair<std::string, std::string>> labels(s.labels.begin(), s.labels.end());
    labels.emplace_back("__name__", samples.name(s));
    std::sort(labels.begin(), labels.end());
    for (const auto& [k, v] : labels) {
      auto* l = ts->add_labels();
      l->set_name(k);
      l->set_value(v);
    }
    for (std::int64_t t : {1000, 2000}) {
      auto* p = ts->add_samples();
      p->set_value(s.value.as_double());
      p->set_timestamp(t);
    }
  }
  EXPECT_EQ(prober::sinks::remote_write_request(wire), want.SerializeAsString());
}

TEST(RemoteWrite, SamplesOfASeriesGroupedInTimeOrder) {
  const Recorder rec = filled();
  const Samples samples = collect_samples(rec, nullptr);
  std::vector<WireSample> wire;
  for (std::int64_t t : {3000, 4000, 5000}) prober::sinks::remote_write_encode(samples, t, wire);
  const auto req = decode(prober::sinks::remote_write_body(wire));
  ASSERT_EQ(static_cast<std::size_t>(req.timeseries_size()), samples.series.size());
  for (const auto& ts : req.timeseries()) {
    ASSERT_EQ(ts.samples_size(), 3);
    EXPECT_EQ(ts.samples(0).timestamp(), 3000);
    EXPECT_EQ(ts.samples(1).timestamp(), 4000);
    EXPECT_EQ(ts.samples(2).timestamp(), 5000);
  }
}

TEST(RemoteWrite, EmptyLabelValuesAreLeftOutAndOddValuesSurvive) {
  Samples s;
  s.families.push_back({"x", prober::sinks::MetricType::gauge, "help"});
  s.series.push_back({0, "", {{"b", ""}, {"a", "1"}}, {false, 0, -0.5}});
  s.series.push_back({0, "", {{"a", "2"}}, {false, 0, 0.0}});
  s.series.push_back({0, "", {{"a", "3"}}, {false, 0, 1e300}});
  s.series.push_back({0, "", {{"a", std::string("nul\0byte", 8)}}, {true, 1ull << 62, 0}});
  std::vector<WireSample> wire;
  prober::sinks::remote_write_encode(s, -5, wire);  // before 1970: a negative varint
  const auto req = decode(prober::sinks::remote_write_body(wire));
  ASSERT_EQ(req.timeseries_size(), 4);
  EXPECT_EQ(labels_of(req.timeseries(0)),
            (std::map<std::string, std::string>{{"__name__", "x"}, {"a", "1"}}));
  EXPECT_EQ(req.timeseries(0).samples(0).value(), -0.5);
  EXPECT_EQ(req.timeseries(0).samples(0).timestamp(), -5);
  EXPECT_EQ(req.timeseries(1).samples(0).value(), 0.0);
  EXPECT_EQ(req.timeseries(2).samples(0).value(), 1e300);
  EXPECT_EQ(labels_of(req.timeseries(3))["a"], std::string("nul\0byte", 8));
  EXPECT_EQ(req.timeseries(3).samples(0).value(), static_cast<double>(1ull << 62));
}

TEST(RemoteWrite, EmptyBatchIsAnEmptyRequest) {
  EXPECT_EQ(prober::sinks::remote_write_request({}), "");
  const auto req = decode(prober::sinks::remote_write_body({}));
  EXPECT_EQ(req.timeseries_size(), 0);
}

}  // namespace
