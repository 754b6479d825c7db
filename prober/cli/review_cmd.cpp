// `prober review`: the SLO review — which remembered incidents the SLIs saw (and which they
// missed: coverage gaps), and which availability target past performance would have met.

#include <chrono>
#include <iostream>
#include <optional>

#include "checks/registry.hpp"
#include "journeys/duration.hpp"
#include "journeys/loader.hpp"
#include "prober/cli/args.hpp"
#include "prober/cli/window_args.hpp"
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
  report::ReviewOptions options;
  const WindowArgs window = window_args(a);
  options.db_path = window.db_path;
  options.since_ms = window.since_ms;
  options.until_ms = window.until_ms;
  options.incidents_file = *incidents_file;

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
