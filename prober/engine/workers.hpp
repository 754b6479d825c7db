#pragma once
// Event loops that run journeys, one per thread, each with its own transport::Client (its own
// curl multi handle, connection cache and easy handles). With thousands of steps a second the
// prober's CPU goes to curl, the kernel's socket calls and the checks — per step, so one loop
// is at most one core. The scheduler, the recorder and the sinks stay on the owner's loop: a
// run is started on a worker and its result handed back (see Scheduler).
//
// Each loop watches itself as the scheduler watches its own: a 100 ms tick that fires later
// than stall_threshold counts as a stall of that loop. A run reads `stalls()` before and
// after (on the loop's thread): a run during which its loop stalled is spoiled.
//
// Threading: construct, stop() and destroy on the owner's thread. Everything of a Loop runs on
// that loop's thread: reach it with boost::asio::post(loop.io, ...). stall_count() and
// stall_max_ms() may be read from any thread.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "prober/transport/http.hpp"

namespace prober::engine {

class Workers {
 public:
  class Loop {
   public:
    // `loops`: how many there are (their clients share the idle-connection budget).
    Loop(std::chrono::milliseconds stall_threshold, std::size_t loops);
    boost::asio::io_context io;
    transport::Client client;
    // Stalls of this loop so far (its own thread only), and the longest.
    std::uint64_t stalls() const { return stalls_; }
    double last_stall_ms() const { return last_stall_ms_; }
    // Any thread: totals since the last take (for the prober's own stall figures).
    std::uint64_t take_stall_count() { return stall_count_.exchange(0); }
    double take_stall_max_ms() { return stall_max_ms_.exchange(0); }

   private:
    friend class Workers;
    void tick();
    std::chrono::milliseconds stall_threshold_;
    boost::asio::steady_timer ticker_{io};
    std::chrono::steady_clock::time_point next_tick_;
    std::uint64_t stalls_ = 0;
    double last_stall_ms_ = 0;
    std::atomic<std::uint64_t> stall_count_{0};
    std::atomic<double> stall_max_ms_{0};
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
    std::thread thread_;
  };

  // n >= 1 loops, each running on its own thread from now on. A handler that throws on a
  // loop (a bug) is reported on stderr and the loop goes on. Throws (having stopped what it
  // started) when a loop or its thread cannot be made.
  Workers(std::size_t n, std::chrono::milliseconds stall_threshold);
  // stop()
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  // Ends every loop and joins its thread. Runs still in flight are dropped (stop the
  // scheduler first: it waits for them or cancels them). Idempotent.
  void stop();

  std::size_t size() const { return loops_.size(); }
  Loop& loop(std::size_t i) { return *loops_[i % loops_.size()]; }

 private:
  void start(std::size_t n, std::chrono::milliseconds stall_threshold);
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace prober::engine
