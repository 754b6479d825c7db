#include "prober/sinks/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace prober::sinks {

namespace {

constexpr int kSchemaVersion = 1;
// Retention deletes at most this many runs per transaction, so that a first sweep over months of
// old data never holds the write lock (and the writer) for long.
constexpr int kSweepChunk = 5000;
constexpr auto kDropWarningEvery = std::chrono::seconds(10);

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY,
  run_id TEXT,
  journey TEXT,
  cuj TEXT,
  location TEXT,
  started_at_ms INTEGER,
  duration_ms REAL,
  result TEXT,
  reason TEXT,
  failed_step TEXT);
CREATE TABLE IF NOT EXISTS steps(
  run INTEGER REFERENCES runs(id),
  idx INTEGER,
  name TEXT,
  result TEXT,
  reason TEXT,
  message TEXT,
  status INTEGER,
  dns_ms REAL,
  connect_ms REAL,
  tls_ms REAL,
  first_byte_ms REAL,
  total_ms REAL);
CREATE INDEX IF NOT EXISTS runs_journey_location_started
  ON runs(journey, location, started_at_ms);
-- Retention selects by time alone; without this it would scan every run once a minute.
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at_ms);
CREATE INDEX IF NOT EXISTS steps_run ON steps(run);
)sql";

// A failed SQLite call inside the writer; rc decides between retrying and giving up.
struct SqliteError : std::runtime_error {
  SqliteError(int code, const std::string& what) : std::runtime_error(what), rc(code) {}
  int rc;
};

bool is_lock_error(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  // Explicit length: messages may hold NUL or invalid UTF-8; SQLite stores TEXT bytes as given.
  // SQLITE_STATIC: the strings outlive the sqlite3_step that reads them.
  sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
}

}  // namespace

void SqliteStore::DbClose::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}
void SqliteStore::StmtFinalize::operator()(sqlite3_stmt* s) const {
  sqlite3_finalize(s);
}

SqliteStore::SqliteStore(std::string path, std::chrono::hours retention)
    : SqliteStore(std::move(path), SqliteStoreOptions{.retention = retention}) {}

SqliteStore::SqliteStore(std::string path, SqliteStoreOptions options)
    : path_(std::move(path)), options_(options) {
  options_.capacity = std::max<std::size_t>(options_.capacity, 1);
  options_.batch_runs = std::max<std::size_t>(options_.batch_runs, 1);
  // A zero interval would make the idle writer spin on sweeps.
  options_.retention_interval = std::max(options_.retention_interval, std::chrono::seconds(1));
  open();
  writer_ = std::thread([this] { writer_loop(); });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  if (writer_.joinable()) writer_.join();
}

void SqliteStore::open() {
  auto fail = [&](const std::string& what) {
    std::string msg = "sqlite store " + path_ + ": " + what;
    if (db_) msg += ": " + std::string(sqlite3_errmsg(db_.get()));
    throw std::runtime_error(msg);
  };

  std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) fail("cannot create folder " + parent.string() + ": " + ec.message());
  }

  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path_.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(raw);  // even on failure SQLite may hand back a handle that holds the message
  if (rc != SQLITE_OK) fail("cannot open");
  sqlite3_extended_result_codes(db_.get(), 1);
  sqlite3_busy_timeout(db_.get(), static_cast<int>(options_.busy_timeout.count()));

  auto exec = [&](const char* sql, const char* what) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(what);
  };
  // journal_mode is the first statement that reads the file: "file is not a database" shows here.
  exec("PRAGMA journal_mode=WAL", "cannot set WAL mode");
  exec("PRAGMA synchronous=NORMAL", "cannot set synchronous=NORMAL");
  exec("PRAGMA foreign_keys=ON", "cannot enable foreign keys");

  // Two probers opening a new file at once: IMMEDIATE makes one create and the other check.
  exec("BEGIN IMMEDIATE", "cannot start the schema transaction");
  try {
    exec(kSchema, "cannot create the schema");
    Stmt get = prepare("SELECT version FROM schema_version");
    int version = 0;
    bool found = false;
    if (sqlite3_step(get.get()) == SQLITE_ROW) {
      version = sqlite3_column_int(get.get(), 0);
      found = true;
    }
    get.reset();
    if (!found) {
      exec("INSERT INTO schema_version(version) VALUES (1)", "cannot write the schema version");
    } else if (version != kSchemaVersion) {
      throw std::runtime_error("sqlite store " + path_ + ": schema version " +
                               std::to_string(version) + ", this prober reads version " +
                               std::to_string(kSchemaVersion));
    }
    exec("COMMIT", "cannot commit the schema");
  } catch (...) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }

  begin_ = prepare("BEGIN IMMEDIATE");
  commit_ = prepare("COMMIT");
  rollback_ = prepare("ROLLBACK");
  insert_run_ = prepare(
      "INSERT INTO runs(run_id, journey, cuj, location, started_at_ms, duration_ms, result, "
      "reason, failed_step) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  insert_step_ = prepare(
      "INSERT INTO steps(run, idx, name, result, reason, message, status, dns_ms, connect_ms, "
      "tls_ms, first_byte_ms, total_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
      "?12)");
  // The newest run of the oldest chunk: everything old with id <= it goes in one transaction.
  find_old_ = prepare(
      "SELECT max(id) FROM (SELECT id FROM runs WHERE started_at_ms < ?1 ORDER BY id LIMIT ?2)");
  delete_steps_ = prepare(
      "DELETE FROM steps WHERE run IN (SELECT id FROM runs WHERE started_at_ms < ?1 AND id <= ?2)");
  delete_runs_ = prepare("DELETE FROM runs WHERE started_at_ms < ?1 AND id <= ?2");
}

