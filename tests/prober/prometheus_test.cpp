#include "prober/sinks/prometheus.hpp"

#include <poll.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/post.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using prober::engine::SchedulerStats;
using prober::record::Histogram;
using prober::record::Reason;
using prober::record::Recorder;
using prober::record::Result;
using prober::record::RunResult;
using prober::record::StepResult;
using prober::sinks::escape_label_value;
using prober::sinks::MetricsServer;
using prober::sinks::render_metrics;
using testing::HasSubstr;
using testing::Not;

// ---------------------------------------------------------------------------------------------
// render_metrics

StepResult step(std::string name, Result result, Reason reason, int status, double total_ms) {
  StepResult s;
  s.name = std::move(name);
  s.result = result;
  s.reason = reason;
  s.status = status;
  s.timings.total_ms = total_ms;
  return s;
}

RunResult run(std::string journey, std::string location, Result result,
              std::vector<StepResult> steps) {
  RunResult r;
  r.journey = std::move(journey);
  r.location = std::move(location);
  r.result = result;
  r.steps = std::move(steps);
  return r;
}

const std::string kShop = "sh\"op\\x";  // a journey name that needs escaping

// Two journeys, buckets {0.1, 1} s so the histograms stay short.
Recorder filled() {
  Recorder rec({0.1, 1});
  RunResult bad = run(kShop, "eu", Result::bad,
                      {step("home", Result::good, Reason::none, 200, 50),
                       step("cart", Result::bad, Reason::status, 500, 1500)});
  bad.duration_ms = 1550;  // a bad run: not in prober_journey_duration_seconds
  rec.add(bad);
  rec.add(run(kShop, "eu", Result::invalid,
              {step("home", Result::invalid, Reason::loop_stall, 200, 30),
               step("cart", Result::skipped, Reason::none, 0, 0)}));
  RunResult good =
      run("api", "eu", Result::good, {step("ping", Result::good, Reason::none, 200, 100)});
  good.duration_ms = 250;  // the only good run: its duration is observed
  rec.add(good);
  rec.add_missed_slot(kShop, "eu");
  rec.add_missed_slot(kShop, "eu");
  rec.add_missed_slot("nl", "a\nb");  // a line feed in a label value
  return rec;
}

SchedulerStats self_stats() {
  SchedulerStats s;
  s.schedule_lag = Histogram({0.5, 1});
  s.schedule_lag.observe(0.25);
  s.schedule_lag.observe(0.5);
  s.schedule_lag.observe(2);
  s.late_starts = 2;
  s.stalls = 1;
  s.loop_stall_max_ms = 250;
  return s;
}

