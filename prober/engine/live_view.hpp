#pragma once
// The live view on a terminal: what the prober is doing right now. A pure function of the
// recorder and a status snapshot, so it is tested without a terminal; the daemon redraws it
// about once a second when stdout is a TTY and never otherwise.

#include <chrono>
#include <cstdint>
#include <string>

#include "prober/record/recorder.hpp"

namespace prober::engine {

struct LiveStatus {
  std::chrono::seconds uptime{0};
  double runs_per_second = 0;  // over the last few seconds
  std::size_t in_flight = 0;
  std::size_t scheduled = 0;  // (journey, location) pairs
  double schedule_lag_p99_ms = 0;
  double loop_stall_max_ms = 0;
  std::uint64_t missed_slots = 0;
};

// A frame: a header line (uptime, runs/s, in flight, good / bad / invalid so far, lag,
// stalls), then one line per (journey, location): last result (and failed step and reason if
// not good), runs, SLI %. At most max_rows journey lines ("… N more"), each cut to width
// columns. color: ANSI colours. No cursor movement: the caller clears and redraws.
std::string render_live_frame(const record::Recorder& recorder, const LiveStatus& status,
                              std::size_t width, std::size_t max_rows, bool color);

}  // namespace prober::engine
