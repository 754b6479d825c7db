// `prober report`: SLIs, error budgets, funnels, latency and coverage gaps from the embedded
// store, for the journeys given (their SLOs and steps decide what is reported).

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <sstream>

#include "checks/registry.hpp"
#include "journeys/catalog.hpp"
#include "journeys/duration.hpp"
#include "journeys/loader.hpp"
#include "prober/cli/args.hpp"
#include "prober/cli/commands.hpp"
#include "prober/cli/window_args.hpp"
#include "prober/report/render.hpp"
#include "prober/report/report.hpp"
#include "prober/sinks/report_files.hpp"

namespace prober::cli {
namespace {

void print_diagnostics(const std::vector<journeys::Diagnostic>& ds) {
  for (const auto& d : ds)
    std::cerr << d.str() << '\n';
}

}  // namespace

int cmd_report(const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"format", "since", "until", "db", "data-dir", "cujs", "out"}, {});
  if (a.positional.empty())
    throw UsageError("report: give the journey files or folders to report on");
  const std::string format = a.get("format").value_or("text");
  if (format != "text" && format != "json" && format != "html")
    throw UsageError("--format must be text, json or html, not '" + format + "'");
  report::ReportOptions options;
  const WindowArgs window = window_args(a);
  options.db_path = window.db_path;
  options.since_ms = window.since_ms;
  options.until_ms = window.until_ms;

  journeys::LoadOptions load_options;
  load_options.checks = &checks::catalog();
  std::optional<journeys::Catalog> catalog;
  try {
    if (auto file = a.get("cujs")) catalog = journeys::load_catalog_file(*file);
    journeys::LoadedSet set = journeys::load_paths(a.positional, load_options);
    print_diagnostics(set.warnings);
    if (catalog) print_diagnostics(journeys::check_journey_cujs(*catalog, set.journeys));
    options.journeys = std::move(set.journeys);
  } catch (const journeys::LoadError& e) {
    print_diagnostics(e.diagnostics());
    return kExitUsage;
  }
  options.catalog = catalog ? &*catalog : nullptr;

  report::Report r;
  try {
    r = report::build_report(options);
  } catch (const report::DbError& e) {
    std::cerr << "prober: report: " << e.what() << '\n';
    return kExitUsage;
  }

  const auto out_file = a.get("out");
  std::ostringstream text;
  if (format == "json") {
    // Messages are stored as received: invalid UTF-8 becomes U+FFFD rather than an exception.
    text << report::to_json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
         << '\n';
  } else if (format == "html") {
    report::render_html(text, r,
                        std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
  } else {
    report::render_text(text, r, !out_file && ::isatty(STDOUT_FILENO) == 1);
  }
  if (out_file) {
    try {
      sinks::write_file_atomic(*out_file, text.str());
    } catch (const std::exception& e) {
      std::cerr << "prober: report: " << e.what() << '\n';
      return kExitUsage;
    }
  } else {
    std::cout << text.str() << std::flush;
  }
  return kExitOk;
}

}  // namespace prober::cli
