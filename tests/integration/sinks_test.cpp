// The embedded store and the scrape endpoint, wired into the real binary: `prober run` writes
// every run to <data_dir>/prober.db with no configuration; [sinks.prometheus] serves /metrics
// while it runs; --once stores only when given --data-dir; a data folder that cannot be written
// stops the start with a clear error. Counts are checked against the target's own log.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "tests/integration/helpers.hpp"
#include "tests/support/child.hpp"
#include "tests/support/proc.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HasSubstr;
using testing_support::Server;
using testing_support::TempDir;
using namespace std::chrono_literals;

using itest::free_port;
using itest::http_get;
using itest::HttpAnswer;
using itest::log_lines;
using testing_support::env_or_die;
const std::string& prober() { static std::string p = env_or_die("PROBER"); return p; }
const std::string& badserver() { static std::string p = env_or_die("BADSERVER"); return p; }

std::string journey(const std::string& name, const std::string& url) {
  return "name = \"" + name + "\"\ninterval = \"60s\"\ntimeout = \"5s\"\n"
         "[[steps]]\nname = \"get\"\nrequest = { url = \"" + url + "\" }\n"
         "expect = { status = 200 }\n"
         "[[steps]]\nname = \"again\"\nrequest = { url = \"" + url + "\" }\n"
         "expect = { status = 200, latency_ms = 2000 }\n";
}

std::size_t lines_in(const std::string& path) {
  std::ifstream f(path);
  std::size_t n = 0;
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) ++n;
  return n;
}


// One integer from a query on the store.
long long query_int(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + db_path + ": " + msg);
  }
  sqlite3_stmt* st = nullptr;
  long long v = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  std::string err = sqlite3_errmsg(db);
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (v < 0) throw std::runtime_error(sql + ": " + err);
  return v;
}





// The value of the one sample `series` (name{labels} exactly as exposed), or -1.
double sample(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

// The daemon runs, with no sink configured, and writes every run with its steps to
// <data-dir>/prober.db; the store's counts equal the prober's and the target's.
TEST(Store, TheDaemonWritesEveryRunAndStepToTheEmbeddedStoreByDefault) {
  TempDir tmp;
  Server bad({badserver(), "--port", "0", "--log", tmp.path() + "/target.log"});
  const std::string file = tmp.write("j.toml", journey("stored", bad.url() + "/ok"));
  const std::string data = tmp.path() + "/data";
  auto o = testing_support::run({prober(), "run", file, "--interval", "200ms", "--duration",
                                 "1500ms", "--no-live", "--log-format", "json", "--data-dir", data});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  auto stopped = log_lines(o.err, "stopped");
  ASSERT_EQ(stopped.size(), 1u) << o.err;
  const long long runs = stopped[0]["runs"].get<long long>();
  ASSERT_GE(runs, 3);
  auto flushed = log_lines(o.err, "store flushed");
  ASSERT_EQ(flushed.size(), 1u) << o.err;
  EXPECT_EQ(flushed[0]["written"].get<long long>(), runs);
  EXPECT_EQ(flushed[0]["dropped"].get<long long>(), 0);

  const std::string db = data + "/prober.db";
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM runs"), runs);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM runs WHERE journey = 'stored' AND result = 'good' "
                          "AND location = 'local'"), runs);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM steps WHERE result = 'good' AND status = 200"),
            2 * runs);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM steps WHERE total_ms <= 0"), 0);
  // Every request the target saw is a stored step.
  EXPECT_EQ(static_cast<long long>(lines_in(tmp.path() + "/target.log")), 2 * runs);
  // WAL: a reader (prober report) never blocks the writer.
  EXPECT_EQ(query_int(db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

// Failed runs are stored with their reason and the step that failed, the rest skipped.
TEST(Store, BadRunsKeepTheirReasonAndFailedStep) {
  TempDir tmp;
  Server bad({badserver(), "--port", "0"});
  const std::string file = tmp.write("j.toml", journey("broken", bad.url() + "/status/503"));
  const std::string data = tmp.path() + "/data";
  auto o = testing_support::run({prober(), "run", file, "--interval", "300ms", "--duration",
                                 "1s", "--no-live", "--log-format", "json", "--data-dir", data});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string db = data + "/prober.db";
  const long long runs = query_int(db, "SELECT count(*) FROM runs");
  ASSERT_GE(runs, 2);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM runs WHERE result = 'bad' AND reason = 'status' "
                          "AND failed_step = 'get'"), runs);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM steps WHERE name = 'get' AND status = 503 AND "
                          "message LIKE '%expected 200, got 503%'"), runs);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM steps WHERE name = 'again' AND result = 'skipped'"),
            runs);
}

