#include "prober/sinks/sqlite_store.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using prober::record::Reason;
using prober::record::Result;
using prober::record::RunResult;
using prober::record::StepResult;
using prober::sinks::SqliteStore;
using prober::sinks::SqliteStoreOptions;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("prober-sqlite-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// A direct connection for checking what the store wrote.
class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("open " + path);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Db() { sqlite3_close(db_); }
  sqlite3* get() const { return db_; }

  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(std::string(sql) + ": " + msg);
    }
  }
  std::int64_t count(const char* sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql, -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
    std::int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string text(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, col))) : std::string();
}

std::chrono::system_clock::time_point at_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RunResult make_run(int i, std::int64_t started_ms, int steps = 2) {
  RunResult run;
  run.journey = "checkout";
  run.cuj = "purchase";
  run.location = "edge-a";
  run.run_id = "run-" + std::to_string(i);
  run.started_at = at_ms(started_ms);
  run.duration_ms = 12.5 + i;
  for (int k = 0; k < steps; ++k) {
    StepResult step;
    step.name = "step" + std::to_string(k);
    step.result = Result::good;
    step.status = 200;
    step.timings = {1.0 + k, 2.0, 3.0, 4.0, 5.0};
    run.steps.push_back(step);
  }
  return run;
}

TEST(SqliteStore, WritesEveryFieldAndReadsItBackByteForByte) {
  TempDir dir;
  std::string path = dir.file("sub/dir/store.db");  // parent folders are created
  const std::string nasty = std::string("it's \"quoted\"\nnew line; DROP TABLE runs;--\xff\xfe ") +
                            std::string(1, '\0') + "after NUL";

  RunResult run;
  run.journey = "checkout";
  run.cuj = "purchase";
  run.location = "edge-b";
  run.run_id = "0123abcd";
  run.result = Result::bad;
  run.reason = Reason::status;
  run.failed_step = "pay";
  run.started_at = at_ms(1'795'000'000'123);
  run.duration_ms = 321.25;
  StepResult browse;
  browse.name = "browse";
  browse.result = Result::good;
  browse.status = 200;
  browse.timings = {1.5, 2.25, 3.125, 4.0625, 10.5};
  StepResult pay;
  pay.name = "pay";
  pay.result = Result::bad;
  pay.reason = Reason::status;
  pay.message = nasty;
  pay.status = 503;
  pay.timings = {0, 0.5, 0, 7.75, 8.0};
  StepResult after;
  after.name = "receipt";
  after.result = Result::skipped;
  run.steps = {browse, pay, after};

  {
    SqliteStore store(path);
    store.submit(run);
    store.flush();
    EXPECT_EQ(store.written(), 1u);
    EXPECT_EQ(store.dropped(), 0u);
  }

  Db db(path);
  EXPECT_EQ(db.count("SELECT version FROM schema_version"), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM schema_version"), 1);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db.get(),
                               "SELECT id, run_id, journey, cuj, location, started_at_ms, "
                               "duration_ms, result, reason, failed_step FROM runs",
                               -1, &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  std::int64_t id = sqlite3_column_int64(s, 0);
  EXPECT_EQ(text(s, 1), "0123abcd");
  EXPECT_EQ(text(s, 2), "checkout");
  EXPECT_EQ(text(s, 3), "purchase");
  EXPECT_EQ(text(s, 4), "edge-b");
  EXPECT_EQ(sqlite3_column_type(s, 5), SQLITE_INTEGER);
  EXPECT_EQ(sqlite3_column_int64(s, 5), 1'795'000'000'123);
  EXPECT_EQ(sqlite3_column_double(s, 6), 321.25);
  EXPECT_EQ(text(s, 7), "bad");
  EXPECT_EQ(text(s, 8), "status");
  EXPECT_EQ(text(s, 9), "pay");
  EXPECT_EQ(sqlite3_step(s), SQLITE_DONE);
  sqlite3_finalize(s);

  ASSERT_EQ(
      sqlite3_prepare_v2(db.get(),
                         "SELECT run, idx, name, result, reason, message, status, dns_ms, "
                         "connect_ms, tls_ms, first_byte_ms, total_ms FROM steps ORDER BY idx",
                         -1, &s, nullptr),
      SQLITE_OK);
  for (std::size_t i = 0; i < run.steps.size(); ++i) {
    const auto& want = run.steps[i];
    SCOPED_TRACE(want.name);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int64(s, 0), id);
    EXPECT_EQ(sqlite3_column_int64(s, 1), static_cast<std::int64_t>(i));
    EXPECT_EQ(text(s, 2), want.name);
    EXPECT_EQ(sqlite3_column_type(s, 3), SQLITE_TEXT);
    EXPECT_EQ(text(s, 3), prober::record::to_string(want.result));
    EXPECT_EQ(text(s, 4), prober::record::to_string(want.reason));
    EXPECT_EQ(sqlite3_column_type(s, 5), SQLITE_TEXT);
    EXPECT_EQ(text(s, 5), want.message);
    EXPECT_EQ(sqlite3_column_int(s, 6), want.status);
    EXPECT_EQ(sqlite3_column_double(s, 7), want.timings.dns_ms);
    EXPECT_EQ(sqlite3_column_double(s, 8), want.timings.connect_ms);
    EXPECT_EQ(sqlite3_column_double(s, 9), want.timings.tls_ms);
    EXPECT_EQ(sqlite3_column_double(s, 10), want.timings.first_byte_ms);
    EXPECT_EQ(sqlite3_column_double(s, 11), want.timings.total_ms);
  }
  EXPECT_EQ(sqlite3_step(s), SQLITE_DONE);
  sqlite3_finalize(s);

  // WAL mode persists in the file.
  ASSERT_EQ(sqlite3_prepare_v2(db.get(), "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(text(s, 0), "wal");
  sqlite3_finalize(s);
}

TEST(SqliteStore, ManyRunsFromAnotherThreadWhileTheWriterRuns) {
  TempDir dir;
  std::string path = dir.file("store.db");
  constexpr int kRuns = 20'000;
  {
    SqliteStore store(path);
    std::int64_t t0 = now_ms();
    std::thread producer([&] {
      for (int i = 0; i < kRuns; ++i)
        store.submit(make_run(i, t0 + i, 3));
    });
    // flush() while the producer is still going: must not deadlock or miss runs.
    std::this_thread::sleep_for(5ms);
    store.flush();
    producer.join();
    store.flush();
    EXPECT_EQ(store.written(), static_cast<std::uint64_t>(kRuns));
    EXPECT_EQ(store.dropped(), 0u);
  }
  Db db(path);
  EXPECT_EQ(db.count("SELECT count(*) FROM runs"), kRuns);
  EXPECT_EQ(db.count("SELECT count(*) FROM steps"), 3 * kRuns);
  EXPECT_EQ(db.count("SELECT count(DISTINCT run_id) FROM runs"), kRuns);
  // Order is kept: ids follow submission order.
  EXPECT_EQ(db.count("SELECT count(*) FROM runs WHERE run_id != 'run-' || (id - 1)"), 0);
}

TEST(SqliteStore, DestructorWritesEverythingQueued) {
  TempDir dir;
  std::string path = dir.file("store.db");
  {
    SqliteStore store(path, SqliteStoreOptions{.batch_interval = 10s});
    for (int i = 0; i < 2500; ++i)
      store.submit(make_run(i, now_ms()));
  }  // no flush(): the destructor must not lose the queue
  Db db(path);
  EXPECT_EQ(db.count("SELECT count(*) FROM runs"), 2500);
}

TEST(SqliteStore, FullQueueDropsCountsAndWarnsOnceAndLockedWriterLosesNothing) {
  TempDir dir;
  std::string path = dir.file("store.db");
  SqliteStore store(path, SqliteStoreOptions{.capacity = 4, .batch_runs = 2, .busy_timeout = 20ms});
  store.flush();  // the first retention sweep is done: only batches will want the lock now

  // Stall the writer: another connection holds the write lock.
  Db other(path);
  other.exec("BEGIN IMMEDIATE");

  constexpr int kSubmitted = 100;
  testing::internal::CaptureStderr();
  for (int i = 0; i < kSubmitted; ++i) {
    store.submit(make_run(i, now_ms()));
    if (i == 0) std::this_thread::sleep_for(50ms);  // let the writer take a batch and block
  }
  std::this_thread::sleep_for(100ms);  // the writer retries against the lock meanwhile
  std::string err = testing::internal::GetCapturedStderr();

  // At most capacity queued plus one batch in the writer's hands survive.
  EXPECT_GE(store.dropped(), static_cast<std::uint64_t>(kSubmitted - 4 - 2));
  EXPECT_EQ(store.written(), 0u);
  std::size_t warnings = 0;
  for (auto pos = err.find("write queue full"); pos != std::string::npos;
       pos = err.find("write queue full", pos + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << err;
  EXPECT_NE(err.find(path), std::string::npos) << err;

  other.exec("COMMIT");
  store.flush();
  EXPECT_EQ(store.written() + store.dropped(), static_cast<std::uint64_t>(kSubmitted));
  EXPECT_EQ(store.failed(), 0u);
  EXPECT_EQ(other.count("SELECT count(*) FROM runs"), static_cast<std::int64_t>(store.written()));
}

TEST(SqliteStore, RetentionDeletesOldRunsAndTheirSteps) {
  TempDir dir;
  std::string path = dir.file("store.db");
  std::int64_t now = now_ms();
  {
    SqliteStore store(path);  // 90 days: keeps everything
    store.submit(make_run(0, now - 3 * 3600 * 1000));
    store.submit(make_run(1, now - 2 * 3600 * 1000));
    store.submit(make_run(2, now - 1000));
    store.flush();
  }
  {
    Db db(path);
    EXPECT_EQ(db.count("SELECT count(*) FROM runs"), 3);
  }
  {
    // The first sweep happens when the store opens; flush() waits for it.
    SqliteStore store(path, std::chrono::hours(1));
    store.flush();
    Db db(path);
    EXPECT_EQ(db.count("SELECT count(*) FROM runs"), 1);
    EXPECT_EQ(db.count("SELECT count(*) FROM runs WHERE run_id = 'run-2'"), 1);
    EXPECT_EQ(db.count("SELECT count(*) FROM steps"), 2);
    EXPECT_EQ(db.count("SELECT count(*) FROM steps WHERE run NOT IN (SELECT id FROM runs)"), 0);
  }
  {
    // Later sweeps: at most once per retention_interval.
    SqliteStore store(
        path, SqliteStoreOptions{.retention = std::chrono::hours(1), .retention_interval = 1s});
    store.submit(make_run(3, now - 5 * 3600 * 1000));
    store.flush();
    Db db(path);
    EXPECT_EQ(db.count("SELECT count(*) FROM runs WHERE run_id = 'run-3'"), 1);  // not yet
    bool gone = false;
    for (int i = 0; i < 50 && !gone; ++i) {
      std::this_thread::sleep_for(100ms);
      gone = db.count("SELECT count(*) FROM runs WHERE run_id = 'run-3'") == 0;
    }
    EXPECT_TRUE(gone);
    EXPECT_EQ(db.count("SELECT count(*) FROM runs"), 1);
  }
}

TEST(SqliteStore, ReopeningKeepsTheData) {
  TempDir dir;
  std::string path = dir.file("store.db");
  {
    SqliteStore store(path);
    for (int i = 0; i < 10; ++i)
      store.submit(make_run(i, now_ms()));
  }
  {
    SqliteStore store(path);
    for (int i = 10; i < 15; ++i)
      store.submit(make_run(i, now_ms()));
    store.flush();
    EXPECT_EQ(store.written(), 5u);
  }
  Db db(path);
  EXPECT_EQ(db.count("SELECT count(*) FROM runs"), 15);
  EXPECT_EQ(db.count("SELECT count(*) FROM steps"), 30);
  EXPECT_EQ(db.count("SELECT count(*) FROM schema_version"), 1);
}

std::string open_error(const std::string& path) {
  try {
    SqliteStore store(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SqliteStore, UnwritableLocationThrowsNamingThePath) {
  TempDir dir;
  // A regular file where a folder should be: fails even for root.
  std::ofstream(dir.file("plainfile")) << "x";
  std::string under_file = dir.file("plainfile/sub/store.db");
  EXPECT_NE(open_error(under_file).find(under_file), std::string::npos) << open_error(under_file);

  std::string in_proc = "/proc/prober-no-such/store.db";
  EXPECT_NE(open_error(in_proc).find(in_proc), std::string::npos) << open_error(in_proc);

  // A folder where the file should be: SQLite's own message.
  fs::create_directories(dir.file("adir"));
  std::string msg = open_error(dir.file("adir"));
  EXPECT_NE(msg.find(dir.file("adir")), std::string::npos) << msg;
  EXPECT_NE(msg.find("unable to open"), std::string::npos) << msg;
}

TEST(SqliteStore, NotADatabaseOrNewerSchemaThrows) {
  TempDir dir;
  std::string garbage = dir.file("garbage.db");
  std::ofstream(garbage) << std::string(4096, 'g');
  std::string msg = open_error(garbage);
  EXPECT_NE(msg.find(garbage), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a database"), std::string::npos) << msg;

  std::string newer = dir.file("newer.db");
  { SqliteStore store(newer); }
  {
    Db db(newer);
    db.exec("UPDATE schema_version SET version = 2");
  }
  msg = open_error(newer);
  EXPECT_NE(msg.find(newer), std::string::npos) << msg;
  EXPECT_NE(msg.find("schema version 2"), std::string::npos) << msg;
}

}  // namespace
