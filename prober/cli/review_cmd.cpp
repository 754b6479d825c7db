// `prober review`: the SLO review — which remembered incidents the SLIs saw (and which they
// missed: coverage gaps), and which availability target past performance would have met.

#include <chrono>
#include <iostream>
#include <optional>

#include "checks/registry.hpp"
#include "journeys/duration.hpp"
#include "journeys/loader.hpp"
#include "prober/cli/args.hpp"
#include "prober/cli/commands.hpp"
#include "prober/report/report.hpp"
#include "prober/report/review.hpp"

namespace prober::cli {

int cmd_review(const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"incidents", "format", "since", "until", "db", "data-dir"}, {});
  if (a.positional.empty()) throw UsageError("review: give the journey files or folders to review");
  const auto incidents_file = a.get("incidents");
  if (!incidents_file)
    throw UsageError(
        "review: give --incidents FILE (a TOML file of [[incident]] title, start, end)");
  const std::string format = a.get("format").value_or("text");
  if (format != "text" && format != "json")
    throw UsageError("--format must be text or json, not '" + format + "'");
  if (a.get("db") && a.get("data-dir"))
    throw UsageError("give --db FILE or --data-dir DIR, not both");

  report::ReviewOptions options;
  options.db_path = a.get("db").value_or(a.get("data-dir").value_or("prober-data") + "/prober.db");
  options.incidents_file = *incidents_file;
  if (auto since = a.get("since")) {
    std::string err;
    auto d = journeys::parse_duration(*since, &err);
    if (!d || d->count() <= 0)
      throw UsageError("--since: " + (d ? std::string("must be greater than 0") : err));
    options.since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
    if (options.since_ms == 0) throw UsageError("--since: must be at least 1ms");
  }
  if (auto until = a.get("until")) {
    auto ms = report::parse_rfc3339_utc(*until);
    if (!ms || *ms <= 0)
      throw UsageError("--until must be a UTC time like 2027-01-15T08:00:00Z, not '" + *until +
                       "'");
    options.until_ms = *ms;
  }

  journeys::LoadOptions load_options;
  load_options.checks = &checks::catalog();
  try {
    options.incidents = report::load_incidents_file(*incidents_file);
    journeys::LoadedSet set = journeys::load_paths(a.positional, load_options);
    for (const auto& w : set.warnings)
      std::cerr << w.str() << '\n';
    options.journeys = std::move(set.journeys);
  } catch (const journeys::LoadError& e) {
    for (const auto& d : e.diagnostics())
      std::cerr << d.str() << '\n';
    return kExitUsage;
  }

  report::Review r;
  try {
    r = report::build_review(options);
  } catch (const report::DbError& e) {
    std::cerr << "prober: review: " << e.what() << '\n';
    return kExitUsage;
  }
  if (format == "json")
    std::cout << report::review_to_json(r).dump(2, ' ', false,
                                                nlohmann::json::error_handler_t::replace)
              << '\n';
  else
    report::render_review_text(std::cout, r);
  std::cout << std::flush;
  return kExitOk;
}

}  // namespace prober::cli