SqliteStore::Stmt SqliteStore::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    throw std::runtime_error("sqlite store " + path_ +
                             ": cannot prepare statement: " + sqlite3_errmsg(db_.get()));
  }
  return Stmt(s);
}

void SqliteStore::submit(record::RunResult run) {
  bool warn = false;
  std::uint64_t dropped = 0;
  {
    std::lock_guard lk(mu_);
    if (queue_.size() >= options_.capacity) {
      dropped = dropped_.fetch_add(1, std::memory_order_relaxed) + 1;
      auto now = std::chrono::steady_clock::now();
      if (last_drop_warning_ == std::chrono::steady_clock::time_point{} ||
          now - last_drop_warning_ >= kDropWarningEvery) {
        last_drop_warning_ = now;
        warn = true;
      }
    } else {
      queue_.push_back(std::move(run));
      ++accepted_;
      // Wake the writer only when it has something new to decide: first run, or a full batch.
      if (queue_.size() == 1 || queue_.size() == options_.batch_runs) work_cv_.notify_one();
    }
  }
  if (warn) {
    std::fprintf(stderr,
                 "prober: sqlite store %s: write queue full (%zu runs), dropped %llu runs so far\n",
                 path_.c_str(), options_.capacity, static_cast<unsigned long long>(dropped));
  }
}

void SqliteStore::flush() {
  std::unique_lock lk(mu_);
  std::uint64_t target = accepted_;
  flush_target_ = std::max(flush_target_, target);
  work_cv_.notify_one();
  done_cv_.wait(lk, [&] { return handled_ >= target && swept_once_; });
}

void SqliteStore::writer_loop() {
  using Clock = std::chrono::steady_clock;
  sweep();
  auto last_sweep = Clock::now();
  auto last_write = Clock::time_point{};
  std::vector<record::RunResult> batch;
  batch.reserve(std::min<std::size_t>(options_.batch_runs, 4096));

  std::unique_lock lk(mu_);
  swept_once_ = true;
  done_cv_.notify_all();
  for (;;) {
    work_cv_.wait_until(lk, last_sweep + options_.retention_interval,
                        [&] { return stop_ || !queue_.empty(); });
    // Runs are waiting but not a full batch: gather more until a transaction is due, unless
    // someone flushes or we stop. An idle writer writes a lone run at once.
    if (!queue_.empty() && !stop_) {
      work_cv_.wait_until(lk, last_write + options_.batch_interval, [&] {
        return stop_ || queue_.size() >= options_.batch_runs || flush_target_ > handled_;
      });
    }
    std::size_t n = std::min(options_.batch_runs, queue_.size());
    batch.clear();
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lk.unlock();

    if (n > 0) {
      write_batch(batch);
      last_write = Clock::now();
    }
    if (Clock::now() - last_sweep >= options_.retention_interval) {
      sweep();
      last_sweep = Clock::now();
    }

    lk.lock();
    if (n > 0) {
      handled_ += n;
      done_cv_.notify_all();
    }
    if (stop_ && queue_.empty()) break;
  }
}

namespace {

// Steps s to completion; resets it whatever happens so that it can be reused.
void run_stmt(sqlite3* db, sqlite3_stmt* s, const char* what) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw SqliteError(
        rc, std::string(what) + ": " + sqlite3_errstr(rc) + " (" + sqlite3_errmsg(db) + ")");
  }
}

}  // namespace