TEST(Store, ADataFolderThatCannotBeWrittenStopsTheStartWithItsPath) {
  TempDir tmp;
  const std::string file = tmp.write("j.toml", journey("x", "http://127.0.0.1:9/"));
  const std::string blocker = tmp.write("blocker", "a file where the folder should be");
  auto o = testing_support::run({prober(), "run", file, "--duration", "1s", "--no-live",
                                 "--data-dir", blocker + "/data"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.err, HasSubstr(blocker + "/data"));
}

TEST(Store, TurnedOffInTheConfigNothingIsWritten) {
  TempDir tmp;
  Server bad({badserver(), "--port", "0"});
  const std::string file = tmp.write("j.toml", journey("x", bad.url() + "/ok"));
  const std::string config = tmp.write("prober.toml", "[sinks.sqlite]\nenabled = false\n");
  auto o = testing_support::run({prober(), "run", file, "--config", config, "--duration", "500ms",
                                 "--no-live", "--data-dir", tmp.path() + "/data"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_FALSE(fs::exists(tmp.path() + "/data"));
}

// A maintenance window over now: with the default policy the runs are invalid (maintenance)
// in the output, the store and the summary, and keep what happened in their messages; with
// policy "count" they count as usual and are only marked.
TEST(Maintenance, RunsInsideAWindowAreInvalidOrMarkedByPolicy) {
  TempDir tmp;
  Server bad({badserver(), "--port", "0"});
  const std::string file = tmp.write("j.toml", journey("maint", bad.url() + "/status/503"));
  const std::string other = tmp.write("k.toml", journey("outside", bad.url() + "/ok"));
  for (const std::string policy : {"exclude", "count"}) {
    SCOPED_TRACE(policy);
    const std::string config = tmp.write(
        "prober-" + policy + ".toml",
        "[[maintenance]]\ntitle = \"db upgrade\"\nstart = 2000-01-01T00:00:00Z\n"
        "end = 2100-01-01T00:00:00Z\njourneys = [\"maint\"]\npolicy = \"" + policy + "\"\n");
    const std::string data = tmp.path() + "/data-" + policy;
    const std::string out = tmp.path() + "/runs-" + policy + ".json";
    auto o = testing_support::run({prober(), "run", file, other, "--config", config, "--interval",
                                   "300ms", "--duration", "1s", "--no-live", "--data-dir", data,
                                   "--json", out});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    json runs = json::parse(testing_support::read_file(out));
    int maint = 0, outside = 0;
    for (const json& r : runs["runs"]) {
      if (r["journey"] == "outside") {
        ++outside;
        EXPECT_EQ(r["result"], "good");
        EXPECT_FALSE(r.contains("maintenance"));
        continue;
      }
      ++maint;
      EXPECT_EQ(r["maintenance"], "db upgrade");
      if (policy == "exclude") {
        EXPECT_EQ(r["result"], "invalid");
        EXPECT_EQ(r["reason"], "maintenance");
        EXPECT_EQ(r["steps"][0]["result"], "invalid");
        EXPECT_THAT(r["steps"][0]["message"].get<std::string>(),
                    HasSubstr("in maintenance 'db upgrade': was bad (status): status: expected 200, got 503"));
      } else {
        EXPECT_EQ(r["result"], "bad");
        EXPECT_EQ(r["reason"], "status");
      }
    }
    EXPECT_GE(maint, 2);
    EXPECT_GE(outside, 2);
    const std::string db = data + "/prober.db";
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM runs WHERE journey = 'maint' AND reason = 'maintenance'"),
              policy == "exclude" ? maint : 0);
  }
}

// CI mode leaves nothing behind unless asked: --once stores only with --data-dir.
TEST(Store, OnceStoresOnlyWithDataDir) {
  TempDir tmp;
  Server bad({badserver(), "--port", "0"});
  const std::string file = tmp.write("j.toml", journey("once", bad.url() + "/ok"));
  auto plain = testing_support::run(
      {"/bin/sh", "-c", "cd '" + tmp.path() + "' && exec '" + prober() + "' run --once --lag-tolerance 1s j.toml"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_FALSE(fs::exists(tmp.path() + "/prober-data"));

  auto stored = testing_support::run(
      {prober(), "run", "--once", "--lag-tolerance", "1s", file, "--data-dir", tmp.path() + "/ci-data"});
  ASSERT_EQ(stored.exit_code, 0) << stored.err;
  EXPECT_EQ(query_int(tmp.path() + "/ci-data/prober.db", "SELECT count(*) FROM runs"), 1);
  EXPECT_EQ(query_int(tmp.path() + "/ci-data/prober.db", "SELECT count(*) FROM steps"), 2);
}

// [sinks.prometheus] serves the text format, OpenMetrics when asked, and /healthz while the
// daemon runs; the counters it shows never exceed what the prober finally reports, and the
// final scrape-able state is consistent (good + bad + invalid = runs).
TEST(Scrape, TheDaemonServesMetricsWhileItRuns) {
  TempDir tmp;
  Server bad({badserver(), "--port", "0"});
  const std::string file = tmp.write("j.toml", journey("scraped", bad.url() + "/ok"));
  const int port = free_port();
  const std::string config = tmp.write(
      "prober.toml", "[sinks.prometheus]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n");
  support::Child d({prober(), "run", file, "--config", config, "--interval", "200ms", "--no-live",
                    "--log-format", "json", "--data-dir", tmp.path() + "/data"},
                   /*capture_stderr=*/true);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  HttpAnswer text;
  for (int i = 0; i < 50; ++i) {  // up to 5 s for the first runs
    std::this_thread::sleep_for(100ms);
    text = http_get(base + "/metrics");
    if (text.status == 200 &&
        sample(text.body, "prober_journey_runs_total{journey=\"scraped\",location=\"local\",result=\"good\"}") >= 2)
      break;
  }
  ASSERT_EQ(text.status, 200);
  EXPECT_THAT(text.content_type, HasSubstr("text/plain; version=0.0.4"));
  const double good = sample(
      text.body, "prober_journey_runs_total{journey=\"scraped\",location=\"local\",result=\"good\"}");
  EXPECT_GE(good, 2) << text.body;
  EXPECT_GE(sample(text.body, "prober_step_latency_seconds_count{journey=\"scraped\",step=\"get\",location=\"local\"}"),
            good) << text.body;

  HttpAnswer om = http_get(base + "/metrics", "application/openmetrics-text;version=1.0.0");
  EXPECT_EQ(om.status, 200);
  EXPECT_THAT(om.content_type, HasSubstr("application/openmetrics-text"));
  EXPECT_THAT(om.body, testing::EndsWith("# EOF\n"));
  EXPECT_EQ(http_get(base + "/healthz").status, 200);
  EXPECT_EQ(http_get(base + "/nope").status, 404);

  ::kill(d.pid(), SIGTERM);
  std::string out;
  while (auto l = d.read_line(30s)) out += *l + "\n";
  const std::string err = d.read_stderr(30s);
  ASSERT_EQ(d.wait(30s).value_or(-1), 0) << err;
  auto stopped = log_lines(err, "stopped");
  ASSERT_EQ(stopped.size(), 1u) << err;
  EXPECT_LE(good, stopped[0]["good"].get<double>());
  auto endpoint = log_lines(err, "metrics endpoint");
  ASSERT_EQ(endpoint.size(), 1u) << err;
  EXPECT_EQ(endpoint[0]["port"].get<int>(), port);
  // The endpoint closed with the daemon.
  EXPECT_EQ(http_get(base + "/healthz").status, 0);

  // promtool agrees the exposition is well-formed, where it is installed.
  if (fs::exists("/usr/bin/promtool")) {
    const std::string saved = tmp.write("metrics.txt", text.body);
    auto check = testing_support::run({"/bin/sh", "-c", "/usr/bin/promtool check metrics < '" + saved + "'"});
    // promtool exits 1 for lint findings too (e.g. no HELP); only a parse error says "error".
    EXPECT_THAT(check.out + check.err, testing::Not(HasSubstr("error while linting"))) << check.err;
  }
}

TEST(Scrape, AListenAddressInUseIsAStartError) {
  TempDir tmp;
  const std::string file = tmp.write("j.toml", journey("x", "http://127.0.0.1:9/"));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string listen = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  const std::string config = tmp.write("prober.toml", "[sinks.prometheus]\nlisten = \"" + listen + "\"\n");
  auto o = testing_support::run({prober(), "run", file, "--config", config, "--duration", "1s",
                                 "--no-live", "--data-dir", tmp.path() + "/data"});
  ::close(fd);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.err, HasSubstr(listen));
}

TEST(Scrape, ConfigMistakesInSinksAreLocated) {
  TempDir tmp;
  const std::string file = tmp.write("j.toml", journey("x", "http://127.0.0.1:9/"));
  const std::string config = tmp.write(
      "prober.toml", "[sinks.prometheus]\nlisten = \":9464\"\n[sinks.vm]\nurl = \"http://127.0.0.1:1/\"\n");
  auto o = testing_support::run({prober(), "run", file, "--config", config, "--duration", "1s",
                                 "--no-live", "--data-dir", tmp.path() + "/data"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.err, HasSubstr(config + ":2:10: sinks.prometheus: 'listen': give the address"));
  EXPECT_THAT(o.err, HasSubstr(config + ":3:1: sinks.vm: sink 'vm' needs a 'type'"));
}

}  // namespace
