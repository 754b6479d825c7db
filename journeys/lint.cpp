// Static coverage gaps: found from the journey file alone, before any run. A step that only
// checks its status code passes on a friendly error page; a step without a latency bound
// passes while customers wait; a journey without an SLO has no error budget to spend.

#include "journeys/lint.hpp"

#include <algorithm>

namespace journeys {
namespace {

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

bool only_status(const Step& step) {
  return !step.checks.empty() &&
         std::all_of(step.checks.begin(), step.checks.end(),
                     [](const CheckPtr& c) { return c->reason() == "status"; });
}

Gap step_gap(Gap::Kind kind, const Journey& j, const Step& s, std::string what) {
  return Gap{kind, j.name, s.name, s.pos, "step " + in_quotes(s.name) + " " + what};
}

}  // namespace

std::string_view to_string(Gap::Kind kind) {
  switch (kind) {
    case Gap::Kind::status_only:
      return "status_only";
    case Gap::Kind::no_latency:
      return "no_latency";
    case Gap::Kind::no_checks:
      return "no_checks";
    case Gap::Kind::no_slo:
      return "no_slo";
  }
  return "unknown";
}

// Per step: no_checks or status_only (exclusive), then no_latency; then the journey's no_slo.
// The kinds are independent facts, so a step without checks also lacks a latency bound.
std::vector<Gap> static_gaps(const Journey& journey) {
  std::vector<Gap> gaps;
  for (const Step& s : journey.steps) {
    if (s.checks.empty())
      gaps.push_back(step_gap(Gap::Kind::no_checks, journey, s, "has no checks"));
    else if (only_status(s))
      gaps.push_back(
          step_gap(Gap::Kind::status_only, journey, s, "is checked only by its status code"));
    if (!s.latency_threshold_ms)
      gaps.push_back(step_gap(Gap::Kind::no_latency, journey, s, "has no latency threshold"));
  }
  if (!journey.slo)
    gaps.push_back(Gap{Gap::Kind::no_slo, journey.name, "", journey.pos,
                       "journey " + in_quotes(journey.name) + " has no SLO"});
  return gaps;
}

}  // namespace journeys