void SqliteStore::insert_batch(const std::vector<record::RunResult>& batch) {
  sqlite3* db = db_.get();
  run_stmt(db, begin_.get(), "begin");
  for (const auto& run : batch) {
    sqlite3_stmt* r = insert_run_.get();
    bind_text(r, 1, run.run_id);
    bind_text(r, 2, run.journey);
    bind_text(r, 3, run.cuj);
    bind_text(r, 4, run.location);
    sqlite3_bind_int64(r, 5, unix_ms(run.started_at));
    sqlite3_bind_double(r, 6, run.duration_ms);
    bind_text(r, 7, record::to_string(run.result));
    bind_text(r, 8, record::to_string(run.reason));
    bind_text(r, 9, run.failed_step);
    run_stmt(db, r, "insert run");
    sqlite3_int64 id = sqlite3_last_insert_rowid(db);

    for (std::size_t i = 0; i < run.steps.size(); ++i) {
      const auto& step = run.steps[i];
      sqlite3_stmt* s = insert_step_.get();
      sqlite3_bind_int64(s, 1, id);
      sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(i));
      bind_text(s, 3, step.name);
      bind_text(s, 4, record::to_string(step.result));
      bind_text(s, 5, record::to_string(step.reason));
      bind_text(s, 6, step.message);
      sqlite3_bind_int(s, 7, step.status);
      sqlite3_bind_double(s, 8, step.timings.dns_ms);
      sqlite3_bind_double(s, 9, step.timings.connect_ms);
      sqlite3_bind_double(s, 10, step.timings.tls_ms);
      sqlite3_bind_double(s, 11, step.timings.first_byte_ms);
      sqlite3_bind_double(s, 12, step.timings.total_ms);
      run_stmt(db, s, "insert step");
    }
  }
  run_stmt(db, commit_.get(), "commit");
}

void SqliteStore::write_batch(const std::vector<record::RunResult>& batch) {
  int other_failures = 0;
  for (;;) {
    try {
      insert_batch(batch);
      written_.fetch_add(batch.size(), std::memory_order_relaxed);
      return;
    } catch (const SqliteError& e) {
      if (!sqlite3_get_autocommit(db_.get())) {
        sqlite3_step(rollback_.get());
        sqlite3_reset(rollback_.get());
      }
      if (is_lock_error(e.rc)) {
        // Another connection holds the write lock; busy_timeout already waited. Keep the batch
        // and try again: a lock is temporary, losing runs is not.
        warn_rate_limited(last_busy_warning_,
                          std::string("waiting for the database lock: ") + e.what());
        continue;
      }
      // Disk full, I/O error, corruption: a few tries with a pause, then give the batch up
      // rather than stall every later run behind it.
      if (++other_failures >= 3) {
        failed_.fetch_add(batch.size(), std::memory_order_relaxed);
        warn_rate_limited(last_error_warning_, "gave up " + std::to_string(batch.size()) +
                                                   " runs after 3 attempts: " + e.what());
        return;
      }
      warn_rate_limited(last_error_warning_, std::string("write failed, retrying: ") + e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(500) * other_failures);
    }
  }
}

void SqliteStore::sweep() {
  sqlite3* db = db_.get();
  std::int64_t cutoff = unix_ms(std::chrono::system_clock::now() - options_.retention);
  try {
    for (;;) {
      sqlite3_stmt* f = find_old_.get();
      sqlite3_bind_int64(f, 1, cutoff);
      sqlite3_bind_int(f, 2, kSweepChunk);
      int rc = sqlite3_step(f);
      bool any = rc == SQLITE_ROW && sqlite3_column_type(f, 0) != SQLITE_NULL;
      sqlite3_int64 max_id = any ? sqlite3_column_int64(f, 0) : 0;
      sqlite3_reset(f);
      sqlite3_clear_bindings(f);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        throw SqliteError(rc, std::string("find old runs: ") + sqlite3_errmsg(db));
      }
      if (!any) return;  // the common case: a read, no write lock taken

      run_stmt(db, begin_.get(), "begin");
      sqlite3_bind_int64(delete_steps_.get(), 1, cutoff);
      sqlite3_bind_int64(delete_steps_.get(), 2, max_id);
      run_stmt(db, delete_steps_.get(), "delete old steps");
      sqlite3_bind_int64(delete_runs_.get(), 1, cutoff);
      sqlite3_bind_int64(delete_runs_.get(), 2, max_id);
      run_stmt(db, delete_runs_.get(), "delete old runs");
      int deleted = sqlite3_changes(db);
      run_stmt(db, commit_.get(), "commit");
      if (deleted < kSweepChunk) return;
    }
  } catch (const SqliteError& e) {
    if (!sqlite3_get_autocommit(db)) {
      sqlite3_step(rollback_.get());
      sqlite3_reset(rollback_.get());
    }
    // Retention is not urgent: the next sweep (a minute later) tries again.
    warn_rate_limited(last_error_warning_, std::string("retention sweep skipped: ") + e.what());
  }
}

void SqliteStore::warn_rate_limited(std::chrono::steady_clock::time_point& last,
                                    const std::string& msg) {
  auto now = std::chrono::steady_clock::now();
  if (last != std::chrono::steady_clock::time_point{} && now - last < kDropWarningEvery) return;
  last = now;
  std::fprintf(stderr, "prober: sqlite store %s: %s\n", path_.c_str(), msg.c_str());
}

}  // namespace prober::sinks
