#include "prober/engine/scheduler.hpp"

#include <utility>  // before asio's coroutine headers (Boost 1.74 uses std::exchange)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <random>

#include "prober/engine/runner.hpp"
#include "prober/engine/workers.hpp"

namespace prober::engine {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using SysClock = std::chrono::system_clock;
using SteadyClock = std::chrono::steady_clock;

std::mt19937_64& rng() {
  static std::mt19937_64 r{std::random_device{}()};
  return r;
}

// A run that never sent anything: every step recorded with the same invalid reason.
record::RunResult synthesize(const journeys::Journey& j, const std::string& location,
                             record::Reason reason, const std::string& message) {
  record::RunResult run;
  run.journey = j.name;
  run.cuj = j.cuj;
  run.location = location;
  run.run_id = new_run_id();
  run.started_at = SysClock::now();
  run.result = record::Result::invalid;
  run.reason = reason;
  for (const auto& step : j.steps) {
    record::StepResult& s = run.steps.emplace_back();
    s.name = step.name;
    s.method = step.request.method;
    s.result = record::Result::invalid;
    s.reason = reason;
    s.message = message;
  }
  if (!run.steps.empty()) run.failed_step = run.steps.front().name;
  return run;
}

}  // namespace

std::uint64_t stable_hash(const std::string& journey, const std::string& location) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (unsigned char c : journey) mix(c);
  mix(0);
  for (unsigned char c : location) mix(c);
  return h;
}

struct Scheduler::Pair {
  explicit Pair(boost::asio::io_context& io) : timer(io) {}
  std::string key;
  std::uint64_t hash = 0;  // stable_hash(journey, location): its phase and its worker loop
  journeys::JourneyPtr journey;
  std::shared_ptr<const Location> location;
  nanoseconds interval{};
  nanoseconds phase{};
  boost::asio::steady_timer timer;
  SysClock::time_point last_slot{};  // the slot most recently fired (without jitter)
  bool running = false;
  bool removed = false;
  bool tainted = false;  // a loop stall happened while its run was in flight
  double stall_ms = 0;
  std::shared_ptr<RunControl> control;
};

Scheduler::Scheduler(boost::asio::io_context& io, transport::Client& client,
                     SchedulerOptions options, Hooks hooks)
    : io_(io),
      client_(client),
      options_(options),
      hooks_(std::move(hooks)),
      ticker_(io),
      grace_timer_(io),
      alive_(std::make_shared<bool>(true)) {
  next_tick_ = SteadyClock::now() + milliseconds(100);
  tick();
}

Scheduler::~Scheduler() {
  *alive_ = false;
  for (auto& [key, p] : pairs_) p->timer.cancel();
}

void Scheduler::set_plan(const std::vector<journeys::JourneyPtr>& journeys,
                         const std::vector<Location>& locations, nanoseconds interval_override) {
  std::map<std::string, std::shared_ptr<Pair>> next;
  for (const auto& loc : locations) {
    auto shared_loc = std::make_shared<const Location>(loc);
    for (const auto& j : journeys) {
      if (!j->locations.empty() &&
          std::find(j->locations.begin(), j->locations.end(), loc.name) == j->locations.end())
        continue;
      std::string key = j->name + '\0' + loc.name;
      const nanoseconds interval = interval_override.count() > 0 ? interval_override : j->interval;
      const std::uint64_t hash = stable_hash(j->name, loc.name);
      const nanoseconds phase{
          static_cast<long long>(hash % static_cast<std::uint64_t>(interval.count()))};
      std::shared_ptr<Pair> p;
      if (auto it = pairs_.find(key); it != pairs_.end()) {
        p = it->second;
        pairs_.erase(it);
      } else {
        p = std::make_shared<Pair>(io_);
        p->key = key;
        p->hash = hash;
      }
      const bool retime = p->interval != interval || p->phase != phase;
      p->journey = j;
      p->location = shared_loc;
      p->interval = interval;
      p->phase = phase;
      if (retime) {
        p->timer.cancel();
        p->last_slot = {};
        if (!stopping_) arm(p);
      }
      next.emplace(std::move(key), std::move(p));
    }
  }
  // What is left was removed from the plan: no more slots; a run in flight finishes.
  for (auto& [key, p] : pairs_) {
    p->removed = true;
    p->timer.cancel();
  }
  pairs_ = std::move(next);
}

