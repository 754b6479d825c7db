#pragma once
// The embedded default store: every run and step in one SQLite file (WAL mode), read back by
// `prober report`. The event loop only pushes into a bounded in-memory queue; one writer thread
// owns the connection, writes in batches (one transaction each) and applies retention.
//
// Schema (version 1, in table schema_version):
//   runs(id INTEGER PRIMARY KEY, run_id, journey, cuj, location, started_at_ms INTEGER (Unix ms),
//        duration_ms REAL, result, reason, failed_step)
//   steps(run -> runs.id, idx (0-based order in the run), name, result, reason, message,
//         status INTEGER, dns_ms, connect_ms, tls_ms, first_byte_ms, total_ms REAL)
// result/reason hold record::to_string(); reason and failed_step are '' when there is none.
// Text columns hold the bytes as given (messages may be invalid UTF-8 or contain NUL).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "prober/record/event.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace prober::sinks {

struct SqliteStoreOptions {
  std::chrono::hours retention{24 * 90};  // runs that started earlier than now - retention go
  std::size_t capacity = 100'000;         // queued runs; beyond this submit() drops
  std::size_t batch_runs = 1'000;         // at most this many runs per transaction
  std::chrono::milliseconds batch_interval{200};  // otherwise a transaction at most this often
  std::chrono::seconds retention_interval{60};    // retention sweeps at most this often
  // How long one attempt waits for a lock held by another connection before the writer logs and
  // retries (it retries a locked batch forever: a queued run is never given up for a lock).
  std::chrono::milliseconds busy_timeout{1000};
};

class SqliteStore {
 public:
  // Opens or creates the file at path (and its parent folders), sets WAL mode and
  // synchronous=NORMAL, creates or checks the schema, sweeps retention once in the background.
  // Throws std::runtime_error naming the path and SQLite's message on failure, or when the file's
  // schema version is not 1. Call from any thread.
  explicit SqliteStore(std::string path,
                       std::chrono::hours retention = std::chrono::hours(24 * 90));
  SqliteStore(std::string path, SqliteStoreOptions options);
  // Flushes everything submitted, then joins the writer.
  ~SqliteStore();

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Queues one run for writing; never waits for the disk. When the queue is full the run is
  // dropped and counted, with a warning on stderr at most once per 10 s. Any thread; noexcept
  // except for std::bad_alloc.
  void submit(record::RunResult run);

  // Blocks until every run submitted before the call has been written (or, after repeated
  // non-lock errors, given up and counted in failed()), and the first retention sweep is done.
  // Not from the event loop: it waits for the disk.
  void flush();

  std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Runs lost because the disk kept failing (full, I/O error): logged on stderr.
  std::uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  const std::string& path() const { return path_; }

  struct DbClose {
    void operator()(sqlite3* db) const;
  };
  struct StmtFinalize {
    void operator()(sqlite3_stmt* s) const;
  };

 private:
  using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

  void open();
  Stmt prepare(const char* sql);
  void writer_loop();
  void write_batch(const std::vector<record::RunResult>& batch);
  void insert_batch(const std::vector<record::RunResult>& batch);
  void sweep();
  void warn_rate_limited(std::chrono::steady_clock::time_point& last, const std::string& msg);

  std::string path_;
  SqliteStoreOptions options_;
  std::unique_ptr<sqlite3, DbClose> db_;
  Stmt begin_, commit_, rollback_, insert_run_, insert_step_, find_old_, delete_steps_,
      delete_runs_;

  std::mutex mu_;
  std::condition_variable work_cv_;  // writer waits for runs, stop or a flush
  std::condition_variable done_cv_;  // flush() waits for handled_
  std::deque<record::RunResult> queue_;
  std::uint64_t accepted_ = 0;      // runs ever queued
  std::uint64_t handled_ = 0;       // runs taken from the queue and written or given up
  std::uint64_t flush_target_ = 0;  // highest accepted_ a flush() waits for
  bool swept_once_ = false;
  bool stop_ = false;
  std::chrono::steady_clock::time_point last_drop_warning_{};

  // Writer-thread only.
  std::chrono::steady_clock::time_point last_busy_warning_{};
  std::chrono::steady_clock::time_point last_error_warning_{};

  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::thread writer_;
};

}  // namespace prober::sinks
