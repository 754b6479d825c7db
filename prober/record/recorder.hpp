#pragma once
// In-memory aggregates of events: cumulative counters and latency histograms per
// (journey, step, location), run counters per (journey, location). Cumulative, so any
// consumer (summary, live view, Prometheus) computes ratios over any window by differences.
//
// Threading: used from the io_context thread only.

#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "prober/record/event.hpp"

namespace prober::record {

// Default latency buckets in seconds: 5 ms … 30 s.
std::vector<double> default_buckets();

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds_seconds = default_buckets());
  void observe(double seconds);
  const std::vector<double>& bounds() const { return bounds_; }
  // counts()[i]: observations <= bounds()[i] and > bounds()[i-1]; counts().back(): > last bound.
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  // Estimated quantile (0..1) in seconds by linear interpolation inside the bucket, as
  // Prometheus' histogram_quantile does; 0 when empty.
  double quantile(double q) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

struct StepKey {
  std::string journey, step, location;
  auto operator<=>(const StepKey&) const = default;
};
struct JourneyKey {
  std::string journey, location;
  auto operator<=>(const JourneyKey&) const = default;
};

struct StepStats {
  std::uint64_t good = 0, bad = 0, skipped = 0, invalid = 0;
  std::map<Reason, std::uint64_t> bad_by_reason, invalid_by_reason;
  Histogram latency;  // total latency of valid (good or bad) attempts that got an answer
  std::string last_bad_message;
  // Index of the step in its journey (as last seen), so reports list steps in journey order
  // rather than by name.
  std::size_t position = 0;
  std::uint64_t valid() const { return good + bad; }
};

struct JourneyStats {
  std::uint64_t runs_good = 0, runs_bad = 0, runs_invalid = 0;
  std::uint64_t missed_slots = 0;  // slots skipped because the previous run was still going
  // Duration (start to the end of the last step) of the good runs only: every step good, so
  // the run was valid and reached its end. Bad runs are left out (a refused connection after
  // 1 ms says nothing about how long a run takes; a timed-out one is counted by reason in
  // StepStats::bad_by_reason), invalid ones are the prober's fault. It is the good side of a
  // journey-level latency SLO; the report and `prober rules` count good runs plus timed-out
  // runs as valid (README "Alert rules").
  Histogram duration;
  Result last_result = Result::good;
  Reason last_reason = Reason::none;
  std::string last_failed_step;
  bool ran = false;
  std::uint64_t runs_valid() const { return runs_good + runs_bad; }
};

class Recorder {
 public:
  // buckets: the upper bounds (seconds) of every step latency and journey duration histogram;
  // the daemon passes the defaults plus every latency SLO threshold of its journeys.
  explicit Recorder(std::vector<double> buckets = default_buckets());
  void add(const RunResult& run);
  void add_missed_slot(const std::string& journey, const std::string& location);

  const std::map<StepKey, StepStats>& steps() const { return steps_; }
  const std::map<JourneyKey, JourneyStats>& journeys() const { return journeys_; }
  std::uint64_t runs() const { return runs_; }
  std::uint64_t runs_good() const { return runs_good_; }
  std::uint64_t runs_bad() const { return runs_bad_; }
  std::uint64_t runs_invalid() const { return runs_invalid_; }

 private:
  std::vector<double> buckets_;
  std::map<StepKey, StepStats> steps_;
  std::map<JourneyKey, JourneyStats> journeys_;
  // The stats of a (journey, location), created with the recorder's buckets.
  JourneyStats& journey_stats(const std::string& journey, const std::string& location);

  std::uint64_t runs_ = 0, runs_good_ = 0, runs_bad_ = 0, runs_invalid_ = 0;
};

// good / valid in percent; nullopt-like NaN avoided: returns -1 when valid == 0.
double sli_percent(std::uint64_t good, std::uint64_t valid);
// good / valid for people: "99.50%", rounded down to 0.01 % so that "100.00%" means no bad
// event at all; "-" when valid == 0.
std::string format_sli(std::uint64_t good, std::uint64_t valid);

// The per-step summary table printed at the end of a daemon run or the demo: journey, location,
// step, valid, good, SLI %, p50 / p95 latency, invalid, top bad reason with its count.
void print_summary(std::ostream& out, const Recorder& recorder, bool color);

}  // namespace prober::record
