#pragma once
// The report fixture: journeys, a CUJ catalog and a store with hand-chosen rows, shared by the
// report unit test (tests/prober/report_test.cpp, which computes every number by hand) and the
// integration test that runs `prober report` on the same file.
//
// Time: kUntil is "now"; run k of checkout (k = 1..10) starts at kUntil - (11 - k) minutes.
//
//   run  location  browse                          pay                              run
//   r1   edge-a    good 100 ms                     good 200 ms                      good
//   r2   edge-a    good 200 ms                     good 300 ms                      good
//   r3   edge-a    good 300 ms                     good 250 ms                      good
//   r4   edge-a    good 400 ms                     bad status (503, 50 ms)          bad
//   r5   edge-a    bad latency (200, 700 ms)       skipped                          bad
//   r6   edge-a    good 100 ms                     invalid late_start               invalid
//   r7   edge-b    good 150 ms                     good 100 ms                      good
//   r8   edge-b    bad timeout (no answer, 3000)   skipped                          bad
//   r9   edge-b    good 250 ms                     bad status (500, 80 ms)          bad
//   r10  edge-b    bad connect (no answer, 1 ms)   skipped                          bad
// Outside checkout's 1d window: a bad run at kUntil - 2d (edge-a), a good one at kUntil (edge-b;
// the window is [since, until)).
//
// login (no SLO: 28d window), edge-a only: L1 at kUntil - 3d and L2 at kUntil - 1h, both
//   login good (100 / 90 ms), account bad (body 120 ms / status 401 30 ms), logout skipped.
// other (not a journey given to the report), edge-d at kUntil - 2h: good, one step.

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace report_fixture {

inline constexpr std::int64_t kUntil = 1'800'000'000'000;  // 2027-01-15T08:00:00.000Z
inline constexpr std::int64_t kMinute = 60'000;
inline constexpr std::int64_t kHour = 60 * kMinute;
inline constexpr std::int64_t kDay = 24 * kHour;

inline const char* kCheckout = R"(name = "checkout"
cuj = "purchase"
[[steps]]
name = "browse"
request = { url = "http://127.0.0.1:1/products" }
expect = { status = 200, latency_ms = 500, body_contains = "items" }
[[steps]]
name = "pay"
request = { method = "POST", url = "http://127.0.0.1:1/pay" }
expect = { status = 200 }
[slo]
availability = 90
window = "1d"
latency = { step = "browse", threshold_ms = 500, target = 75 }
)";

inline const char* kLogin = R"(name = "login"
cuj = "account"
[[steps]]
name = "login"
request = { method = "POST", url = "http://127.0.0.1:1/login" }
expect = { status = 200, latency_ms = 500 }
[[steps]]
name = "account"
request = { url = "http://127.0.0.1:1/me" }
expect = { status = 200, latency_ms = 500, body_contains = "user" }
[[steps]]
name = "logout"
request = { url = "http://127.0.0.1:1/logout" }
expect = { status = 200, body_contains = "bye" }
)";

inline const char* kCujs = R"([[cuj]]
name = "account"
rank = 2
owner = "identity-team"
description = "Log in"

[[cuj]]
name = "purchase"
rank = 1
owner = "checkout-team"
description = "Pay for a product"
locations = ["edge-a", "edge-b", "edge-c"]

[[cuj]]
name = "returns"
rank = 3
owner = "support-team"
)";

struct Step {
  const char* name;
  const char* result;
  const char* reason;
  const char* message;
  int status;
  double total_ms;
};
struct Run {
  const char* journey;
  const char* cuj;
  const char* location;
  std::int64_t started_at_ms;
  const char* result;
  const char* reason;
  std::vector<Step> steps;
};

