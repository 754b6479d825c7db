#include "prober/sinks/push_sink.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <snappy.h>

#include <boost/asio/io_context.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "remote_write.pb.h"
#include "tests/support/proc.hpp"
#include "tests/support/watchdog.hpp"

namespace {

using namespace std::chrono_literals;
using prober::sinks::PushKind;
using prober::sinks::PushOptions;
using prober::sinks::PushSink;
using prober::sinks::PushSinkConfig;
using prober::sinks::PushSinkStats;
using prober::sinks::WireSample;
using testing::HasSubstr;
using testing::Not;

// ---------------------------------------------------------------------------------------------
// A loopback fake store: answers each request with the next scripted status (then `fallback`),
// one request per connection (Connection: close), and records what it got.

struct Request {
  std::string method, target, headers, body;
  std::string header(const std::string& name) const {
    std::istringstream in(headers);
    std::string line;
    while (std::getline(in, line)) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string k = line.substr(0, colon);
      for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (k != lower) continue;
      std::string v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
      return v;
    }
    return "";
  }
};

class FakeStore {
 public:
  // port 0: an ephemeral port; else that port (a restart on the same port).
  explicit FakeStore(std::uint16_t port = 0, int fallback = 204) : fallback_(fallback) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("fake store: cannot listen");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeStore() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/api/v1/write") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void script(std::vector<int> statuses) {
    std::lock_guard lock(mu_);
    script_.insert(script_.end(), statuses.begin(), statuses.end());
  }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::vector<int> answered() const {
    std::lock_guard lock(mu_);
    return answered_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      handle(c);
      ::close(c);
    }
  }
  void handle(int c) {
    std::string in;
    char buf[65536];
    const auto until = std::chrono::steady_clock::now() + 5s;
    std::size_t header_end = std::string::npos, need = 0;
    while (std::chrono::steady_clock::now() < until && !stop_) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
      if (header_end == std::string::npos) {
        header_end = in.find("\r\n\r\n");
        if (header_end == std::string::npos) continue;
        Request r;
        r.headers = in.substr(0, header_end);
        need = header_end + 4 + std::strtoull(r.header("Content-Length").c_str(), nullptr, 10);
      }
      if (in.size() >= need) break;
    }
    if (header_end == std::string::npos || in.size() < need) return;
    Request r;
    r.headers = in.substr(0, header_end);
    const auto sp1 = r.headers.find(' ');
    const auto sp2 = r.headers.find(' ', sp1 + 1);
    r.method = r.headers.substr(0, sp1);
    r.target = r.headers.substr(sp1 + 1, sp2 - sp1 - 1);
    r.body = in.substr(header_end + 4, need - header_end - 4);
    int status;
    {
      std::lock_guard lock(mu_);
      status = fallback_;
      if (!script_.empty()) {
        status = script_.front();
        script_.pop_front();
      }
      requests_.push_back(r);
      answered_.push_back(status);
    }
    if (status == 0) {  // a store that hangs: never answers, until the fake is destroyed
      for (int i = 0; i < 1000 && !stop_; ++i) std::this_thread::sleep_for(10ms);
      return;
    }
    const std::string body = status >= 400 ? "bad things: out of order sample\n" : "";
    const std::string res = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    ::send(c, res.data(), res.size(), MSG_NOSIGNAL);
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  int fallback_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::deque<int> script_;
  std::vector<Request> requests_;
  std::vector<int> answered_;
  std::thread thread_;
};

// A port nothing listens on (bound, then closed): connection refused until a FakeStore takes it.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Polls `pred` every 10 ms for up to `limit`; true when it held.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

PushOptions fast() {
  PushOptions o;
  o.backoff_initial = 20ms;
  o.backoff_max = 100ms;
  o.log_every = 0ms;  // every warning logged: the tests read them
  return o;
}

PushSinkConfig influx_config(const std::string& base_url) {
  PushSinkConfig c;
  c.name = "influx";
  c.kind = PushKind::influx_v1;
  c.url = base_url;
  c.database = "prober";
  c.batch_size = 10;
  c.timeout = 2000ms;
  c.queue_samples = 1000;
  return c;
}

