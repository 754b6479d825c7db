#include "prober/engine/scheduler.hpp"

#include <cstdlib>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/registry.hpp"
#include "journeys/loader.hpp"
#include "prober/engine/workers.hpp"
#include "tests/support/proc.hpp"

namespace {

using namespace std::chrono_literals;
using prober::engine::Scheduler;
using prober::engine::SchedulerOptions;
using prober::record::Reason;
using prober::record::Result;
using prober::record::RunResult;

journeys::JourneyPtr make_journey(const std::string& name, const std::string& url,
                                  const std::string& interval, const std::string& timeout = "10s") {
  journeys::LoadOptions o;
  o.checks = &checks::catalog();
  const std::string text = "name = \"" + name + "\"\ninterval = \"" + interval + "\"\ntimeout = \"" +
                           timeout + "\"\n[[steps]]\nname = \"get\"\nrequest = { url = \"" + url +
                           "\" }\n[[steps]]\nname = \"again\"\nrequest = { url = \"" + url + "\" }\n";
  return std::make_shared<journeys::Journey>(journeys::load_journey_string(text, name + ".toml", o));
}

class SchedulerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* path = std::getenv("BADSERVER");
    ASSERT_NE(path, nullptr) << "BADSERVER is not set (run through meson test)";
    server_ = new testing_support::Server({path, "--port", "0"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  std::string url(const std::string& path) { return server_->url() + path; }

  // Runs the loop until stop() completes, with a watchdog.
  void run_until_stopped(Scheduler& s, std::chrono::milliseconds after, std::chrono::milliseconds grace) {
    boost::asio::steady_timer stopper(io_, after);
    stopper.async_wait([&](auto) { s.stop(grace, [&] { stopped_ = true; io_.stop(); }); });
    boost::asio::steady_timer watchdog(io_, 20s);
    watchdog.async_wait([&](auto ec) {
      if (!ec) io_.stop();
    });
    io_.run();
    ASSERT_TRUE(stopped_) << "watchdog: the scheduler did not stop";
  }

  // Blocks the thread of `io` (the test's loop by default; a worker's) as an overloaded prober
  // would, once `after` has passed.
  void stall_loop_at(std::chrono::milliseconds after, std::chrono::milliseconds for_how_long) {
    stall_loop_at(io_, after, for_how_long);
  }
  static void stall_loop_at(boost::asio::io_context& io, std::chrono::milliseconds after,
                            std::chrono::milliseconds for_how_long) {
    auto t = std::make_shared<boost::asio::steady_timer>(io, after);
    t->async_wait([t, for_how_long](auto) { std::this_thread::sleep_for(for_how_long); });
  }

  // The late_start runs and the good ones. Every late run is invalid in every step, sent
  // nothing, and says `why`.
  std::pair<std::size_t, std::size_t> late_and_good(const std::string& why) const {
    std::size_t late = 0, good = 0;
    for (const auto& r : results_) {
      if (r.reason == Reason::late_start) {
        ++late;
        EXPECT_EQ(r.result, Result::invalid);
        for (const auto& step : r.steps) {
          EXPECT_EQ(step.result, Result::invalid);
          EXPECT_EQ(step.status, 0) << "a late slot must not send anything";
          EXPECT_THAT(step.message, testing::HasSubstr(why));
        }
      } else if (r.result == Result::good) {
        ++good;
      }
    }
    return {late, good};
  }

  static testing_support::Server* server_;
  boost::asio::io_context io_;
  prober::transport::Client client_{io_};
  std::vector<RunResult> results_;
  bool stopped_ = false;
  Scheduler::Hooks hooks() {
    return {[this](const RunResult& r) { results_.push_back(r); }, nullptr};
  }
};

testing_support::Server* SchedulerTest::server_ = nullptr;

TEST_F(SchedulerTest, ALoopStallInvalidatesTheRunsInFlight) {
  SchedulerOptions o;
  o.stall_threshold = 100ms;
  o.late_threshold = 5s;
  Scheduler s(io_, client_, o, hooks());
  s.set_plan({make_journey("slow", url("/slow?ms=1500"), "1s")}, {prober::engine::Location{}});
  // The first slot comes within 1 s (its phase is wall-clock aligned) and the run lasts 3 s (two
  // steps), so whatever the phase it is in flight at 1.2 s, when the loop stalls for 400 ms.
  stall_loop_at(1200ms, 400ms);
  run_until_stopped(s, 4500ms, 100ms);
  ASSERT_FALSE(results_.empty());
  bool stalled = false;
  for (const auto& r : results_) {
    if (r.reason != Reason::loop_stall) continue;
    stalled = true;
    EXPECT_EQ(r.result, Result::invalid);
    for (const auto& step : r.steps) {
      // The step whose answer waited out the stall is invalid by itself (its read lag) and
      // ends the run; the ticker marks every step that ran.
      if (step.result == Result::skipped) continue;
      EXPECT_EQ(step.result, Result::invalid);
      EXPECT_EQ(step.reason, Reason::loop_stall);
      EXPECT_THAT(step.message, testing::HasSubstr("event loop stalled"));
    }
  }
  EXPECT_TRUE(stalled);
  EXPECT_GE(s.stats().stalls, 1u);
  EXPECT_GE(s.stats().loop_stall_max_ms, 300.0);
}

TEST_F(SchedulerTest, ASlotReachedLateIsInvalidAndSendsNothing) {
  SchedulerOptions o;
  o.late_threshold = 50ms;
  o.stall_threshold = 10s;
  Scheduler s(io_, client_, o, hooks());
  s.set_plan({make_journey("tick", url("/ok"), "100ms")}, {prober::engine::Location{}});
  stall_loop_at(500ms, 450ms);
  run_until_stopped(s, 1500ms, 2s);
  const auto [late, good] = late_and_good("the prober is overloaded");
  EXPECT_GE(late, 1u);
  EXPECT_GE(good, 5u);
  EXPECT_EQ(late, s.stats().late_starts);
}

TEST_F(SchedulerTest, StopCancelsRunsThatOutlastTheGraceAsInvalid) {
  SchedulerOptions o;
  Scheduler s(io_, client_, o, hooks());
  s.set_plan({make_journey("stuck", url("/never"), "100ms", "30s")}, {prober::engine::Location{}});
  const auto t0 = std::chrono::steady_clock::now();
  run_until_stopped(s, 400ms, 200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].result, Result::invalid);
  EXPECT_EQ(results_[0].reason, Reason::cancelled);
  EXPECT_EQ(results_[0].steps[0].result, Result::invalid);
  EXPECT_EQ(results_[0].steps[1].result, Result::skipped);
  EXPECT_EQ(s.in_flight(), 0u);
}

// With worker loops the scheduler's own loop stays idle while a busy worker starts runs late:
// the slot is judged again on the worker, and a run its loop reached past late_threshold is
// not run (late_start), as on one loop. A worker stalled while runs were in flight on it
// makes them invalid (loop_stall), judged by that loop's own ticker.
TEST_F(SchedulerTest, AWorkerLoopReachingASlotLateDoesNotRunIt) {
  SchedulerOptions o;
  o.late_threshold = 50ms;
  o.stall_threshold = 10s;
  prober::engine::Workers workers(1, o.stall_threshold);
  Scheduler s(io_, client_, o, hooks());
  s.set_workers(&workers);
  s.set_plan({make_journey("tick", url("/ok"), "100ms")}, {prober::engine::Location{}});
  // The worker's thread is blocked for its first 450 ms; the scheduler's loop is not. The
  // first slot comes within 100 ms, when the pair cannot be running yet (blocking later made
  // the test depend on whether a run was in flight then: its next slots are missed, not late).
  stall_loop_at(workers.loop(0).io, 0ms, 450ms);
  run_until_stopped(s, 1500ms, 2s);
  const auto [late, good] = late_and_good("its event loop reached the slot");
  EXPECT_GE(late, 1u);
  EXPECT_GE(good, 5u);
  EXPECT_EQ(late, s.stats().late_starts);
  workers.stop();
}

TEST_F(SchedulerTest, AWorkerLoopStallInvalidatesItsRunsInFlight) {
  SchedulerOptions o;
  o.stall_threshold = 100ms;
  o.late_threshold = 5s;
  prober::engine::Workers workers(1, o.stall_threshold);
  Scheduler s(io_, client_, o, hooks());
  s.set_workers(&workers);
  s.set_plan({make_journey("slow", url("/slow?ms=1500"), "1s")}, {prober::engine::Location{}});
  stall_loop_at(workers.loop(0).io, 1200ms, 400ms);  // in flight then, as above
  run_until_stopped(s, 4500ms, 100ms);
  bool stalled = false;
  for (const auto& r : results_)
    if (r.reason == Reason::loop_stall) {
      stalled = true;
      EXPECT_EQ(r.result, Result::invalid);
    }
  EXPECT_TRUE(stalled);
  EXPECT_GE(s.stats().stalls, 1u) << "the worker's stalls are the prober's";
  EXPECT_GE(s.stats().loop_stall_max_ms, 300.0);
  workers.stop();
}

TEST(StableHash, IsStableAndSpreadsPhasesEvenly) {
  // Pinned: changing the hash would move every deployed fleet's phases.
  EXPECT_EQ(prober::engine::stable_hash("checkout", "local"), prober::engine::stable_hash("checkout", "local"));
  EXPECT_NE(prober::engine::stable_hash("checkout", "edge-a"), prober::engine::stable_hash("checkout", "edge-b"));
  EXPECT_NE(prober::engine::stable_hash("ab", "c"), prober::engine::stable_hash("a", "bc"));
  // 1,000 pairs on 60 s: ten 6 s windows hold about 100 each.
  std::vector<int> windows(10);
  for (int i = 0; i < 1000; ++i)
    windows[prober::engine::stable_hash("j" + std::to_string(i), "local") % 60000 / 6000]++;
  for (int w : windows) {
    EXPECT_GT(w, 60);
    EXPECT_LT(w, 140);
  }
}

}  // namespace