inline std::vector<Run> runs() {
  auto at = [](int k) { return kUntil - (11 - k) * kMinute; };
  const char* s503 = "expected status 200, got 503";
  const char* s500 = "expected status 200, got 500";
  return {
      {"checkout", "purchase", "edge-a", at(1), "good", "",
       {{"browse", "good", "", "", 200, 100}, {"pay", "good", "", "", 200, 200}}},
      {"checkout", "purchase", "edge-a", at(2), "good", "",
       {{"browse", "good", "", "", 200, 200}, {"pay", "good", "", "", 200, 300}}},
      {"checkout", "purchase", "edge-a", at(3), "good", "",
       {{"browse", "good", "", "", 200, 300}, {"pay", "good", "", "", 200, 250}}},
      {"checkout", "purchase", "edge-a", at(4), "bad", "status",
       {{"browse", "good", "", "", 200, 400}, {"pay", "bad", "status", s503, 503, 50}}},
      {"checkout", "purchase", "edge-a", at(5), "bad", "latency",
       {{"browse", "bad", "latency", "latency 700 ms > 500 ms", 200, 700},
        {"pay", "skipped", "", "", 0, 0}}},
      {"checkout", "purchase", "edge-a", at(6), "invalid", "late_start",
       {{"browse", "good", "", "", 200, 100},
        {"pay", "invalid", "late_start", "started 9 s late", 0, 0}}},
      {"checkout", "purchase", "edge-b", at(7), "good", "",
       {{"browse", "good", "", "", 200, 150}, {"pay", "good", "", "", 200, 100}}},
      {"checkout", "purchase", "edge-b", at(8), "bad", "timeout",
       {{"browse", "bad", "timeout", "timed out after 3 s", 0, 3000},
        {"pay", "skipped", "", "", 0, 0}}},
      {"checkout", "purchase", "edge-b", at(9), "bad", "status",
       {{"browse", "good", "", "", 200, 250}, {"pay", "bad", "status", s500, 500, 80}}},
      {"checkout", "purchase", "edge-b", at(10), "bad", "connect",
       {{"browse", "bad", "connect", "connection refused", 0, 1},
        {"pay", "skipped", "", "", 0, 0}}},
      // Outside the window on both ends.
      {"checkout", "purchase", "edge-a", kUntil - 2 * kDay, "bad", "status",
       {{"browse", "bad", "status", "expected status 200, got 404", 404, 10},
        {"pay", "skipped", "", "", 0, 0}}},
      {"checkout", "purchase", "edge-b", kUntil, "good", "",
       {{"browse", "good", "", "", 200, 100}, {"pay", "good", "", "", 200, 100}}},
      {"login", "account", "edge-a", kUntil - 3 * kDay, "bad", "body",
       {{"login", "good", "", "", 200, 100},
        {"account", "bad", "body", "body does not contain 'user'", 200, 120},
        {"logout", "skipped", "", "", 0, 0}}},
      {"login", "account", "edge-a", kUntil - kHour, "bad", "status",
       {{"login", "good", "", "", 200, 90},
        {"account", "bad", "status", "expected status 200, got 401", 401, 30},
        {"logout", "skipped", "", "", 0, 0}}},
      {"other", "", "edge-d", kUntil - 2 * kHour, "good", "",
       {{"ping", "good", "", "", 200, 5}}},
  };
}

// The store's schema version 1 (prober/sinks/sqlite_store.hpp); IF NOT EXISTS so that a file the
// store itself created keeps the store's own definition.
inline const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, run_id TEXT, journey TEXT, cuj TEXT,
  location TEXT, started_at_ms INTEGER, duration_ms REAL, result TEXT, reason TEXT,
  failed_step TEXT);
CREATE TABLE IF NOT EXISTS steps(run INTEGER REFERENCES runs(id), idx INTEGER, name TEXT,
  result TEXT, reason TEXT, message TEXT, status INTEGER, dns_ms REAL, connect_ms REAL,
  tls_ms REAL, first_byte_ms REAL, total_ms REAL);
INSERT INTO schema_version(version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
)sql";

// Writes the fixture rows (and the schema when missing) into the SQLite file at path.
inline void write_db(const std::string& path) {
  sqlite3* db = nullptr;
  auto check = [&](int rc, const std::string& what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
      std::string msg = what + ": " + (db ? sqlite3_errmsg(db) : "?");
      sqlite3_close(db);
      throw std::runtime_error(msg);
    }
  };
  check(sqlite3_open(path.c_str(), &db), "open " + path);
  check(sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr), "schema");
  check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), "begin");
  int n = 0;
  for (const Run& r : runs()) {
    ++n;
    sqlite3_stmt* s = nullptr;
    check(sqlite3_prepare_v2(db,
                             "INSERT INTO runs(run_id, journey, cuj, location, started_at_ms, "
                             "duration_ms, result, reason, failed_step) VALUES (?,?,?,?,?,?,?,?,'')",
                             -1, &s, nullptr),
          "prepare run");
    double duration = 0;
    for (const Step& st : r.steps) duration += st.total_ms;
    const std::string run_id = "run-" + std::to_string(n);
    sqlite3_bind_text(s, 1, run_id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, r.journey, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r.cuj, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, r.location, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, r.started_at_ms);
    sqlite3_bind_double(s, 6, duration);
    sqlite3_bind_text(s, 7, r.result, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, r.reason, -1, SQLITE_STATIC);
    check(sqlite3_step(s), "insert run");
    sqlite3_finalize(s);
    const sqlite3_int64 id = sqlite3_last_insert_rowid(db);
    for (std::size_t i = 0; i < r.steps.size(); ++i) {
      const Step& st = r.steps[i];
      check(sqlite3_prepare_v2(db,
                               "INSERT INTO steps(run, idx, name, result, reason, message, status, "
                               "dns_ms, connect_ms, tls_ms, first_byte_ms, total_ms) "
                               "VALUES (?,?,?,?,?,?,?,0,0,0,0,?)",
                               -1, &s, nullptr),
            "prepare step");
      sqlite3_bind_int64(s, 1, id);
      sqlite3_bind_int(s, 2, static_cast<int>(i));
      sqlite3_bind_text(s, 3, st.name, -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 4, st.result, -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 5, st.reason, -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 6, st.message, -1, SQLITE_STATIC);
      sqlite3_bind_int(s, 7, st.status);
      sqlite3_bind_double(s, 8, st.total_ms);
      check(sqlite3_step(s), "insert step");
      sqlite3_finalize(s);
    }
  }
  check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "commit");
  sqlite3_close(db);
}

}  // namespace report_fixture