std::vector<std::string> lines_of(const std::string& text, bool comments) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    if (comments == (!line.empty() && line[0] == '#')) out.push_back(line);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// Sample lines for the text format; OpenMetrics differs only in `le` values (floats).
const char* const kSamples = R"(prober_step_events_total{journey="api",step="ping",location="eu",result="bad"} 0
prober_step_events_total{journey="api",step="ping",location="eu",result="good"} 1
prober_step_events_total{journey="api",step="ping",location="eu",result="invalid"} 0
prober_step_events_total{journey="api",step="ping",location="eu",result="skipped"} 0
prober_step_events_total{journey="sh\"op\\x",step="cart",location="eu",result="bad"} 1
prober_step_events_total{journey="sh\"op\\x",step="cart",location="eu",result="good"} 0
prober_step_events_total{journey="sh\"op\\x",step="cart",location="eu",result="invalid"} 0
prober_step_events_total{journey="sh\"op\\x",step="cart",location="eu",result="skipped"} 1
prober_step_events_total{journey="sh\"op\\x",step="home",location="eu",result="bad"} 0
prober_step_events_total{journey="sh\"op\\x",step="home",location="eu",result="good"} 1
prober_step_events_total{journey="sh\"op\\x",step="home",location="eu",result="invalid"} 1
prober_step_events_total{journey="sh\"op\\x",step="home",location="eu",result="skipped"} 0
prober_step_bad_total{journey="sh\"op\\x",step="cart",location="eu",reason="status"} 1
prober_step_invalid_total{journey="sh\"op\\x",step="home",location="eu",reason="loop_stall"} 1
prober_step_latency_seconds_bucket{journey="api",step="ping",location="eu",le="0.1"} 1
prober_step_latency_seconds_bucket{journey="api",step="ping",location="eu",le="1"} 1
prober_step_latency_seconds_bucket{journey="api",step="ping",location="eu",le="+Inf"} 1
prober_step_latency_seconds_sum{journey="api",step="ping",location="eu"} 0.1
prober_step_latency_seconds_count{journey="api",step="ping",location="eu"} 1
prober_step_latency_seconds_bucket{journey="sh\"op\\x",step="cart",location="eu",le="0.1"} 0
prober_step_latency_seconds_bucket{journey="sh\"op\\x",step="cart",location="eu",le="1"} 0
prober_step_latency_seconds_bucket{journey="sh\"op\\x",step="cart",location="eu",le="+Inf"} 1
prober_step_latency_seconds_sum{journey="sh\"op\\x",step="cart",location="eu"} 1.5
prober_step_latency_seconds_count{journey="sh\"op\\x",step="cart",location="eu"} 1
prober_step_latency_seconds_bucket{journey="sh\"op\\x",step="home",location="eu",le="0.1"} 1
prober_step_latency_seconds_bucket{journey="sh\"op\\x",step="home",location="eu",le="1"} 1
prober_step_latency_seconds_bucket{journey="sh\"op\\x",step="home",location="eu",le="+Inf"} 1
prober_step_latency_seconds_sum{journey="sh\"op\\x",step="home",location="eu"} 0.05
prober_step_latency_seconds_count{journey="sh\"op\\x",step="home",location="eu"} 1
prober_journey_runs_total{journey="api",location="eu",result="bad"} 0
prober_journey_runs_total{journey="api",location="eu",result="good"} 1
prober_journey_runs_total{journey="api",location="eu",result="invalid"} 0
prober_journey_runs_total{journey="nl",location="a\nb",result="bad"} 0
prober_journey_runs_total{journey="nl",location="a\nb",result="good"} 0
prober_journey_runs_total{journey="nl",location="a\nb",result="invalid"} 0
prober_journey_runs_total{journey="sh\"op\\x",location="eu",result="bad"} 1
prober_journey_runs_total{journey="sh\"op\\x",location="eu",result="good"} 0
prober_journey_runs_total{journey="sh\"op\\x",location="eu",result="invalid"} 1
prober_journey_missed_slots_total{journey="api",location="eu"} 0
prober_journey_missed_slots_total{journey="nl",location="a\nb"} 1
prober_journey_missed_slots_total{journey="sh\"op\\x",location="eu"} 2
prober_journey_duration_seconds_bucket{journey="api",location="eu",le="0.1"} 0
prober_journey_duration_seconds_bucket{journey="api",location="eu",le="1"} 1
prober_journey_duration_seconds_bucket{journey="api",location="eu",le="+Inf"} 1
prober_journey_duration_seconds_sum{journey="api",location="eu"} 0.25
prober_journey_duration_seconds_count{journey="api",location="eu"} 1
prober_journey_duration_seconds_bucket{journey="nl",location="a\nb",le="0.1"} 0
prober_journey_duration_seconds_bucket{journey="nl",location="a\nb",le="1"} 0
prober_journey_duration_seconds_bucket{journey="nl",location="a\nb",le="+Inf"} 0
prober_journey_duration_seconds_sum{journey="nl",location="a\nb"} 0
prober_journey_duration_seconds_count{journey="nl",location="a\nb"} 0
prober_journey_duration_seconds_bucket{journey="sh\"op\\x",location="eu",le="0.1"} 0
prober_journey_duration_seconds_bucket{journey="sh\"op\\x",location="eu",le="1"} 0
prober_journey_duration_seconds_bucket{journey="sh\"op\\x",location="eu",le="+Inf"} 0
prober_journey_duration_seconds_sum{journey="sh\"op\\x",location="eu"} 0
prober_journey_duration_seconds_count{journey="sh\"op\\x",location="eu"} 0
prober_schedule_lag_seconds_bucket{le="0.5"} 2
prober_schedule_lag_seconds_bucket{le="1"} 2
prober_schedule_lag_seconds_bucket{le="+Inf"} 3
prober_schedule_lag_seconds_sum 2.75
prober_schedule_lag_seconds_count 3
prober_late_starts_total 2
prober_loop_stalls_total 1
prober_loop_stall_max_seconds 0.25)";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

