#pragma once
// The scheduler owns time. Every (journey, location) pair runs once per interval:
//
//  * Slots are aligned to the wall clock: slot k of a pair is at k * interval + phase since
//    the Unix epoch, where phase = stable_hash(journey, location) mod interval. Restarts and
//    other processes of a fleet keep the same phases, and 1,000 pairs on a 60 s interval start
//    about 60 ms apart on average instead of all at once.
//  * A pair's run still going when its next slot comes is never overlapped: the slot is missed
//    and counted (a timeout longer than the interval is allowed; it skips slots, never stacks).
//  * A slot the loop reaches later than late_threshold is not run at all: it is recorded as
//    invalid (late_start). The prober is overloaded; sending more would distort more.
//  * A 100 ms ticker watches the loop: when it fires later than stall_threshold, every run in
//    flight is marked, and its result recorded as invalid (loop_stall).
//  * With worker loops (set_workers), runs go to them instead — a pair always to the same
//    one — and each run is judged by its own loop's stalls (Workers); results come back here.
//
// Threading: everything on the io_context's thread (the workers' side is posted to them).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "journeys/model.hpp"
#include "prober/engine/config.hpp"
#include "prober/engine/location.hpp"
#include "prober/engine/workers.hpp"
#include "prober/record/event.hpp"
#include "prober/record/recorder.hpp"
#include "prober/transport/http.hpp"

namespace prober::engine {

class RunControl;

struct SchedulerStats {
  std::uint64_t runs_started = 0;
  std::uint64_t runs_finished = 0;
  std::uint64_t late_starts = 0;
  std::uint64_t missed_slots = 0;
  std::uint64_t stalls = 0;
  double loop_stall_max_ms = 0;
  record::Histogram schedule_lag{{0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                  0.25, 0.5, 1, 2.5, 5}};  // seconds
};

// Stable across processes and builds: FNV-1a over "journey\0location".
std::uint64_t stable_hash(const std::string& journey, const std::string& location);

class Scheduler {
 public:
  struct Hooks {
    std::function<void(const record::RunResult&)> on_result;  // every run, valid or not
    std::function<void(const std::string& journey, const std::string& location)> on_missed_slot;
  };

  Scheduler(boost::asio::io_context& io, transport::Client& client, SchedulerOptions options,
            Hooks hooks);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Sets what runs where. Called again (SIGHUP), it swaps atomically: pairs that stay keep
  // their phase and any run in flight (the next run uses the new definition); pairs that go
  // stop after the run in flight; new pairs start at their next slot. A journey restricted to
  // some locations runs only there. interval_override > 0 replaces every journey's interval.
  void set_plan(const std::vector<journeys::JourneyPtr>& journeys,
                const std::vector<Location>& locations,
                std::chrono::nanoseconds interval_override = {});

  // Runs go to these loops from now on (nullptr: on this io_context, with `client`). They must
  // outlive the scheduler's runs: stop() the scheduler and let it finish first.
  void set_workers(Workers* workers) { workers_ = workers; }

  // Stops scheduling; runs in flight get `grace`, then are cancelled (recorded invalid). Calls
  // done once nothing is in flight.
  void stop(std::chrono::milliseconds grace, std::function<void()> done);

  std::size_t in_flight() const { return in_flight_; }
  std::size_t pairs() const { return pairs_.size(); }
  const SchedulerStats& stats() const { return stats_; }

 private:
  struct Pair;
  void arm(const std::shared_ptr<Pair>& p);
  void fire(const std::shared_ptr<Pair>& p, std::chrono::system_clock::time_point slot);
  void launch(const std::shared_ptr<Pair>& p, std::chrono::system_clock::time_point slot);
  void finished(const std::shared_ptr<Pair>& p, record::RunResult run);
  // A slot not run because it was reached `late` ("the slot came", "its event loop reached
  // the slot"): every step invalid, late_start.
  record::RunResult late_start(const journeys::Journey& journey, const std::string& location,
                               const std::string& what, std::chrono::milliseconds late) const;
  void launch_on_worker(const std::shared_ptr<Pair>& p, std::chrono::system_clock::time_point due);
  Workers::Loop& loop_of(const Pair& p);  // the worker loop a pair always runs on
  void tick();
  void fold_worker_stalls();  // the worker loops' stall figures into stats_
  void maybe_done();

  boost::asio::io_context& io_;
  transport::Client& client_;
  Workers* workers_ = nullptr;
  SchedulerOptions options_;
  Hooks hooks_;
  std::map<std::string, std::shared_ptr<Pair>> pairs_;  // key: journey "\0" location
  std::size_t in_flight_ = 0;
  std::set<std::shared_ptr<Pair>> running_;  // pairs with a run in flight, removed ones too
  SchedulerStats stats_;
  boost::asio::steady_timer ticker_;
  std::chrono::steady_clock::time_point next_tick_;
  boost::asio::steady_timer grace_timer_;
  bool stopping_ = false;
  std::function<void()> done_;
  std::shared_ptr<bool> alive_;
};

}  // namespace prober::engine
