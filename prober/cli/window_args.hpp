#pragma once
// The store and the time window that `prober report` and `prober review` share:
// --db FILE | --data-dir DIR (default prober-data/prober.db), --since D, --until TIME (UTC).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "journeys/duration.hpp"
#include "prober/cli/args.hpp"
#include "prober/report/review.hpp"

namespace prober::cli {

struct WindowArgs {
  std::string db_path;
  std::optional<std::int64_t> since_ms;  // window length; nullopt: the SLO window
  std::int64_t until_ms = 0;             // Unix ms; 0: now
};

// Throws UsageError naming the option.
inline WindowArgs window_args(const Args& a) {
  if (a.get("db") && a.get("data-dir"))
    throw UsageError("give --db FILE or --data-dir DIR, not both");
  WindowArgs w;
  w.db_path = a.get("db").value_or(a.get("data-dir").value_or("prober-data") + "/prober.db");
  if (auto since = a.get("since")) {
    std::string err;
    auto d = journeys::parse_duration(*since, &err);
    if (!d || d->count() <= 0)
      throw UsageError("--since: " + (d ? std::string("must be greater than 0") : err));
    w.since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
    if (*w.since_ms == 0) throw UsageError("--since: must be at least 1ms");
  }
  if (auto until = a.get("until")) {
    auto ms = report::parse_rfc3339_utc(*until);
    if (!ms || *ms <= 0)
      throw UsageError("--until must be a UTC time like 2027-01-15T08:00:00Z, not '" + *until +
                       "'");
    w.until_ms = *ms;
  }
  return w;
}

}  // namespace prober::cli