// Lines "m,i=N v=Ni 1" for N in [from, to).
std::vector<WireSample> lines(int from, int to) {
  std::vector<WireSample> out;
  for (int i = from; i < to; ++i)
    out.push_back({"", "m,i=" + std::to_string(i) + " v=" + std::to_string(i) + "i 1"});
  return out;
}

// Every line the store accepted (2xx), in arrival order.
std::vector<std::string> accepted_lines(const FakeStore& store) {
  std::vector<std::string> out;
  const auto reqs = store.requests();
  const auto codes = store.answered();
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    if (codes[i] < 200 || codes[i] >= 300) continue;
    std::istringstream in(reqs[i].body);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<std::string> expected_lines(int from, int to) {
  std::vector<std::string> out;
  for (const auto& w : lines(from, to)) out.push_back(w.point);
  return out;
}

struct Logged {
  std::ostringstream out;
  prober::engine::Logger log{out};
};

// ---------------------------------------------------------------------------------------------

TEST(PushSink, RemoteWriteRequestHeadersAndCredentials) {
  support::Watchdog dog("RemoteWriteRequestHeadersAndCredentials", 30s);
  FakeStore store;
  store.script({401});  // the store refuses once: the message must not carry the token
  Logged l;
  PushSinkConfig c;
  c.name = "prom";
  c.kind = PushKind::remote_write;
  c.url = "http://user:urlpass@127.0.0.1:" + std::to_string(store.port()) + "/api/v1/write?k=qsecret";
  c.headers = {{"X-Scope-OrgID", "team-a"}};
  c.bearer_token = {"s3cr3t-t0ken", "env PROM_TOKEN"};
  c.batch_size = 1000;
  PushSink sink(c, l.log, fast());
  sink.start();
  prober::record::Recorder rec;
  const auto samples = prober::sinks::collect_samples(rec, nullptr, {{"prom", 1, 2, 3, 4, 5, 6}});
  sink.add(samples, std::chrono::system_clock::time_point(std::chrono::milliseconds(1000)));
  ASSERT_TRUE(eventually([&] { return sink.stats().dropped_rejected == samples.series.size(); }));
  sink.add(samples, std::chrono::system_clock::time_point(std::chrono::milliseconds(1000)));
  ASSERT_TRUE(eventually([&] { return sink.stats().sent == samples.series.size(); }));

  const auto reqs = store.requests();
  ASSERT_EQ(reqs.size(), 2u);
  const Request& r = reqs[1];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/v1/write?k=qsecret");
  EXPECT_EQ(r.header("Content-Encoding"), "snappy");
  EXPECT_EQ(r.header("Content-Type"), "application/x-protobuf");
  EXPECT_EQ(r.header("X-Prometheus-Remote-Write-Version"), "0.1.0");
  EXPECT_EQ(r.header("Authorization"), "Bearer s3cr3t-t0ken");
  EXPECT_EQ(r.header("X-Scope-OrgID"), "team-a");
  std::string raw;
  ASSERT_TRUE(snappy::Uncompress(r.body.data(), r.body.size(), &raw));
  prometheus::WriteRequest req;
  ASSERT_TRUE(req.ParseFromString(raw));
  ASSERT_EQ(static_cast<std::size_t>(req.timeseries_size()), samples.series.size());
  // The second sample at the same time was moved 1 ms later, so Prometheus takes both.
  EXPECT_EQ(req.timeseries(0).samples(0).timestamp(), 1001);

  const std::string logs = l.out.str();
  EXPECT_THAT(logs, HasSubstr("rejected"));
  EXPECT_THAT(logs, HasSubstr("HTTP 401"));
  EXPECT_THAT(logs, HasSubstr("out of order sample"));  // the store's reason
  EXPECT_THAT(logs, Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(logs, Not(HasSubstr("urlpass")));
  EXPECT_THAT(logs, Not(HasSubstr("qsecret")));
  sink.stop(std::chrono::steady_clock::now() + 1s);
  sink.join();
}

// Two samples within one millisecond (the last flush and the final sample at stop) once got the
// same remote-write timestamp with different values: Prometheus refused the batch ("duplicate
// sample for timestamp"). The second now goes 1 ms later.
TEST(PushSink, SamplesWithinOneMillisecondGetDistinctTimestamps) {
  support::Watchdog dog("SamplesWithinOneMillisecondGetDistinctTimestamps", 30s);
  FakeStore store;
  Logged l;
  PushSinkConfig c;
  c.name = "prom";
  c.kind = PushKind::remote_write;
  c.url = "http://127.0.0.1:" + std::to_string(store.port()) + "/api/v1/write";
  c.batch_size = 100000;
  PushSink sink(c, l.log, fast());
  sink.start();
  prober::record::Recorder rec;
  const auto samples = prober::sinks::collect_samples(rec, nullptr, {{"prom", 1, 2, 3, 4, 5, 6}});
  using std::chrono::microseconds;
  const std::chrono::system_clock::time_point base(std::chrono::milliseconds(5000));
  sink.add(samples, base + microseconds(200));
  ASSERT_TRUE(eventually([&] { return sink.stats().sent == samples.series.size(); }));
  sink.add(samples, base + microseconds(700));
  ASSERT_TRUE(eventually([&] { return sink.stats().sent == 2 * samples.series.size(); }));
  const auto reqs = store.requests();
  ASSERT_EQ(reqs.size(), 2u);
  std::vector<std::int64_t> stamps;
  for (const Request& r : reqs) {
    std::string raw;
    ASSERT_TRUE(snappy::Uncompress(r.body.data(), r.body.size(), &raw));
    prometheus::WriteRequest req;
    ASSERT_TRUE(req.ParseFromString(raw));
    ASSERT_GT(req.timeseries_size(), 0);
    stamps.push_back(req.timeseries(0).samples(0).timestamp());
  }
  EXPECT_EQ(stamps, (std::vector<std::int64_t>{5000, 5001}));
  sink.stop(std::chrono::steady_clock::now() + 1s);
  sink.join();
}

TEST(PushSink, InfluxV2AndBasicAuthHeaders) {
  support::Watchdog dog("InfluxV2AndBasicAuthHeaders", 30s);
  FakeStore store;
  Logged l;
  PushSinkConfig c = influx_config("http://127.0.0.1:" + std::to_string(store.port()));
  c.kind = PushKind::influx_v2;
  c.org = "o";
  c.bucket = "b";
  c.bearer_token = {"influx-tok", "file /x"};
  c.basic_user = "u";  // both, to see both reach the wire (a proxy may want basic auth)
  c.basic_password = {"pw-secret", "env PW"};
  PushSink sink(c, l.log, fast());
  sink.start();
  sink.enqueue(lines(0, 3));
  ASSERT_TRUE(eventually([&] { return sink.stats().sent == 3; }));
  const auto r = store.requests().at(0);
  EXPECT_EQ(r.target, "/api/v2/write?org=o&bucket=b&precision=ns");
  // curl sends one Authorization header: the explicit Token one wins over basic auth.
  EXPECT_EQ(r.header("Authorization"), "Token influx-tok");
  EXPECT_EQ(r.body, "m,i=0 v=0i 1\nm,i=1 v=1i 1\nm,i=2 v=2i 1\n");
  sink.stop(std::chrono::steady_clock::now() + 1s);
  sink.join();
  EXPECT_THAT(l.out.str(), Not(HasSubstr("influx-tok")));
  EXPECT_THAT(l.out.str(), Not(HasSubstr("pw-secret")));

  // Basic auth alone.
  FakeStore store2;
  c.url = "http://127.0.0.1:" + std::to_string(store2.port());
  c.bearer_token = {};
  PushSink sink2(c, l.log, fast());
  sink2.start();
  sink2.enqueue(lines(0, 1));
  ASSERT_TRUE(eventually([&] { return sink2.stats().sent == 1; }));
  EXPECT_EQ(store2.requests().at(0).header("Authorization"), "Basic dTpwdy1zZWNyZXQ=");
}

TEST(PushSink, RetriesOn5xxAnd429ThenSendsEverythingInOrder) {
  support::Watchdog dog("RetriesOn5xxAnd429", 30s);
  FakeStore store;
  store.script({500, 503, 429});
  Logged l;
  PushSink sink(influx_config(store.url("")), l.log, fast());
  sink.enqueue(lines(0, 25));  // before start: 3 batches of 10, 10, 5
  sink.start();
  ASSERT_TRUE(eventually([&] { return sink.stats().sent == 25; }));
  const auto st = sink.stats();
  EXPECT_EQ(st.send_failures, 3u);
  EXPECT_EQ(st.dropped_queue_full + st.dropped_rejected, 0u);
  EXPECT_EQ(st.queued, 0u);
  EXPECT_THAT(store.answered(), testing::ElementsAre(500, 503, 429, 204, 204, 204));
  // The failed batch was retried as it was.
  const auto reqs = store.requests();
  EXPECT_EQ(reqs[0].body, reqs[3].body);
  EXPECT_EQ(accepted_lines(store), expected_lines(0, 25));
  EXPECT_THAT(l.out.str(), HasSubstr("will retry"));
  EXPECT_THAT(l.out.str(), HasSubstr("HTTP 503"));
}

TEST(PushSink, A4xxBatchIsDroppedCountedAndTheQueueMovesOn) {
  support::Watchdog dog("A4xxBatchIsDropped", 30s);
  FakeStore store;
  store.script({204, 400});
  Logged l;
  PushSink sink(influx_config(store.url("")), l.log, fast());
  sink.enqueue(lines(0, 30));
  sink.start();
  ASSERT_TRUE(eventually([&] { return sink.stats().queued == 0; }));
  const auto st = sink.stats();
  EXPECT_EQ(st.sent, 20u);
  EXPECT_EQ(st.dropped_rejected, 10u);
  EXPECT_EQ(st.send_failures, 0u);
  auto want = expected_lines(0, 10);
  for (const auto& s : expected_lines(20, 30)) want.push_back(s);
  EXPECT_EQ(accepted_lines(store), want);
  EXPECT_THAT(l.out.str(), HasSubstr("rejected by the store"));
  EXPECT_THAT(l.out.str(), HasSubstr("HTTP 400"));
}

TEST(PushSink, QueueBoundDropsTheNewestAndCountsThem) {
  support::Watchdog dog("QueueBound", 30s);
  FakeStore store;
  Logged l;
  auto c = influx_config(store.url(""));
  c.queue_samples = 15;
  PushSink sink(c, l.log, fast());
  sink.enqueue(lines(0, 10));
  sink.enqueue(lines(10, 20));  // 5 fit
  auto st = sink.stats();
  EXPECT_EQ(st.queued, 15u);
  EXPECT_EQ(st.dropped_queue_full, 5u);
  EXPECT_THAT(l.out.str(), HasSubstr("queue full"));
  sink.start();
  ASSERT_TRUE(eventually([&] { return sink.stats().sent == 15; }));
  EXPECT_EQ(accepted_lines(store), expected_lines(0, 15));
  st = sink.stats();
  EXPECT_EQ(st.queued, 0u);
  EXPECT_EQ(st.dropped_queue_full, 5u);
}

TEST(PushSink, StoreDownThenUpLosesNothingWithinTheBound) {
  support::Watchdog dog("StoreDownThenUp", 60s);
  const std::uint16_t port = free_port();
  Logged l;
  auto c = influx_config("http://127.0.0.1:" + std::to_string(port));
  c.queue_samples = 100;
  PushSink sink(c, l.log, fast());
  sink.start();
  sink.enqueue(lines(0, 40));
  ASSERT_TRUE(eventually([&] { return sink.stats().send_failures >= 3; }));
  sink.enqueue(lines(40, 80));
  EXPECT_EQ(sink.stats().queued, 80u);
  FakeStore store(port);
  ASSERT_TRUE(eventually([&] { return sink.stats().sent == 80; }));
  EXPECT_EQ(accepted_lines(store), expected_lines(0, 80));
  EXPECT_EQ(sink.stats().dropped_queue_full, 0u);
  EXPECT_THAT(l.out.str(), HasSubstr("will retry"));
}

TEST(PushSink, SpillsPastTheMemoryBoundAndSendsOldestFirst) {
  support::Watchdog dog("Spill", 60s);
  testing_support::TempDir dir;
  const std::uint16_t port = free_port();
  Logged l;
  auto c = influx_config("http://127.0.0.1:" + std::to_string(port));
  c.queue_samples = 10;
  c.spill_dir = dir.path() + "/spill";
  c.spill_bytes = 1 << 20;
  PushSink sink(c, l.log, fast());
  sink.start();
  for (int i = 0; i < 10; ++i) sink.enqueue(lines(i * 10, i * 10 + 10));
  ASSERT_TRUE(eventually([&] { return sink.stats().spilled_bytes > 0; }));
  ASSERT_TRUE(eventually([&] { return sink.stats().queued == 100; }));
  EXPECT_EQ(sink.stats().dropped_queue_full, 0u);
  FakeStore store(port);
  ASSERT_TRUE(eventually([&] { return sink.stats().sent == 100; }));
  EXPECT_EQ(accepted_lines(store), expected_lines(0, 100));
  const auto st = sink.stats();
  EXPECT_EQ(st.spilled_bytes, 0u);
  EXPECT_EQ(st.queued, 0u);
  EXPECT_TRUE(std::filesystem::is_empty(c.spill_dir));
}

TEST(PushSink, SpillBoundDropsAndCounts) {
  support::Watchdog dog("SpillBound", 30s);
  testing_support::TempDir dir;
  Logged l;
  auto c = influx_config("http://127.0.0.1:" + std::to_string(free_port()));
  c.queue_samples = 10;
  c.spill_dir = dir.path() + "/spill";
  // A record is 8 bytes of lengths + its line ("m,i=NN v=NNi 1": 14 bytes): room for 10.
  c.spill_bytes = 10 * 22;
  PushSink sink(c, l.log, fast());
  sink.enqueue(lines(10, 40));  // 10 in memory, 10 to spill, 10 dropped
  const auto st = sink.stats();
  EXPECT_EQ(st.queued, 20u);
  EXPECT_EQ(st.dropped_queue_full, 10u);
}

TEST(PushSink, SpillSurvivesARestartInOrder) {
  support::Watchdog dog("SpillRestart", 60s);
  testing_support::TempDir dir;
  const std::uint16_t port = free_port();
  Logged l;
  auto c = influx_config("http://127.0.0.1:" + std::to_string(port));
  c.queue_samples = 10;
  c.spill_dir = dir.path() + "/spill";
  {
    PushSink sink(c, l.log, fast());
    sink.start();
    sink.enqueue(lines(10, 40));
    ASSERT_TRUE(eventually([&] { return sink.stats().spilled_bytes > 0; }));
    sink.stop(std::chrono::steady_clock::now() + 100ms);  // the store is down: nothing drains
    sink.join();
    const auto st = sink.stats();
    EXPECT_EQ(st.queued, 30u);  // all of it on disk now
    EXPECT_EQ(st.dropped_queue_full, 0u);
  }
  EXPECT_THAT(l.out.str(), HasSubstr("kept in spill_dir"));
  FakeStore store(port);
  PushSink again(c, l.log, fast());
  EXPECT_EQ(again.stats().queued, 30u);
  again.enqueue(lines(40, 45));
  again.start();
  ASSERT_TRUE(eventually([&] { return again.stats().sent == 35; }));
  EXPECT_EQ(accepted_lines(store), expected_lines(10, 45));
}

TEST(PushSink, StopDrainsWithinGraceThenCountsTheRest) {
  support::Watchdog dog("StopDrains", 30s);
  Logged l;
  // Up: stop drains everything.
  {
    FakeStore store;
    PushSink sink(influx_config(store.url("")), l.log, fast());
    sink.start();
    sink.enqueue(lines(0, 55));
    sink.stop(std::chrono::steady_clock::now() + 5s);
    sink.join();
    EXPECT_EQ(sink.stats().sent, 55u);
    EXPECT_EQ(accepted_lines(store), expected_lines(0, 55));
  }
  // Down: after the grace, what is left is dropped and logged.
  PushSink sink(influx_config("http://127.0.0.1:" + std::to_string(free_port())), l.log, fast());
  sink.start();
  sink.enqueue(lines(0, 55));
  const auto t0 = std::chrono::steady_clock::now();
  sink.stop(t0 + 300ms);
  sink.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // bounded by the grace, not the backoff
  const auto st = sink.stats();
  EXPECT_EQ(st.sent, 0u);
  EXPECT_EQ(st.queued, 0u);
  EXPECT_EQ(st.dropped_queue_full, 55u);
  EXPECT_THAT(l.out.str(), HasSubstr("stopped with samples unsent, dropped"));
}

TEST(PushSink, StopAbortsARequestThatOutlivesTheGrace) {
  support::Watchdog dog("StopAborts", 30s);
  FakeStore store;
  store.script({0});
  Logged l;
  auto c = influx_config(store.url(""));
  c.timeout = 20000ms;
  PushSink sink(c, l.log, fast());
  sink.start();
  sink.enqueue(lines(0, 5));
  ASSERT_TRUE(eventually([&] { return store.requests().size() == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  sink.stop(t0 + 200ms);
  sink.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // not the request's 20 s timeout
  EXPECT_EQ(sink.stats().dropped_queue_full, 5u);
}

TEST(PushSinks, SamplesTheRecorderEveryFlushAndOnceMoreOnStop) {
  support::Watchdog dog("PushSinksSamples", 30s);
  FakeStore store;
  Logged l;
  boost::asio::io_context io;
  prober::record::Recorder rec;
  prober::record::RunResult run;
  run.journey = "shop";
  run.location = "eu";
  prober::record::StepResult step;
  step.name = "home";
  step.result = prober::record::Result::good;
  step.timings.total_ms = 20;
  run.steps = {step};
  rec.add(run);

  auto c = influx_config(store.url(""));
  c.batch_size = 5000;
  c.flush_interval = 50ms;
  prober::engine::SchedulerStats self;
  prober::sinks::PushSinks sinks(io, {c}, rec, &self, l.log, fast());
  sinks.start();
  io.run_for(180ms);  // about three flushes
  rec.add(run);       // the last sample on stop carries this one
  sinks.stop(5s);
  const auto st = sinks.stats();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].queued, 0u);
  EXPECT_GE(store.requests().size(), 3u);
  const std::string last = store.requests().back().body;
  EXPECT_THAT(last, HasSubstr("prober_journey_runs,journey=shop,location=eu,result=good total=2i "));
  EXPECT_THAT(last, HasSubstr("prober_step_events,journey=shop,location=eu,result=good,step=home total=2i "));
  EXPECT_THAT(last, HasSubstr("prober_schedule_lag_seconds,le=+Inf bucket=0i "));
  EXPECT_THAT(last, HasSubstr("prober_sink_sent_samples,sink=influx total="));
  EXPECT_THAT(last, HasSubstr("prober_sink_queued_samples,sink=influx value="));
  EXPECT_THAT(l.out.str(), HasSubstr("push sink stopped"));
}

TEST(PushSink, RedactUrl) {
  EXPECT_EQ(prober::sinks::redact_url("http://u:p@host:9090/api/v1/write?token=x#f"),
            "http://host:9090/api/v1/write");
  EXPECT_EQ(prober::sinks::redact_url("https://host/x"), "https://host/x");
  EXPECT_EQ(prober::sinks::redact_url("http://u@h"), "http://h");
}

}  // namespace
