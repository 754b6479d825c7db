#include "prober/cli/commands.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <utility>  // before Boost 1.74 asio coroutine headers (they use std::exchange)

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "checks/registry.hpp"
#include "examples/shop/shop.hpp"
#include "journeys/lint.hpp"
#include "journeys/loader.hpp"
#include "prober/cli/args.hpp"
#include "prober/engine/runner.hpp"
#include "prober/sinks/report_files.hpp"

#ifndef PROBER_EXAMPLES_DIR
#define PROBER_EXAMPLES_DIR "examples"
#endif

namespace prober::cli {

namespace {

constexpr const char* kUsage = R"(usage: prober <command> [options]

commands:
  run --once PATHS...    run every journey once (CI mode); exit 0 all good, 1 failures, 2 errors
      --json FILE        write results as JSON (schema in the README)
      --junit FILE       write JUnit XML (one testsuite per journey, one testcase per step)
      --location NAME    the name of this vantage point (default "local")
  check PATHS...         load and lint journeys; list static coverage gaps; exit 2 on errors
  demo                   start the bundled shop, run the example journeys once, print the results
  help                   this text
)";

void print_diagnostics(const std::vector<journeys::Diagnostic>& ds) {
  for (const auto& d : ds) std::cerr << d.str() << '\n';
}

// Loads journeys, printing warnings; on errors prints them all and returns nullopt.
std::optional<journeys::LoadedSet> load(const std::vector<std::string>& paths) {
  journeys::LoadOptions options;
  options.checks = &checks::catalog();
  try {
    journeys::LoadedSet set = journeys::load_paths(paths, options);
    print_diagnostics(set.warnings);
    return set;
  } catch (const journeys::LoadError& e) {
    print_diagnostics(e.diagnostics());
    std::cerr << e.diagnostics().size()
              << (e.diagnostics().size() == 1 ? " error" : " errors") << " in journeys\n";
    return std::nullopt;
  }
}

struct OnceOptions {
  std::string location = "local";
  std::optional<std::string> json_path;
  std::optional<std::string> junit_path;
};

// Runs every journey once, concurrently, and reports. Returns the exit code.
int run_once(const journeys::LoadedSet& set, const OnceOptions& opt) {
  boost::asio::io_context io;
  transport::Client client(io);
  engine::Location location;
  location.name = opt.location;

  std::vector<journeys::JourneyPtr> selected;
  for (const auto& j : set.journeys) {
    if (!j->locations.empty() &&
        std::find(j->locations.begin(), j->locations.end(), location.name) == j->locations.end()) {
      std::cerr << "note: journey '" << j->name << "' does not run from location '"
                << location.name << "'\n";
      continue;
    }
    selected.push_back(j);
  }
  std::vector<record::RunResult> results(selected.size());
  for (std::size_t i = 0; i < selected.size(); ++i) {
    boost::asio::co_spawn(io, engine::run_journey(client, selected[i], location, engine::new_run_id()),
                          [&results, i](std::exception_ptr e, record::RunResult r) {
                            if (e) std::rethrow_exception(e);  // a bug: let it surface
                            results[i] = std::move(r);
                          });
  }
  io.run();

  sinks::print_table(std::cout, results, ::isatty(STDOUT_FILENO) == 1);
  std::cout.flush();
  try {
    if (opt.json_path) sinks::write_file_atomic(*opt.json_path, sinks::runs_to_json(results).dump(2) + "\n");
    if (opt.junit_path) sinks::write_file_atomic(*opt.junit_path, sinks::runs_to_junit(results));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return kExitUsage;
  }
  for (const auto& r : results)
    if (r.result != record::Result::good) return kExitFailed;
  return kExitOk;
}

}  // namespace

int cmd_run(const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"json", "junit", "location"}, {"once"});
  if (!a.has("once"))
    throw UsageError("daemon mode is not available yet: use 'prober run --once PATHS...'");
  if (a.positional.empty()) throw UsageError("run: give at least one journey file or folder");
  auto set = load(a.positional);
  if (!set) return kExitUsage;
  OnceOptions opt;
  if (auto l = a.get("location")) opt.location = *l;
  opt.json_path = a.get("json");
  opt.junit_path = a.get("junit");
  return run_once(*set, opt);
}

int cmd_check(const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {}, {});
  if (a.positional.empty()) throw UsageError("check: give at least one journey file or folder");
  auto set = load(a.positional);
  if (!set) return kExitUsage;
  std::size_t steps = 0, gaps = 0;
  for (const auto& j : set->journeys) {
    steps += j->steps.size();
    for (const auto& g : journeys::static_gaps(*j)) {
      std::cout << g.pos.file << ':' << g.pos.line << ':' << g.pos.column << ": gap ("
                << journeys::to_string(g.kind) << "): journey '" << g.journey << "': " << g.message
                << '\n';
      ++gaps;
    }
  }
  std::cout << set->journeys.size() << " journeys, " << steps << " steps OK; " << gaps
            << " coverage gaps\n";
  return kExitOk;
}

int cmd_demo(const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"journeys", "json", "junit"}, {});
  const std::string dir = a.get("journeys").value_or(std::string(PROBER_EXAMPLES_DIR) + "/journeys");
  shop::Options so;
  shop::Server server(so);
  const unsigned short port = server.start();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  ::setenv("SHOP_URL", url.c_str(), 1);
  std::cout << "demo: shop listening on " << url << "\n"
            << "demo: running the journeys in " << dir << " once, from location 'local'\n\n";
  auto set = load({dir});
  if (!set) return kExitUsage;
  OnceOptions opt;
  opt.json_path = a.get("json");
  opt.junit_path = a.get("junit");
  const int rc = run_once(*set, opt);
  server.stop();
  std::cout << "demo: shop stopped after " << server.requests() << " requests\n";
  return rc;
}

int dispatch(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 1 ? 2 : 1), argv + argc);
  const std::string cmd = argc > 1 ? argv[1] : "help";
  try {
    if (cmd == "run") return cmd_run(args);
    if (cmd == "check") return cmd_check(args);
    if (cmd == "demo") return cmd_demo(args);
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::cout << kUsage;
      return kExitOk;
    }
    throw UsageError("unknown command '" + cmd + "'");
  } catch (const UsageError& e) {
    std::cerr << "prober: " << e.what() << "\n\n" << kUsage;
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "prober: error: " << e.what() << '\n';
    return kExitUsage;
  }
}

}  // namespace prober::cli
