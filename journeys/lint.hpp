#pragma once
// Static coverage gaps: what a journey claims to observe but does not really check.

#include <string>
#include <vector>

#include "journeys/diag.hpp"
#include "journeys/model.hpp"

namespace journeys {

struct Gap {
  enum class Kind {
    status_only,  // a step validated only by its status code
    no_latency,   // a step without a latency threshold
    no_checks,    // a step with no check at all
    no_slo,       // a journey without an SLO
  };
  Kind kind;
  std::string journey;
  std::string step;  // "" for journey-level gaps
  SourcePos pos;
  std::string message;  // "step 'browse' is checked only by its status code"
};

std::string_view to_string(Gap::Kind kind);
std::vector<Gap> static_gaps(const Journey& journey);

}  // namespace journeys
