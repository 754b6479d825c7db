// `prober report`: SLIs, error budgets, funnels, latency and coverage gaps from the embedded
// store, for the journeys given (their SLOs and steps decide what is reported).

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>
#include <sstream>

#include "checks/registry.hpp"
#include "journeys/catalog.hpp"
#include "journeys/duration.hpp"
#include "journeys/loader.hpp"
#include "prober/cli/args.hpp"
#include "prober/cli/commands.hpp"
#include "prober/report/render.hpp"
#include "prober/report/report.hpp"
#include "prober/sinks/report_files.hpp"

namespace prober::cli {
namespace {

void print_diagnostics(const std::vector<journeys::Diagnostic>& ds) {
  for (const auto& d : ds)
    std::cerr << d.str() << '\n';
}

// "2027-01-15T08:00:00Z" or with milliseconds "…:00.250Z" (UTC only): Unix ms, or nullopt.
std::optional<std::int64_t> parse_utc(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
      n != 19)
    return std::nullopt;
  std::string rest = s.substr(19);
  int ms = 0;
  if (rest.size() == 5 && rest[0] == '.' && std::isdigit(static_cast<unsigned char>(rest[1])) &&
      std::isdigit(static_cast<unsigned char>(rest[2])) &&
      std::isdigit(static_cast<unsigned char>(rest[3]))) {
    ms = std::stoi(rest.substr(1, 3));
    rest = rest.substr(4);
  }
  if (rest != "Z" || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<std::int64_t>(::timegm(&tm)) * 1000 + ms;
}

}  // namespace

int cmd_report(const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"format", "since", "until", "db", "data-dir", "cujs", "out"}, {});
  if (a.positional.empty())
    throw UsageError("report: give the journey files or folders to report on");
  const std::string format = a.get("format").value_or("text");
  if (format != "text" && format != "json" && format != "html")
    throw UsageError("--format must be text, json or html, not '" + format + "'");
  if (a.get("db") && a.get("data-dir"))
    throw UsageError("give --db FILE or --data-dir DIR, not both");

  report::ReportOptions options;
  options.db_path = a.get("db").value_or(a.get("data-dir").value_or("prober-data") + "/prober.db");
  if (auto since = a.get("since")) {
    std::string err;
    auto d = journeys::parse_duration(*since, &err);
    if (!d || d->count() <= 0)
      throw UsageError("--since: " + (d ? std::string("must be greater than 0") : err));
    options.since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
    if (options.since_ms == 0) throw UsageError("--since: must be at least 1ms");
  }

  if (auto until = a.get("until")) {
    auto ms = parse_utc(*until);
    if (!ms || *ms <= 0)
      throw UsageError("--until must be a UTC time like 2027-01-15T08:00:00Z, not '" + *until +
                       "'");
    options.until_ms = *ms;
  }

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
