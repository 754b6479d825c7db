// The push sinks against REAL stores from Debian packages: Prometheus (remote write receiver),
// VictoriaMetrics (remote write and InfluxDB /write) and InfluxDB 1.x (/write), each started
// here on a free loopback port with its data in a temporary folder. The prober binary runs a
// journey against the demo shop; afterwards each store is queried (PromQL, InfluxQL) and must
// hold exactly the prober's own counts (from its --json output). One test SIGKILLs Prometheus
// mid-run, restarts it on the same port and data folder, and checks that every sample the
// prober counted as sent is in the store and none was dropped.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/helpers.hpp"
#include "tests/support/child.hpp"
#include "tests/support/proc.hpp"
#include "tests/support/watchdog.hpp"

namespace {

using nlohmann::json;
using testing_support::Server;
using testing_support::TempDir;
using namespace std::chrono_literals;

using itest::free_port;
using testing_support::env_or_die;
const std::string& prober() { static std::string p = env_or_die("PROBER"); return p; }
const std::string& shop() { static std::string p = env_or_die("PROBER_SHOP"); return p; }

// The path of `name` on PATH, or "" (the test then skips, loudly).
std::string which(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream in(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(in, dir, ':');) {
    const std::string p = dir + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}


// ---------------------------------------------------------------------------------------------
// A tiny HTTP client for the stores' APIs.

struct Http {
  long status = 0;  // 0: no answer
  std::string body;
};

std::size_t collect(char* d, std::size_t s, std::size_t n, void* u) {
  static_cast<std::string*>(u)->append(d, s * n);
  return s * n;
}

Http http(const std::string& url, const std::string* post = nullptr) {
  Http r;
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  if (post != nullptr) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, post->c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(post->size()));
  }
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_cleanup(h);
  return r;
}

std::string urlencode(const std::string& s) {
  char* e = curl_easy_escape(nullptr, s.c_str(), static_cast<int>(s.size()));
  std::string out(e);
  curl_free(e);
  return out;
}

// ---------------------------------------------------------------------------------------------
// A store process: its output goes to a log file in its folder (read on failure), started
// again on the same port and data folder after a kill.

class Store {
 public:
  Store(std::string name, std::vector<std::string> argv, std::string ready_path, std::string log)
      : name_(std::move(name)), argv_(std::move(argv)), ready_(std::move(ready_path)),
        log_(std::move(log)) {}

  void start() {
    std::string cmd = "exec";
    for (const auto& a : argv_) cmd += " '" + a + "'";
    cmd += " >>'" + log_ + "' 2>&1";
    child_ = std::make_unique<support::Child>(std::vector<std::string>{"/bin/sh", "-c", cmd});
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until) {
      const Http r = http(url() + ready_);
      if (r.status >= 200 && r.status < 300) return;
      if (child_->wait(0ms)) break;  // exited
      std::this_thread::sleep_for(100ms);
    }
    throw std::runtime_error(name_ + " did not become ready; its log:\n" + log_tail());
  }
  void kill9() {
    ::kill(child_->pid(), SIGKILL);
    child_->wait(10s);
    child_.reset();
  }
  void stop() {
    if (child_) child_->terminate(10s);
    child_.reset();
  }
  std::string url() const { return base_; }
  void set_url(std::string u) { base_ = std::move(u); }
  std::string log_tail() const {
    const std::string all = testing_support::read_file(log_);
    return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
  }

 private:
  std::string name_;
  std::vector<std::string> argv_;
  std::string ready_, log_, base_;
  std::unique_ptr<support::Child> child_;
};