// Arms the pair's timer for its next slot: the one after the last fired, or — after a long
// stall or at the start — the first one from now (slots in between are counted missed).
void Scheduler::arm(const std::shared_ptr<Pair>& p) {
  const auto now = SysClock::now();
  const auto since_epoch = duration_cast<nanoseconds>(now.time_since_epoch());
  SysClock::time_point slot;
  if (p->last_slot != SysClock::time_point{} && p->last_slot + p->interval > now - p->interval) {
    slot = p->last_slot + p->interval;
  } else {
    const auto k = (since_epoch - p->phase) / p->interval + 1;
    slot = SysClock::time_point(duration_cast<SysClock::duration>(k * p->interval + p->phase));
    if (p->last_slot != SysClock::time_point{}) {
      const auto skipped = (slot - p->last_slot) / p->interval - 1;
      for (long long i = 0; i < skipped; ++i) {
        ++stats_.missed_slots;
        if (hooks_.on_missed_slot) hooks_.on_missed_slot(p->journey->name, p->location->name);
      }
    }
  }
  p->last_slot = slot;
  SysClock::time_point due = slot;
  if (options_.jitter.count() > 0)
    due += milliseconds(std::uniform_int_distribution<long long>(0, options_.jitter.count() - 1)(rng()));
  p->timer.expires_after(due - now);
  p->timer.async_wait([this, p, due, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive || p->removed || stopping_) return;
    fire(p, due);
  });
}

void Scheduler::fire(const std::shared_ptr<Pair>& p, SysClock::time_point due) {
  const auto lag = SysClock::now() - due;
  stats_.schedule_lag.observe(std::chrono::duration<double>(lag).count());
  if (p->running) {
    // Never overlap a pair with itself: this slot is missed, and counted.
    ++stats_.missed_slots;
    if (hooks_.on_missed_slot) hooks_.on_missed_slot(p->journey->name, p->location->name);
  } else if (lag > options_.late_threshold) {
    ++stats_.late_starts;
    if (hooks_.on_result)
      hooks_.on_result(late_start(*p->journey, p->location->name, "the slot came",
                                  duration_cast<milliseconds>(lag)));
  } else {
    launch(p, due);
  }
  arm(p);
}

void Scheduler::launch(const std::shared_ptr<Pair>& p, SysClock::time_point due) {
  p->running = true;
  p->tainted = false;
  p->stall_ms = 0;
  p->control = std::make_shared<RunControl>();
  p->control->lag_tolerance = options_.lag_tolerance;
  running_.insert(p);
  ++in_flight_;
  ++stats_.runs_started;
  if (workers_ != nullptr) {
    launch_on_worker(p, due);
    return;
  }
  // The completion handler holds the journey and location: they outlive the coroutine even if
  // a reload replaces them meanwhile.
  boost::asio::co_spawn(
      io_, run_journey(client_, p->journey, *p->location, new_run_id(), p->control),
      [this, p, journey = p->journey, loc = p->location, alive = alive_](
          std::exception_ptr e, record::RunResult run) {
        if (!*alive) return;
        if (e) {
          std::string what = "unexpected error";
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            what = ex.what();
          } catch (...) {
          }
          run = synthesize(*journey, loc->name, record::Reason::internal, what);
        }
        finished(p, std::move(run));
      });
}

namespace {

// The run as the worker loop did it, and whether that loop stalled meanwhile.
struct WorkerRun {
  record::RunResult run;
  std::string error;     // the run threw (a bug): what
  double stall_ms = 0;   // > 0: its loop stalled while it was in flight
  double late_ms = 0;    // > 0: not run, its loop reached it this late (past late_threshold)
};

// A busy worker loop starts runs late while the scheduler's loop stays idle: the slot is
// judged again where the run would start, as the scheduler judges it in one-loop mode.
boost::asio::awaitable<WorkerRun> run_on(Workers::Loop& loop, journeys::JourneyPtr journey,
                                         std::shared_ptr<const Location> location,
                                         std::shared_ptr<RunControl> control,
                                         SysClock::time_point due, milliseconds late_threshold) {
  WorkerRun out;
  const auto late = SysClock::now() - due;
  if (late > late_threshold) {
    out.late_ms = std::chrono::duration<double, std::milli>(late).count();
    co_return out;
  }
  const std::uint64_t stalls_before = loop.stalls();
  try {
    out.run = co_await run_journey(loop.client, journey, *location, new_run_id(), control);
  } catch (const std::exception& e) {
    out.error = e.what();
  } catch (...) {
    out.error = "unexpected error";
  }
  if (loop.stalls() != stalls_before) out.stall_ms = loop.last_stall_ms();
  co_return out;
}

}  // namespace

Workers::Loop& Scheduler::loop_of(const Pair& p) {
  // The high half of the hash: FNV-1a's low bits follow the names' last characters' low bits.
  return workers_->loop(static_cast<std::size_t>((p.hash >> 32) % workers_->size()));
}

