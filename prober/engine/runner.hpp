#pragma once
// Runs one journey once from one location: templating, the requests, checks, captures.
// Knows nothing about time slots — the scheduler owns time (and decides what is late).

#include <chrono>
#include <memory>
#include <string>
#include <utility>  // before awaitable.hpp: Boost 1.74 uses std::exchange without including it

#include <boost/asio/awaitable.hpp>

#include "journeys/model.hpp"
#include "prober/engine/config.hpp"
#include "prober/engine/location.hpp"
#include "prober/record/event.hpp"
#include "prober/transport/http.hpp"

namespace prober::engine {

// Lets the scheduler end a run early (shutdown): cancel() aborts the request in flight and
// every later step is recorded as invalid (cancelled).
class RunControl {
 public:
  void cancel();
  bool cancelled() const { return cancelled_; }
  // A step whose answer waited longer than this in the kernel before the prober read it
  // (transport::HttpResult::lag_ms) is invalid (loop_stall) unless it failed for a
  // reason the delay cannot cause: its latency is partly the prober's own.
  std::chrono::microseconds lag_tolerance{kDefaultLagTolerance};

 private:
  friend boost::asio::awaitable<record::RunResult> run_journey(
      transport::Client&, journeys::JourneyPtr, const Location&, std::string,
      std::shared_ptr<RunControl>);
  bool cancelled_ = false;
  transport::Client* client_ = nullptr;
  transport::Session* session_ = nullptr;  // while the run is going
};

// A fresh random run id: 16 hex digits.
std::string new_run_id();

// Runs every step in order; the first step that is not good ends the run and the rest are
// recorded as skipped. Never throws for anything the target does; runs on client's
// io_context thread.
boost::asio::awaitable<record::RunResult> run_journey(transport::Client& client,
                                                      journeys::JourneyPtr journey,
                                                      const Location& location,
                                                      std::string run_id,
                                                      std::shared_ptr<RunControl> control = {});

}  // namespace prober::engine
