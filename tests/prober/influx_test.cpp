#include "prober/sinks/influx.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using prober::sinks::InfluxField;
using prober::sinks::influx_line;
using prober::sinks::MetricType;
using prober::sinks::Samples;
using prober::sinks::WireSample;

TEST(Influx, Escaping) {
  struct Case {
    std::string in, measurement, key, string_field;
  };
  const std::vector<Case> cases{
      {"plain", "plain", "plain", "plain"},
      {"a b", "a\\ b", "a\\ b", "a b"},
      {"a,b", "a\\,b", "a\\,b", "a,b"},
      {"a=b", "a=b", "a\\=b", "a=b"},
      {"q\"uote", "q\"uote", "q\"uote", "q\\\"uote"},
      {"back\\slash", "back\\\\slash", "back\\\\slash", "back\\\\slash"},
      {"trailing\\", "trailing\\\\", "trailing\\\\", "trailing\\\\"},
      {"line\nfeed", "line\\nfeed", "line\\nfeed", "line\nfeed"},
      {"cr\r", "cr\\r", "cr\\r", "cr\r"},
      {"ünï", "ünï", "ünï", "ünï"},
      {"", "", "", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(prober::sinks::influx_escape_measurement(c.in), c.measurement) << c.in;
    EXPECT_EQ(prober::sinks::influx_escape_key(c.in), c.key) << c.in;
    EXPECT_EQ(prober::sinks::influx_escape_string_field(c.in), c.string_field) << c.in;
  }
}

TEST(Influx, LineWithEveryFieldType) {
  const std::vector<std::pair<std::string, std::string>> tags{
      {"a key", "v,1"}, {"empty", ""}, {"", "nokey"}, {"z", "x=y"}};
  const std::vector<std::pair<std::string, InfluxField>> fields{
      {"i", std::int64_t{-42}}, {"f", 0.25}, {"s", std::string("say \"hi\"\\")}, {"b", true},
      {"big", 1e-7}};
  EXPECT_EQ(influx_line("m e,as", tags, fields, 1700000000123456789),
            "m\\ e\\,as,a\\ key=v\\,1,z=x\\=y i=-42i,f=0.25,s=\"say \\\"hi\\\"\\\\\",b=true,"
            "big=1e-07 1700000000123456789");
}

TEST(Influx, MappingOfSeriesToMeasurementTagsAndField) {
  Samples s;
  s.families.push_back({"prober_step_events", MetricType::counter, ""});
  s.families.push_back({"prober_step_latency_seconds", MetricType::histogram, ""});
  s.families.push_back({"prober_loop_stall_max_seconds", MetricType::gauge, ""});
  s.series.push_back(
      {0, "_total", {{"journey", "shop x"}, {"step", "home"}, {"result", "good"}}, {true, 7, 0}});
  s.series.push_back({1, "_bucket", {{"step", "home"}, {"le", "0.005"}}, {true, 3, 0}});
  s.series.push_back({1, "_bucket", {{"step", "home"}, {"le", "+Inf"}}, {true, 4, 0}});
  s.series.push_back({1, "_sum", {{"step", "home"}}, {false, 0, 1.5}});
  s.series.push_back({1, "_count", {{"step", "home"}}, {true, 4, 0}});
  s.series.push_back({2, "", {}, {false, 0, 0.25}});
  s.series.push_back({2, "", {{"x", "nan"}}, {false, 0, std::nan("")}});  // left out
  s.series.push_back({2, "", {{"x", "inf"}}, {false, 0, INFINITY}});      // left out
  s.series.push_back({0, "_total", {{"x", "huge"}}, {true, ~0ull, 0}});   // clamped to int64
  std::vector<WireSample> out;
  prober::sinks::influx_encode(s, 5, out);
  std::vector<std::string> lines;
  for (const auto& w : out) {
    EXPECT_EQ(w.series, "");
    lines.push_back(w.point);
  }
  EXPECT_THAT(lines,
              testing::ElementsAre(
                  "prober_step_events,journey=shop\\ x,result=good,step=home total=7i 5",
                  "prober_step_latency_seconds,le=0.005,step=home bucket=3i 5",
                  "prober_step_latency_seconds,le=+Inf,step=home bucket=4i 5",
                  "prober_step_latency_seconds,step=home sum=1.5 5",
                  "prober_step_latency_seconds,step=home count=4i 5",
                  "prober_loop_stall_max_seconds value=0.25 5",
                  "prober_step_events,x=huge total=9223372036854775807i 5"));
  EXPECT_EQ(prober::sinks::influx_body({{"", "a 1"}, {"", "b 2"}}), "a 1\nb 2\n");
}

TEST(Influx, WriteUrls) {
  prober::sinks::PushSinkConfig c;
  c.kind = prober::sinks::PushKind::influx_v1;
  c.url = "http://127.0.0.1:8086/";
  c.database = "pro ber&x";
  EXPECT_EQ(prober::sinks::influx_write_url(c), "http://127.0.0.1:8086/write?db=pro%20ber%26x");
  c.kind = prober::sinks::PushKind::influx_v2;
  c.url = "https://influx.example/base";
  c.org = "my org";
  c.bucket = "b/1";
  EXPECT_EQ(prober::sinks::influx_write_url(c),
            "https://influx.example/base/api/v2/write?org=my%20org&bucket=b%2F1&precision=ns");
}

}  // namespace
