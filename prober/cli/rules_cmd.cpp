// `prober rules PATHS… [--out FILE] [--quorum K] [--config FILE]`: Prometheus recording and
// multiwindow, multi-burn-rate alert rules from the journeys' SLOs (see prober/report/rules.hpp).

#include <limits>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "checks/registry.hpp"
#include "journeys/loader.hpp"
#include "prober/cli/args.hpp"
#include "prober/cli/commands.hpp"
#include "prober/engine/config.hpp"
#include "prober/report/rules.hpp"
#include "prober/sinks/report_files.hpp"

namespace prober::cli {

namespace {

void print_all(const std::vector<journeys::Diagnostic>& ds) {
  for (const auto& d : ds)
    std::cerr << d.str() << '\n';
}

int parse_quorum(const std::string& text) {
  const std::optional<long long> k = whole_number(text);
  if (!k || *k < 1 || *k > std::numeric_limits<int>::max())
    throw UsageError("--quorum: expected a whole number of locations, at least 1, not '" + text +
                     "'");
  return static_cast<int>(*k);
}

}  // namespace

int cmd_rules(const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"out", "quorum", "config"}, {});
  if (a.positional.empty()) throw UsageError("rules: give at least one journey file or folder");
  report::RulesOptions options;
  if (auto q = a.get("quorum")) options.quorum = parse_quorum(*q);

  try {
    if (auto file = a.get("config"))
      options.config_locations = engine::load_config(*file).locations.size();
    journeys::LoadOptions load;
    load.checks = &checks::catalog();
    const journeys::LoadedSet set = journeys::load_paths(a.positional, load);
    print_all(set.warnings);
    const std::vector<report::RuleGroup> groups = report::rules_for(set.journeys, options);
    for (const auto& g : groups)
      for (const auto& c : g.comments)
        std::cerr << "note: " << c << '\n';
    const std::string yaml = report::render_rules_yaml(groups, options);
    if (auto out = a.get("out"))
      sinks::write_file_atomic(*out, yaml);
    else
      std::cout << yaml << std::flush;
  } catch (const journeys::LoadError& e) {
    print_all(e.diagnostics());
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace prober::cli