TEST(RenderMetrics, TextFormatSamplesAreExact) {
  const Recorder rec = filled();
  const SchedulerStats self = self_stats();
  const std::string text = render_metrics(rec, &self, false);
  EXPECT_EQ(lines_of(text, false), lines_of(kSamples, false));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_THAT(text, Not(HasSubstr("# EOF")));
}

TEST(RenderMetrics, TextFormatMetadataInStableOrder) {
  const Recorder rec = filled();
  const SchedulerStats self = self_stats();
  std::vector<std::string> types;
  for (const auto& l : lines_of(render_metrics(rec, &self, false), true))
    if (l.starts_with("# TYPE ")) types.push_back(l);
  EXPECT_THAT(types, testing::ElementsAre(
                         "# TYPE prober_step_events_total counter",
                         "# TYPE prober_step_bad_total counter",
                         "# TYPE prober_step_invalid_total counter",
                         "# TYPE prober_step_latency_seconds histogram",
                         "# TYPE prober_journey_runs_total counter",
                         "# TYPE prober_journey_missed_slots_total counter",
                         "# TYPE prober_journey_duration_seconds histogram",
                         "# TYPE prober_schedule_lag_seconds histogram",
                         "# TYPE prober_late_starts_total counter",
                         "# TYPE prober_loop_stalls_total counter",
                         "# TYPE prober_loop_stall_max_seconds gauge"));
  // Each TYPE is preceded by the HELP of the same family.
  const auto comments = lines_of(render_metrics(rec, &self, false), true);
  for (std::size_t i = 0; i < comments.size(); ++i)
    if (comments[i].starts_with("# TYPE ")) {
      ASSERT_GT(i, 0u);
      const std::string name = comments[i].substr(7, comments[i].rfind(' ') - 7);
      EXPECT_TRUE(comments[i - 1].starts_with("# HELP " + name + " ")) << comments[i - 1];
    }
}

TEST(RenderMetrics, OpenMetricsNamingFloatsAndEof) {
  const Recorder rec = filled();
  const SchedulerStats self = self_stats();
  const std::string om = render_metrics(rec, &self, true);
  std::string expected = replace_all(kSamples, "le=\"1\"", "le=\"1.0\"");
  EXPECT_EQ(lines_of(om, false), lines_of(expected, false));
  EXPECT_TRUE(om.ends_with("prober_loop_stall_max_seconds 0.25\n# EOF\n"));
  EXPECT_THAT(om, HasSubstr("\n# TYPE prober_step_events counter\n"));
  EXPECT_THAT(om, HasSubstr("# HELP prober_step_events Step outcomes"));
  EXPECT_THAT(om, HasSubstr("\n# TYPE prober_late_starts counter\n"));
  EXPECT_THAT(om, HasSubstr("\n# TYPE prober_step_latency_seconds histogram\n"
                            "# UNIT prober_step_latency_seconds seconds\n"));
  EXPECT_THAT(om, Not(HasSubstr("# TYPE prober_step_events_total")));
}

TEST(RenderMetrics, EmptyRecorderHasOnlyMetadata) {
  const Recorder rec;
  EXPECT_TRUE(lines_of(render_metrics(rec, nullptr, false), false).empty());
  const std::string om = render_metrics(rec, nullptr, true);
  EXPECT_TRUE(om.ends_with("# EOF\n"));
  EXPECT_THAT(om, Not(HasSubstr("prober_schedule_lag")));
}

