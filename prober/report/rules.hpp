#pragma once
// Prometheus rules from the journeys' SLOs: recording rules for each SLI's error ratio over
// every window an alert uses, and multiwindow, multi-burn-rate alerts after the Google SRE
// workbook ("Alerting on SLOs", alert 6). For a 30-day SLO:
//
//   severity  burn rate  long window  short window  budget spent when it fires
//   page      14.4x      1h           5m            2 %
//   page      6x         6h           30m           5 %
//   ticket    3x         1d           2h            10 %
//   ticket    1x         3d           6h            10 %
//
// Other SLO windows scale every window by window / 30d (a 28d SLO pages on 56m and 4m40s) and
// keep the burn rates, so each alert still fires after the same share of the budget is gone.
//
// The SLIs come from the metrics of the scrape endpoint (prober/sinks/prometheus.cpp):
//   availability   prober_journey_runs_total{result="good"} / runs with result good or bad
//                  (invalid runs are not valid events)
//   step latency   prober_step_latency_seconds_bucket{le=THRESHOLD} / _count: the share of the
//                  step's answers within the threshold, which must be a bucket bound
//   run latency    (a latency SLO without `step`) prober_journey_duration_seconds_bucket
//                  {le=THRESHOLD} / (its _count + prober_step_bad_total{reason="timeout"}):
//                  good runs within the threshold over good and timed-out runs, as in
//                  `prober report`. The histogram holds good runs only; any threshold is a
//                  bucket bound, since the daemon adds every latency SLO threshold.
//
// Pure functions of the journeys: no I/O, callable from any thread.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "journeys/duration.hpp"
#include "journeys/model.hpp"

namespace prober::report {

struct RulesOptions {
  // Alert only when at least `quorum` locations burn, each judged on its own error ratio
  // (one region's network trouble is not the service's outage). 0: no quorum; the SLI is
  // the ratio over all locations together.
  int quorum = 0;
  // How many locations a journey runs from when it does not list its own `locations`: the
  // config's in-process [locations]. 0: unknown (a fleet, one location per process). A quorum
  // larger than a journey's known location count could never be met; it is lowered to that
  // count, with a note.
  std::size_t config_locations = 0;
};

// One line of the workbook's table, for a 30-day SLO.
struct BurnAlert {
  const char* severity;  // "page" or "ticket"
  double burn_rate;
  journeys::Duration long_window;
  journeys::Duration short_window;
};
// The four lines of the table above, in that order.
const std::vector<BurnAlert>& workbook_burn_alerts();

// A workbook window (for 30 days) scaled to an SLO window: base * slo_window / 30d, rounded
// to the nearest second, and at least one minute (a rate() needs two scrapes in its range).
journeys::Duration scale_window(journeys::Duration base, journeys::Duration slo_window);

// A duration as Prometheus writes one: "4m40s", "56m", "2d19h12m"; whole seconds ("0s" for 0).
std::string prom_duration(journeys::Duration d);

// The `slo` label of an SLO: "availability", or "latency:STEP:THRESHOLDms" ("latency::2500ms"
// for a journey-level latency SLO, which has no step).
std::string slo_label(const journeys::LatencySlo& slo);

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Rule {
  std::string record;  // a recording rule's name, or
  std::string alert;   // an alerting rule's name
  std::string expr;    // PromQL, possibly several lines
  Pairs labels;        // sorted by name
  Pairs annotations;   // sorted by name
};

struct RuleGroup {
  std::string name;                   // "prober/JOURNEY"
  std::vector<std::string> comments;  // written above the group: SLOs without rules and why
  std::vector<Rule> rules;            // recording rules (shortest window first), then alerts
};

// The group of one journey; its rules are empty when it has no SLO a rule can watch (the
// comments then say why). Throws journeys::LoadError (file:line:col, context "slo") for an SLO
// no rule can measure: a step latency threshold that is not a default bucket bound of
// prober_step_latency_seconds, or two latency SLOs on the same step (or both journey-level)
// and threshold.
RuleGroup journey_rules(const journeys::Journey& journey, const RulesOptions& options);

// Every journey's group, sorted by journey name. Collects the errors of all journeys into one
// journeys::LoadError.
std::vector<RuleGroup> rules_for(const std::vector<journeys::JourneyPtr>& journeys,
                                 const RulesOptions& options);

// A Prometheus rule file (YAML) with a header comment; groups with no rules appear only as
// comments. Deterministic: same journeys and options, same bytes.
std::string render_rules_yaml(const std::vector<RuleGroup>& groups, const RulesOptions& options);

// A YAML double-quoted scalar: backslash, double quote and control characters escaped.
std::string yaml_quote(const std::string& s);

}  // namespace prober::report
