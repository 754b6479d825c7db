#pragma once
// The SLO review (`prober review`): did the SLIs see the incidents people remember, and which
// availability target would past performance have met? Built from the same store and
// definitions as the report (report.hpp), one report per incident window.
//
// Definitions (README "SLO review" has them for readers):
// - Incident window: [start, end) in Unix ms, from an incidents file:
//     [[incident]]
//     title = "Payments down"
//     start = "2027-01-15T07:53:00Z"   # RFC 3339 UTC (a string or a TOML date-time)
//     end = "2027-01-15T07:55:00Z"
// - Inside the window, per journey (and step): valid and bad events, and the burn rate
//   (bad / valid) / (1 - target) — how fast the window spent the budget.
// - Budget burned = bad events in the incident / allowed bad events over the SLO window, where
//   allowed = (1 - target) x valid events of the review window (the journey's SLO window, or
//   --since, ending at --until). 1 means the incident alone spent the whole budget.
// - Seen: some journey burned at least one of its objectives (availability of runs, a latency
//   SLO of the run or of a step) at a rate >= 1 inside the window, i.e. faster than the SLO
//   allows. An incident no SLI saw is a coverage gap: no journey, no SLO, or too few runs.
// - Target suggestion (journeys with an availability SLO): the achieved SLI of runs over the
//   review window, and for each standard target whether it would have been met and the budget
//   left, 1 - bad / ((1 - target) x valid).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "journeys/diag.hpp"
#include "journeys/model.hpp"

namespace prober::report {

struct Incident {
  std::string title;
  std::int64_t start_ms = 0, end_ms = 0;  // [start, end), Unix ms
  journeys::SourcePos pos;                // of its [[incident]] table
};

// Parse an incidents file; every problem is reported at once as a journeys::LoadError with
// file:line:col (missing or unknown keys with a did-you-mean, times that are not RFC 3339 UTC,
// an end not after its start, no incident at all).
std::vector<Incident> load_incidents_string(std::string_view toml_text,
                                            const std::string& file_name);
std::vector<Incident> load_incidents_file(const std::filesystem::path& path);

// "2027-01-15T08:00:00Z" or "2027-01-15T08:00:00.250Z" (UTC only): Unix ms, or nullopt.
std::optional<std::int64_t> parse_rfc3339_utc(std::string_view s);

struct StepImpact {
  std::string name;
  std::uint64_t valid = 0, bad = 0;         // events inside the incident window
  std::optional<double> burn_rate;          // availability, inside the window
  std::optional<double> budget_burned;      // of the SLO window's availability budget
  std::optional<double> latency_burn_rate;  // the step's latency SLO, inside the window
};

struct JourneyImpact {
  std::string name;
  std::optional<double> target;             // availability, percent; nullopt without one
  std::uint64_t valid = 0, bad = 0;         // runs inside the incident window
  std::optional<double> burn_rate;          // availability of runs, inside the window
  std::optional<double> budget_burned;      // of the SLO window's budget
  std::optional<double> latency_burn_rate;  // the run latency SLO, inside the window
  // The highest burn rate of any objective of the journey (runs, run latency, step latency).
  std::optional<double> max_burn() const;
  bool seen = false;              // max_burn() >= 1
  std::vector<StepImpact> steps;  // journey order
};

struct IncidentReview {
  Incident incident;
  bool seen = false;                    // some journey saw it
  std::vector<JourneyImpact> journeys;  // report order
};

struct TargetOption {
  double target = 0;  // percent
  bool met = false;
  double budget_left = 0;  // fraction: 1 untouched, < 0 overspent
};

struct TargetSuggestion {
  std::string journey;
  double current_target = 0;  // the journey's availability SLO
  std::int64_t window_ms = 0;
  std::uint64_t valid = 0, good = 0;  // runs over the review window
  std::optional<double> achieved;     // percent; nullopt without a valid run
  std::vector<TargetOption> options;  // kStandardTargets order; empty without a valid run
};

inline constexpr double kStandardTargets[] = {99, 99.5, 99.9, 99.95, 99.99};

struct Review {
  std::string db, incidents_file;
  std::int64_t until_ms = 0;
  std::optional<std::int64_t> since_window_ms;  // --since; else each journey's SLO window
  std::vector<IncidentReview> incidents;        // file order
  std::vector<std::size_t> missed;              // indexes into incidents: the coverage gaps
  std::vector<TargetSuggestion> targets;        // journeys with an availability SLO
};

struct ReviewOptions {
  std::string db_path;
  std::vector<journeys::JourneyPtr> journeys;
  std::vector<Incident> incidents;
  std::string incidents_file;
  std::optional<std::int64_t> since_ms;  // review window length; else each SLO window
  std::int64_t until_ms = 0;             // Unix ms; 0: now
};

// Reads the store (read-only). Throws DbError (report.hpp) naming the file.
Review build_review(const ReviewOptions& options);

// The target options for valid runs of which good were good (empty when valid == 0).
std::vector<TargetOption> target_options(std::uint64_t valid, std::uint64_t good);

// "achieved 99.93% over 28d; 99.9% would have been met with 30.0% budget left" — the best
// standard target that would have been met, or the lowest one missed.
std::string suggestion_sentence(const TargetSuggestion& s);

void render_review_text(std::ostream& out, const Review& review);
nlohmann::json review_to_json(const Review& review);

}  // namespace prober::report