TEST(RenderMetrics, DefaultBucketsFormatting) {
  // The scheduler's default lag buckets start at 0.1 ms: plain decimals, not 1e-04.
  const SchedulerStats self;
  const Recorder rec;
  const std::string text = render_metrics(rec, &self, false);
  EXPECT_THAT(text, HasSubstr("prober_schedule_lag_seconds_bucket{le=\"0.0001\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("prober_schedule_lag_seconds_bucket{le=\"2.5\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("prober_schedule_lag_seconds_bucket{le=\"5\"} 0\n"));
  const std::string om = render_metrics(rec, &self, true);
  EXPECT_THAT(om, HasSubstr("prober_schedule_lag_seconds_bucket{le=\"5.0\"} 0\n"));
  EXPECT_THAT(om, HasSubstr("prober_schedule_lag_seconds_bucket{le=\"0.0001\"} 0\n"));
}

TEST(RenderMetrics, PushSinkSelfMetricsSortedBySink) {
  const Recorder rec;
  const std::vector<prober::sinks::PushSinkStats> push{{"vm", 5, 10, 2, 3, 4, 100},
                                                       {"influx", 0, 7, 0, 0, 1, 0}};
  const std::string text = render_metrics(rec, nullptr, false, push);
  EXPECT_EQ(lines_of(text, false),
            (std::vector<std::string>{
                "prober_sink_queued_samples{sink=\"influx\"} 0",
                "prober_sink_queued_samples{sink=\"vm\"} 5",
                "prober_sink_sent_samples_total{sink=\"influx\"} 7",
                "prober_sink_sent_samples_total{sink=\"vm\"} 10",
                "prober_sink_dropped_samples_total{sink=\"influx\",reason=\"queue_full\"} 0",
                "prober_sink_dropped_samples_total{sink=\"influx\",reason=\"rejected\"} 0",
                "prober_sink_dropped_samples_total{sink=\"vm\",reason=\"queue_full\"} 2",
                "prober_sink_dropped_samples_total{sink=\"vm\",reason=\"rejected\"} 3",
                "prober_sink_send_failures_total{sink=\"influx\"} 1",
                "prober_sink_send_failures_total{sink=\"vm\"} 4",
                "prober_sink_spilled_bytes{sink=\"influx\"} 0",
                "prober_sink_spilled_bytes{sink=\"vm\"} 100",
            }));
  EXPECT_THAT(text, HasSubstr("# TYPE prober_sink_queued_samples gauge\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE prober_sink_dropped_samples_total counter\n"));
  const std::string om = render_metrics(rec, nullptr, true, push);
  EXPECT_THAT(om, HasSubstr("# TYPE prober_sink_dropped_samples counter\n"));
  EXPECT_TRUE(om.ends_with("prober_sink_spilled_bytes{sink=\"vm\"} 100\n# EOF\n"));
  // No push sink: no family at all.
  EXPECT_THAT(render_metrics(rec, nullptr, false), Not(HasSubstr("prober_sink_")));
}

TEST(RenderMetrics, OneSampleLinePerCollectedSeries) {
  // /metrics, remote write and InfluxDB all render collect_samples(): same series, same order.
  const Recorder rec = filled();
  const SchedulerStats self = self_stats();
  const auto samples = prober::sinks::collect_samples(rec, &self, {{"s", 1, 2, 3, 4, 5, 6}});
  const auto text_lines = lines_of(render_metrics(samples, false), false);
  ASSERT_EQ(text_lines.size(), samples.series.size());
  for (std::size_t i = 0; i < text_lines.size(); ++i)
    EXPECT_TRUE(text_lines[i].starts_with(samples.name(samples.series[i]))) << text_lines[i];
}

TEST(RenderMetrics, EscapeLabelValue) {
  struct Case {
    std::string in, out;
  };
  for (const Case& c : std::vector<Case>{{"plain", "plain"},
                                         {"a\"b", "a\\\"b"},
                                         {"a\\b", "a\\\\b"},
                                         {"a\nb", "a\\nb"},
                                         {"\\\"\n", "\\\\\\\"\\n"},
                                         {"ünïcödé", "ünïcödé"}})
    EXPECT_EQ(escape_label_value(c.in), c.out) << c.in;
}

// promtool (Debian package `prometheus`) parses and lints the text format.
TEST(RenderMetrics, PromtoolAcceptsTextFormat) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "SKIPPED LOUDLY: promtool not found; `apt-get install prometheus` to "
                    "validate the exposition format with `promtool check metrics`";
  const Recorder rec = filled();
  const SchedulerStats self = self_stats();
  const auto path = std::filesystem::temp_directory_path() /
                    ("prober_prom_" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream f(path);
    f << render_metrics(rec, &self, false);
  }
  const std::string cmd = "promtool check metrics < '" + path.string() + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) output += buf;
  const int status = ::pclose(p);
  std::filesystem::remove(path);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << "promtool lint findings";
}