std::unique_ptr<Store> prometheus_store(const TempDir& tmp, int port) {
  tmp.write("prometheus.yml", "global:\n  scrape_interval: 1h\n");
  auto s = std::make_unique<Store>(
      "prometheus",
      std::vector<std::string>{which("prometheus"), "--config.file=" + tmp.path() + "/prometheus.yml",
                               "--storage.tsdb.path=" + tmp.path() + "/prometheus-data",
                               "--web.listen-address=127.0.0.1:" + std::to_string(port),
                               "--web.enable-remote-write-receiver"},
      "/-/ready", tmp.path() + "/prometheus.log");
  s->set_url("http://127.0.0.1:" + std::to_string(port));
  return s;
}

std::unique_ptr<Store> victoria_store(const TempDir& tmp, int port) {
  auto s = std::make_unique<Store>(
      "victoria-metrics",
      std::vector<std::string>{which("victoria-metrics"),
                               "-storageDataPath=" + tmp.path() + "/vm-data",
                               "-httpListenAddr=127.0.0.1:" + std::to_string(port),
                               "-search.latencyOffset=0s", "-search.disableCache"},
      "/health", tmp.path() + "/vm.log");
  s->set_url("http://127.0.0.1:" + std::to_string(port));
  return s;
}

std::unique_ptr<Store> influx_store(const TempDir& tmp, int port) {
  const std::string d = tmp.path() + "/influx";
  tmp.write("influxdb.conf",
            "reporting-disabled = true\n"
            "bind-address = \"127.0.0.1:" + std::to_string(free_port()) + "\"\n"
            "[meta]\n  dir = \"" + d + "/meta\"\n"
            "[data]\n  dir = \"" + d + "/data\"\n  wal-dir = \"" + d + "/wal\"\n"
            "  query-log-enabled = false\n"
            "[http]\n  enabled = true\n  bind-address = \"127.0.0.1:" + std::to_string(port) + "\"\n"
            "  log-enabled = false\n"
            "[monitor]\n  store-enabled = false\n"
            "[continuous_queries]\n  enabled = false\n");
  auto s = std::make_unique<Store>(
      "influxd", std::vector<std::string>{which("influxd"), "-config", tmp.path() + "/influxdb.conf"},
      "/ping", tmp.path() + "/influxd.log");
  s->set_url("http://127.0.0.1:" + std::to_string(port));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Queries. Results are keyed by the label values asked for, joined by '/'.

using Counts = std::map<std::string, double>;

json promql(const std::string& base, const std::string& query) {
  const Http r = http(base + "/api/v1/query?query=" + urlencode(query));
  if (r.status != 200) throw std::runtime_error("PromQL " + query + ": HTTP " + std::to_string(r.status) + " " + r.body);
  const json doc = json::parse(r.body);
  if (doc.at("status") != "success") throw std::runtime_error("PromQL " + query + ": " + r.body);
  return doc.at("data").at("result");
}

Counts promql_counts(const std::string& base, const std::string& query,
                     const std::vector<std::string>& by) {
  Counts out;
  for (const auto& s : promql(base, query)) {
    std::string key;
    for (const auto& l : by) key += (key.empty() ? "" : "/") + s.at("metric").value(l, std::string());
    out[key] = std::stod(s.at("value").at(1).get<std::string>());
  }
  return out;
}

Counts influxql_counts(const std::string& base, const std::string& query,
                       const std::vector<std::string>& by) {
  const Http r = http(base + "/query?db=prober&q=" + urlencode(query));
  if (r.status != 200) throw std::runtime_error("InfluxQL " + query + ": HTTP " + std::to_string(r.status) + " " + r.body);
  const json doc = json::parse(r.body);
  Counts out;
  const auto& res = doc.at("results").at(0);
  if (!res.contains("series")) return out;
  for (const auto& s : res.at("series")) {
    std::string key;
    for (const auto& l : by) key += (key.empty() ? "" : "/") + s.at("tags").value(l, std::string());
    out[key] = s.at("values").at(0).at(1).get<double>();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The prober's own counts from --json.

struct Truth {
  Counts runs;   // result -> runs
  Counts steps;  // step/result -> events
  Counts latency_count;  // step -> good + bad events (the histogram's count)
};

Truth truth(const std::string& json_path) {
  const json doc = json::parse(testing_support::read_file(json_path));
  Truth t;
  for (const auto& run : doc.at("runs")) {
    t.runs[run.at("result").get<std::string>()] += 1;
    for (const auto& s : run.at("steps")) {
      const std::string step = s.at("name"), result = s.at("result");
      t.steps[step + "/" + result] += 1;
      if (result == "good" || result == "bad") t.latency_count[step] += 1;
    }
  }
  return t;
}

// Drops zero entries (the stores have the series at 0; the JSON does not list absent results).
Counts nonzero(Counts c) {
  for (auto it = c.begin(); it != c.end();) it = it->second == 0 ? c.erase(it) : std::next(it);
  return c;
}

const char* const kJourney =
    "name = \"buy\"\ninterval = \"1s\"\ntimeout = \"3s\"\n"
    "[vars]\nbase = { value = \"{{env.SHOP_URL}}\", secret = false }\n"
    "[[steps]]\nname = \"browse\"\n"
    "request = { method = \"GET\", url = \"{{base}}/api/products\" }\n"
    "expect = { status = 200 }\n"
    "[[steps]]\nname = \"health\"\n"
    "request = { method = \"GET\", url = \"{{base}}/healthz\" }\n"
    "expect = { status = 200 }\n";

// The final "push sink stopped" JSON log line of each sink: name -> fields.
std::map<std::string, json> sink_summaries(const std::string& err) {
  std::map<std::string, json> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    const json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("msg", "") == "push sink stopped") out[j.at("sink")] = j;
  }
  return out;
}

bool have_all(std::initializer_list<const char*> names, std::string& missing) {
  for (const char* n : names)
    if (which(n).empty()) missing += std::string(missing.empty() ? "" : ", ") + n;
  return missing.empty();
}

TEST(Stores, EveryStoreHoldsTheProbersOwnCounts) {
  std::string missing;
  if (!have_all({"prometheus", "victoria-metrics", "influxd"}, missing))
    GTEST_SKIP() << "SKIPPED LOUDLY: " << missing
                 << " not installed; `apt-get install prometheus victoria-metrics influxdb`";
  support::Watchdog dog("Stores.EveryStoreHoldsTheProbersOwnCounts", 240s);
  TempDir tmp;
  auto prom = prometheus_store(tmp, free_port());
  auto vm = victoria_store(tmp, free_port());
  auto influx = influx_store(tmp, free_port());
  prom->start();
  vm->start();
  influx->start();
  const std::string create = "q=CREATE DATABASE prober";
  ASSERT_EQ(http(influx->url() + "/query", &create).status, 200);

  // Some browse steps fail (then health is skipped): good, bad and skipped events all occur.
  Server shop_server({shop(), "--port", "0", "--error-rate", "products=0.3"});
  tmp.write("buy.toml", kJourney);
  tmp.write("prober.toml",
            "data_dir = \"" + tmp.path() + "/prober-data\"\n"
            "[sinks.prom]\ntype = \"remote_write\"\nurl = \"" + prom->url() + "/api/v1/write\"\n"
            "flush_interval = \"500ms\"\n"
            "[sinks.vm]\ntype = \"remote_write\"\nurl = \"" + vm->url() + "/api/v1/write\"\n"
            "flush_interval = \"500ms\"\n"
            "[sinks.vm_influx]\ntype = \"influxdb\"\nurl = \"" + vm->url() + "\"\n"
            "database = \"prober\"\nflush_interval = \"500ms\"\n"
            "[sinks.influx]\ntype = \"influxdb\"\nurl = \"" + influx->url() + "\"\n"
            "database = \"prober\"\nflush_interval = \"500ms\"\n");
  const std::string json_path = tmp.path() + "/out.json";
  const auto o = testing_support::run(
      {prober(), "run", tmp.path() + "/buy.toml", "--config", tmp.path() + "/prober.toml",
       "--duration", "3s", "--interval", "200ms", "--no-live", "--log-format", "json", "--json",
       json_path},
      {{"SHOP_URL", shop_server.url()}}, 90s);
  ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.err;
  const Truth t = truth(json_path);
  ASSERT_GE(t.runs.size(), 1u);
  ASSERT_GT(t.runs.count("good") + t.runs.count("bad"), 0u);

  // Every sink sent everything and dropped nothing.
  const auto summaries = sink_summaries(o.err);
  for (const char* sink : {"prom", "vm", "vm_influx", "influx"}) {
    ASSERT_TRUE(summaries.count(sink)) << "no final line of sink " << sink << "\n" << o.err;
    const json& s = summaries.at(sink);
    EXPECT_GT(s.at("sent").get<long long>(), 0) << s.dump();
    EXPECT_EQ(s.at("queued"), 0) << s.dump();
    EXPECT_EQ(s.at("dropped_queue_full"), 0) << s.dump();
    EXPECT_EQ(s.at("dropped_rejected"), 0) << s.dump() << "\n" << o.err;
  }

  // VictoriaMetrics makes what it took searchable within a few seconds (it buffers rows, then
  // flushes them to searchable parts): wait, bounded, until the final sample shows up.
  const auto vm_runs = [&](const std::string& selector) {
    http(vm->url() + "/internal/force_flush");
    return nonzero(promql_counts(
        vm->url(), "sum by (result) (prober_journey_runs_total{journey=\"buy\"" + selector + "})",
        {"result"}));
  };
  const auto vm_wait_start = std::chrono::steady_clock::now();
  for (int i = 0; i < 60 && (vm_runs(",db=\"\"") != t.runs || vm_runs(",db=\"prober\"") != t.runs); ++i)
    std::this_thread::sleep_for(250ms);
  std::cerr << "victoria-metrics caught up after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - vm_wait_start).count()
            << " ms\n";

  // PromQL: Prometheus (remote write), VictoriaMetrics (remote write: no db label; /write:
  // db="prober", and the very same metric names, measurement_field).
  struct Prom {
    std::string what, base, selector;
  };
  for (const Prom& p : {Prom{"prometheus", prom->url(), ""},
                        Prom{"victoria-metrics remote write", vm->url(), ",db=\"\""},
                        Prom{"victoria-metrics /write", vm->url(), ",db=\"prober\""}}) {
    SCOPED_TRACE(p.what);
    EXPECT_EQ(nonzero(promql_counts(
                  p.base, "sum by (result) (prober_journey_runs_total{journey=\"buy\"" + p.selector + "})",
                  {"result"})),
              t.runs);
    EXPECT_EQ(nonzero(promql_counts(
                  p.base, "sum by (step, result) (prober_step_events_total{journey=\"buy\"" + p.selector + "})",
                  {"step", "result"})),
              t.steps);
    EXPECT_EQ(nonzero(promql_counts(
                  p.base, "sum by (step) (prober_step_latency_seconds_count{journey=\"buy\"" + p.selector + "})",
                  {"step"})),
              t.latency_count);
    EXPECT_EQ(nonzero(promql_counts(
                  p.base, "sum by (step) (prober_step_latency_seconds_bucket{le=\"+Inf\",journey=\"buy\"" + p.selector + "})",
                  {"step"})),
              t.latency_count);
  }

  // InfluxQL: measurement = family, field = suffix.
  EXPECT_EQ(nonzero(influxql_counts(
                influx->url(),
                "SELECT last(\"total\") FROM \"prober_journey_runs\" WHERE \"journey\" = 'buy' GROUP BY \"result\"",
                {"result"})),
            t.runs);
  EXPECT_EQ(nonzero(influxql_counts(
                influx->url(),
                "SELECT last(\"total\") FROM \"prober_step_events\" WHERE \"journey\" = 'buy' GROUP BY \"step\", \"result\"",
                {"step", "result"})),
            t.steps);
  EXPECT_EQ(nonzero(influxql_counts(
                influx->url(),
                "SELECT last(\"count\") FROM \"prober_step_latency_seconds\" WHERE \"journey\" = 'buy' GROUP BY \"step\"",
                {"step"})),
            t.latency_count);
}

TEST(Stores, PrometheusKilledMidRunAndRestartedLosesNothing) {
  std::string missing;
  if (!have_all({"prometheus"}, missing))
    GTEST_SKIP() << "SKIPPED LOUDLY: prometheus not installed; `apt-get install prometheus`";
  support::Watchdog dog("Stores.PrometheusKilledMidRunAndRestartedLosesNothing", 240s);
  TempDir tmp;
  const int port = free_port();
  auto prom = prometheus_store(tmp, port);
  prom->start();

  Server shop_server({shop(), "--port", "0"});
  tmp.write("buy.toml", kJourney);
  tmp.write("prober.toml",
            "data_dir = \"" + tmp.path() + "/prober-data\"\n"
            "[sinks.prom]\ntype = \"remote_write\"\nurl = \"" + prom->url() + "/api/v1/write\"\n"
            "flush_interval = \"250ms\"\ntimeout = \"1s\"\n");
  const std::string json_path = tmp.path() + "/out.json";
  testing_support::Output o;
  std::thread runner([&] {
    o = testing_support::run(
        {prober(), "run", tmp.path() + "/buy.toml", "--config", tmp.path() + "/prober.toml",
         "--duration", "8s", "--interval", "200ms", "--no-live", "--log-format", "json", "--json",
         json_path},
        {{"SHOP_URL", shop_server.url()}}, 120s);
  });
  std::this_thread::sleep_for(2s);
  prom->kill9();  // mid-run, no chance to flush anything
  std::this_thread::sleep_for(2500ms);
  prom->start();  // same port, same data folder: the WAL is replayed
  runner.join();
  ASSERT_EQ(o.exit_code, 0) << o.err;

  const auto summaries = sink_summaries(o.err);
  ASSERT_TRUE(summaries.count("prom")) << o.err;
  const json& s = summaries.at("prom");
  EXPECT_GT(s.at("send_failures").get<long long>(), 0) << "the outage went unnoticed: " << s.dump();
  EXPECT_EQ(s.at("queued"), 0) << s.dump();
  EXPECT_EQ(s.at("dropped_queue_full"), 0) << s.dump();
  EXPECT_EQ(s.at("dropped_rejected"), 0) << s.dump() << "\n" << o.err;
  const double sent = s.at("sent").get<double>();

  // Every sample the prober counted as sent is in Prometheus: the raw samples of every prober_*
  // series (a range selector in an instant query returns them as they are stored).
  double stored = 0;
  for (const auto& series : promql(prom->url(), "{__name__=~\"prober_.+\"}[1h]"))
    stored += static_cast<double>(series.at("values").size());
  EXPECT_EQ(stored, sent) << prom->log_tail();
  // And the final counts are the prober's own.
  const Truth t = truth(json_path);
  EXPECT_EQ(nonzero(promql_counts(prom->url(),
                                  "sum by (result) (prober_journey_runs_total{journey=\"buy\"})",
                                  {"result"})),
            t.runs);
  // Samples from before the kill, the outage and after it: one per flush for a series. 8 s at
  // 250 ms is ~32 flushes; with the outage of ~3 s in the middle, a gap would show as fewer.
  const auto per_series = promql_counts(
      prom->url(), "count_over_time(prober_journey_runs_total{journey=\"buy\",result=\"good\"}[1h])", {});
  ASSERT_EQ(per_series.size(), 1u);
  EXPECT_GE(per_series.begin()->second, 25);
}

}  // namespace