// The pair's run on its worker loop. Everything the worker side holds is moved into what it
// posts back: the pair (and its timer, of this loop) is never released on the worker's thread.
void Scheduler::launch_on_worker(const std::shared_ptr<Pair>& p, SysClock::time_point due) {
  Workers::Loop& loop = loop_of(*p);
  boost::asio::co_spawn(
      loop.io, run_on(loop, p->journey, p->location, p->control, due, options_.late_threshold),
      [this, main = &io_, p, journey = p->journey, loc = p->location,
       alive = alive_](std::exception_ptr e, WorkerRun done) mutable {
        if (e) done.error = "unexpected error";
        boost::asio::post(*main, [this, p = std::move(p), journey = std::move(journey),
                                  loc = std::move(loc), alive = std::move(alive),
                                  done = std::move(done)]() mutable {
          if (!*alive) return;
          if (done.late_ms > 0) {
            ++stats_.late_starts;
            done.run = late_start(*journey, loc->name, "its event loop reached the slot",
                                  milliseconds(static_cast<long long>(done.late_ms)));
          } else if (!done.error.empty()) {
            done.run = synthesize(*journey, loc->name, record::Reason::internal, done.error);
          }
          if (done.stall_ms > 0) {
            p->tainted = true;
            p->stall_ms = std::max(p->stall_ms, done.stall_ms);
          }
          finished(p, std::move(done.run));
        });
      });
}

record::RunResult Scheduler::late_start(const journeys::Journey& journey, const std::string& location,
                                        const std::string& what, milliseconds late) const {
  return synthesize(journey, location, record::Reason::late_start,
                    "not run: " + what + " " + std::to_string(late.count()) + " ms late (threshold " +
                        std::to_string(options_.late_threshold.count()) +
                        " ms); the prober is overloaded");
}

void Scheduler::finished(const std::shared_ptr<Pair>& p, record::RunResult run) {
  p->running = false;
  p->control.reset();
  running_.erase(p);
  --in_flight_;
  ++stats_.runs_finished;
  if (p->tainted) {
    // Its timings include the prober's own stall: not a measurement of the target.
    const std::string why = "the prober's event loop stalled " +
                            std::to_string(static_cast<long long>(p->stall_ms)) +
                            " ms while the run was in flight";
    for (auto& s : run.steps) {
      if (s.result == record::Result::skipped) continue;
      s.result = record::Result::invalid;
      s.reason = record::Reason::loop_stall;
      s.message = why;
    }
    run.result = record::Result::invalid;
    run.reason = record::Reason::loop_stall;
    if (!run.steps.empty() && run.failed_step.empty()) run.failed_step = run.steps.front().name;
    p->tainted = false;
  }
  if (hooks_.on_result) hooks_.on_result(run);
  maybe_done();
}

void Scheduler::tick() {
  const auto now = SteadyClock::now();
  const auto late = now - next_tick_;
  if (late > options_.stall_threshold) {
    const double ms = std::chrono::duration<double, std::milli>(late).count();
    ++stats_.stalls;
    stats_.loop_stall_max_ms = std::max(stats_.loop_stall_max_ms, ms);
    // With worker loops, runs are measured there and judged by their own loop's stalls; a
    // stall of this one only delays slots (late_start) and results.
    if (workers_ == nullptr) {
      for (const auto& p : running_) {
        p->tainted = true;
        p->stall_ms = std::max(p->stall_ms, ms);
      }
    }
  }
  fold_worker_stalls();
  if (stopping_) return;
  next_tick_ = now + milliseconds(100);
  ticker_.expires_at(next_tick_);
  ticker_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (!ec && *alive) tick();
  });
}

void Scheduler::stop(milliseconds grace, std::function<void()> done) {
  stopping_ = true;
  done_ = std::move(done);
  ticker_.cancel();
  for (auto& [key, p] : pairs_) p->timer.cancel();
  if (in_flight_ == 0) {
    maybe_done();
    return;
  }
  grace_timer_.expires_after(grace);
  grace_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    // Out of patience: cancel what is left; each completes as invalid (cancelled).
    for (const auto& p : running_) {
      if (!p->control) continue;
      if (workers_ == nullptr) {
        p->control->cancel();
      } else {  // on the run's own loop
        boost::asio::post(loop_of(*p).io, [control = p->control] { control->cancel(); });
      }
    }
  });
}

void Scheduler::fold_worker_stalls() {
  if (workers_ == nullptr) return;
  for (std::size_t i = 0; i < workers_->size(); ++i) {
    Workers::Loop& loop = workers_->loop(i);
    stats_.stalls += loop.take_stall_count();
    stats_.loop_stall_max_ms = std::max(stats_.loop_stall_max_ms, loop.take_stall_max_ms());
  }
}

void Scheduler::maybe_done() {
  if (!stopping_ || in_flight_ != 0 || !done_) return;
  fold_worker_stalls();  // the ticker is off since stop(): stalls of the grace period too
  grace_timer_.cancel();
  boost::asio::post(io_, std::exchange(done_, nullptr));
}

}  // namespace prober::engine