// ---------------------------------------------------------------------------------------------
// MetricsServer, fetched with a tiny raw POSIX client whose every wait has a deadline.

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::unique_ptr<Fd> connect_to(std::uint16_t port) {
  auto fd = std::make_unique<Fd>(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd->get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return nullptr;
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads what is available within `timeout`; false on EOF or error.
bool read_some(int fd, std::string& buf, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return true;  // nothing yet
  char tmp[4096];
  const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf.append(tmp, static_cast<std::size_t>(n));
  return true;
}

struct Reply {
  int status = 0;
  std::string head;  // status line and headers, lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    const auto p = head.find("\r\n" + name + ": ");
    if (p == std::string::npos) return "";
    const auto start = p + name.size() + 4;
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

// One response (Content-Length framed) from fd; nullopt on EOF or after 5 s.
std::optional<Reply> read_reply(int fd, std::string& buf) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      Reply r;
      r.head = buf.substr(0, end + 2);
      for (char& c : r.head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.status = std::stoi(r.head.substr(9, 3));
      const std::size_t length = std::stoul(r.header("content-length"));
      if (buf.size() >= end + 4 + length) {
        r.body = buf.substr(end + 4, length);
        buf.erase(0, end + 4 + length);
        return r;
      }
    }
    if (!read_some(fd, buf, 50ms)) return std::nullopt;
  }
  return std::nullopt;
}

// True once the server has closed fd (EOF or reset) within `timeout`.
bool closed_within(int fd, std::chrono::milliseconds timeout) {
  std::string ignored;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline)
    if (!read_some(fd, ignored, 20ms)) return true;
  return false;
}

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

class MetricsServerTest : public testing::Test {
 protected:
  void start(std::chrono::milliseconds timeout = 10s) {
    server_.emplace(
        io_, "127.0.0.1:0",
        [](bool om) { return std::string(om ? "om body\n# EOF\n" : "text body\n"); }, timeout);
    ASSERT_NE(server_->port(), 0);
    thread_ = std::thread([this] {
      io_.run();
      done_.set_value();
    });
  }

  // Watchdog: stop() must let io_context::run return; a hang fails the test instead.
  void TearDown() override {
    if (!thread_.joinable()) return;
    boost::asio::post(io_, [this] { server_->stop(); });
    if (done_.get_future().wait_for(5s) != std::future_status::ready) {
      ADD_FAILURE() << "io_context still busy 5 s after stop()";
      io_.stop();
    }
    thread_.join();
  }

  std::uint16_t port() const { return server_->port(); }

  Reply fetch(const std::string& request) {
    auto fd = connect_to(port());
    EXPECT_NE(fd, nullptr);
    if (!fd) return {};
    EXPECT_TRUE(send_all(fd->get(), request));
    std::string buf;
    auto r = read_reply(fd->get(), buf);
    EXPECT_TRUE(r.has_value()) << request;
    return r.value_or(Reply{});
  }

  boost::asio::io_context io_;
  std::optional<MetricsServer> server_;
  std::thread thread_;
  std::promise<void> done_;
};

TEST_F(MetricsServerTest, ContentTypeFollowsAccept) {
  start();
  struct Case {
    std::string accept, content_type, body;
  };
  const std::string om_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
  const std::string text_type = "text/plain; version=0.0.4; charset=utf-8";
  for (const Case& c : std::vector<Case>{
           {"", text_type, "text body\n"},
           {"Accept: text/plain\r\n", text_type, "text body\n"},
           {"Accept: */*\r\n", text_type, "text body\n"},
           // What Prometheus 2.x sends.
           {"Accept: application/openmetrics-text;version=1.0.0,application/"
            "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n",
            om_type, "om body\n# EOF\n"},
           {"Accept: Application/OpenMetrics-Text\r\n", om_type, "om body\n# EOF\n"},
       }) {
    const Reply r = fetch(get("/metrics", c.accept));
    EXPECT_EQ(r.status, 200) << c.accept;
    EXPECT_EQ(r.header("content-type"), c.content_type) << c.accept;
    EXPECT_EQ(r.body, c.body) << c.accept;
  }
}

TEST_F(MetricsServerTest, RoutesAndMethods) {
  start();
  struct Case {
    std::string request;
    int status;
    std::string body;
  };
  for (const Case& c : std::vector<Case>{
           {get("/healthz"), 200, "ok"},
           {get("/metrics?debug=1"), 200, "text body\n"},
           {get("/"), 404, "not found\n"},
           {get("/metrics/x"), 404, "not found\n"},
           {"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", 405,
            "method not allowed\n"},
       }) {
    const Reply r = fetch(c.request);
    EXPECT_EQ(r.status, c.status) << c.request;
    EXPECT_EQ(r.body, c.body) << c.request;
  }
  EXPECT_EQ(fetch("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").header("allow"),
            "get");
}

