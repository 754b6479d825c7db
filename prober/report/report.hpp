#pragma once
// The SLO report: what a service owner reads. Built from the embedded store (SQLite, schema in
// prober/sinks/sqlite_store.hpp), the journeys and the optional CUJ catalog; rendered as text
// (render_text.cpp), JSON (render_json.cpp) and, later, HTML — every renderer reads only this
// model, never the database.
//
// Definitions (README "Reports" has them for readers):
// - An event is one step of one run. Valid = good + bad. Every event of a run marked invalid is
//   invalid (the prober spoiled that measurement), whatever the step's own result.
// - Runs: good / valid runs of the journey; the availability SLO's target applies.
// - Step availability: good / valid events of the step; the journey's availability target
//   applies (a run is good only when every step is).
// - Latency SLO (`[slo] latency = { step, threshold_ms, target }`): valid = valid events that got
//   an answer (status > 0) or timed out; good = answered within threshold_ms. Without a step it
//   is about whole runs: valid = good runs and runs that timed out; good = good runs whose
//   duration is within threshold_ms. A refused connection says nothing about latency.
// - Error budget remaining = 1 - bad / ((1 - target) * valid): 1 untouched, 0 spent, < 0 overspent.
// - Burn rate = (bad / valid) / (1 - target): 1 spends the budget exactly over the window.
// - Percentiles are exact (nearest rank over the stored total_ms of valid answered events).

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "journeys/catalog.hpp"
#include "journeys/diag.hpp"
#include "journeys/model.hpp"

namespace prober::report {

// The database is missing, unreadable, not a database, or of another schema version.
class DbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An SLI against its objective. The derived values are nullopt without a valid event.
struct Objective {
  std::string kind;                    // "availability" or "latency"
  double target = 0;                   // percent, e.g. 99.5
  std::optional<double> threshold_ms;  // latency only
  std::uint64_t valid = 0, good = 0;
  std::optional<double> sli;               // percent
  std::optional<double> budget_remaining;  // fraction of the allowed bad events still left
  std::optional<double> burn_rate;         // observed error ratio / allowed error ratio
  bool met() const { return sli && *sli >= target; }
};

struct Counts {
  std::uint64_t good = 0, bad = 0, skipped = 0, invalid = 0;
  std::uint64_t valid() const { return good + bad; }
  std::optional<double> sli() const;  // percent; nullopt when valid == 0
};

// Exact latency figures (milliseconds) over the valid events that got an answer.
struct Latency {
  std::uint64_t count = 0;
  std::optional<double> p50, p90, p99, max;
  std::optional<double> threshold_ms;  // the step's latency check, else its latency SLO's
  std::uint64_t over_threshold = 0;    // of count, slower than threshold_ms
};

struct StepLocation {
  std::string location;
  Counts counts;
  Latency latency;
  std::optional<Objective> availability;
  std::optional<Objective> latency_slo;
};

struct StepReport {
  std::string name;
  std::size_t index = 0;  // in the journey
  Counts counts;          // every location
  Latency latency;
  std::optional<Objective> availability;
  std::optional<Objective> latency_slo;
  std::vector<StepLocation> locations;  // by name
};

struct JourneyLocation {
  std::string location;
  Counts runs;
  std::optional<Objective> availability;
};

// Of the valid runs in the window: how many got to the step (it was good or bad, not skipped)
// and how many passed it.
struct FunnelStage {
  std::string step;
  std::uint64_t reached = 0, passed = 0;
};

struct FailureReason {
  std::string step;
  std::string reason;  // record::to_string(Reason)
  std::uint64_t count = 0;
  std::string example;  // the latest message with this step and reason
  std::string example_location;
  std::int64_t example_at_ms = 0;  // Unix ms of that run's start
};

// The window cut into kBuckets equal buckets by run start (the last one takes the remainder).
struct Bucket {
  std::int64_t start_ms = 0;  // Unix ms
  Counts runs;
  // All locations only: the budget left by the runs from the window's start to this bucket's
  // end (make_objective's budget_remaining over the cumulative counts); nullopt before a valid
  // run or without an availability SLO.
  std::optional<double> budget_remaining;
};

struct LocationSeries {
  std::string location;
  std::vector<Bucket> buckets;  // kBuckets
};

struct JourneyReport {
  std::string name;
  std::string description;
  std::string file;
  std::string cuj;              // "" when the journey names none
  std::optional<int> cuj_rank;  // from the catalog
  std::string cuj_owner;
  std::int64_t since_ms = 0;   // the window [since, until)
  std::int64_t window_ms = 0;  // until - since
  Counts runs;
  std::optional<Objective> availability;
  std::optional<Objective> latency_slo;  // [slo] latency without a step: the whole run
  Latency duration;                      // of valid runs
  std::vector<JourneyLocation> locations;
  std::vector<StepReport> steps;  // journey order
  std::vector<FunnelStage> funnel;
  std::vector<FailureReason> top_reasons;  // most frequent first, at most kTopReasons
  std::int64_t bucket_ms = 0;              // window_ms / kBuckets (at least 1)
  std::vector<Bucket> buckets;             // every location; kBuckets of them
  std::vector<LocationSeries> series;      // by location name
};

struct Gap {
  // cuj_no_journey, journey_never_ran, step_never_reached, step_never_passed, status_only,
  // no_checks, no_latency, location_never_ran, no_slo.
  std::string kind;
  std::string cuj, journey, step, location;  // "" when not about one
  journeys::SourcePos pos;                   // file:line:col for static gaps; else empty
  std::string message;
};

struct CujSummary {
  std::string name;
  int rank = 0;
  std::string owner, description;
  std::vector<std::string> journeys;  // the journeys that name it, in report order
};

struct Report {
  std::string db;
  std::int64_t until_ms = 0;
  std::optional<std::int64_t> since_window_ms;  // --since; else each journey's SLO window
  std::string catalog;                          // its file, "" without one
  std::vector<CujSummary> cujs;                 // rank order; empty without a catalog
  std::vector<JourneyReport> journeys;          // CUJ rank order (unranked last), then name
  std::vector<Gap> gaps;
};

inline constexpr std::size_t kTopReasons = 5;
inline constexpr std::size_t kBuckets = 48;
inline constexpr std::int64_t kDefaultWindowMs = 28LL * 24 * 3600 * 1000;

struct ReportOptions {
  std::string db_path;
  std::vector<journeys::JourneyPtr> journeys;
  const journeys::Catalog* catalog = nullptr;  // optional
  std::optional<std::int64_t> since_ms;        // window length (--since D); else the SLO window
  std::int64_t until_ms = 0;                   // Unix ms; 0: now
};

// Reads the database (read-only) and builds the report. Throws DbError naming the file.
Report build_report(const ReportOptions& options);

// Nearest-rank percentile (0 < p <= 100) of sorted values: the smallest value with at least p %
// of the values at or below it. nullopt when empty.
std::optional<double> percentile(const std::vector<double>& sorted, double p);

// The objective's derived values from target, valid and good.
Objective make_objective(std::string kind, double target, std::uint64_t valid, std::uint64_t good,
                         std::optional<double> threshold_ms = std::nullopt);

}  // namespace prober::report