TEST_F(MetricsServerTest, KeepAliveThenClose) {
  start();
  auto fd = connect_to(port());
  ASSERT_NE(fd, nullptr);
  std::string buf;
  // Two pipelined requests, then one asking to close.
  ASSERT_TRUE(send_all(fd->get(), get("/healthz") + get("/metrics")));
  auto a = read_reply(fd->get(), buf);
  auto b = read_reply(fd->get(), buf);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->body, "ok");
  EXPECT_EQ(b->body, "text body\n");
  ASSERT_TRUE(send_all(fd->get(), get("/healthz", "Connection: close\r\n")));
  auto c = read_reply(fd->get(), buf);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->header("connection"), "close");
  EXPECT_TRUE(closed_within(fd->get(), 2s));
}

TEST_F(MetricsServerTest, OversizedHeadersAreRefused) {
  start();
  const Reply r = fetch(get("/metrics", "X-Big: " + std::string(9000, 'a') + "\r\n"));
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.header("connection"), "close");
}

TEST_F(MetricsServerTest, SlowlorisIsDroppedAfterReadTimeout) {
  start(300ms);
  auto fd = connect_to(port());
  ASSERT_NE(fd, nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string request = get("/metrics", "X-Slow: " + std::string(500, 's') + "\r\n");
  bool dropped = false;
  // One byte every 10 ms: the whole request would take 5+ s; the deadline is for all of it.
  for (std::size_t i = 0; i + 2 < request.size() && !dropped; ++i) {
    if (!send_all(fd->get(), request.substr(i, 1))) dropped = true;
    else if (closed_within(fd->get(), 10ms)) dropped = true;
    if (std::chrono::steady_clock::now() - t0 > 3s) break;
  }
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(dropped);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
  // The server is still there for everyone else.
  EXPECT_EQ(fetch(get("/healthz")).status, 200);
}

TEST_F(MetricsServerTest, IdleKeepAliveIsDroppedAfterReadTimeout) {
  start(200ms);
  auto fd = connect_to(port());
  ASSERT_NE(fd, nullptr);
  std::string buf;
  ASSERT_TRUE(send_all(fd->get(), get("/healthz")));
  ASSERT_TRUE(read_reply(fd->get(), buf));
  EXPECT_TRUE(closed_within(fd->get(), 2s));
}

TEST_F(MetricsServerTest, StopClosesConnections) {
  start();
  auto fd = connect_to(port());
  ASSERT_NE(fd, nullptr);
  std::string buf;
  ASSERT_TRUE(send_all(fd->get(), get("/healthz")));
  ASSERT_TRUE(read_reply(fd->get(), buf));
  boost::asio::post(io_, [this] { server_->stop(); });
  EXPECT_TRUE(closed_within(fd->get(), 2s));
  EXPECT_EQ(connect_to(port()), nullptr);  // the acceptor is closed too
}

TEST_F(MetricsServerTest, RendersTheRecorderOnTheLoopThread) {
  const Recorder rec = filled();
  server_.emplace(io_, "127.0.0.1:0", [&rec](bool om) { return render_metrics(rec, nullptr, om); });
  thread_ = std::thread([this] {
    io_.run();
    done_.set_value();
  });
  const Reply r = fetch(get("/metrics", "Accept: application/openmetrics-text\r\n"));
  EXPECT_EQ(r.body, render_metrics(rec, nullptr, true));
}

TEST(MetricsServerListen, BadAddressesThrowNamingTheAddress) {
  boost::asio::io_context io;
  auto render = [](bool) { return std::string(); };
  for (const std::string bad : {"localhost:9464", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000",
                                "127.0.0.1:", ":9464"}) {
    try {
      MetricsServer s(io, bad, render);
      ADD_FAILURE() << bad << " accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(bad));
    }
  }
  MetricsServer first(io, "127.0.0.1:0", render);
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());
  try {
    MetricsServer second(io, taken, render);
    ADD_FAILURE() << "bound twice";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(taken));
  }
}

}  // namespace
