#include "prober/cli/commands.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>
#include <utility>  // before Boost 1.74 asio coroutine headers (they use std::exchange)

#include <unistd.h>

#include <curl/curl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "checks/registry.hpp"
#include "examples/shop/shop.hpp"
#include "journeys/catalog.hpp"
#include "journeys/duration.hpp"
#include "journeys/lint.hpp"
#include "journeys/loader.hpp"
#include "prober/cli/args.hpp"
#include "prober/cli/daemon.hpp"
#include "prober/cli/malloc_tuning.hpp"
#include "prober/engine/config.hpp"
#include "prober/engine/runner.hpp"
#include "prober/report/render.hpp"
#include "prober/report/report.hpp"
#include "prober/sinks/report_files.hpp"
#include "prober/sinks/sqlite_store.hpp"

#ifndef PROBER_EXAMPLES_DIR
#define PROBER_EXAMPLES_DIR "examples"
#endif

namespace prober::cli {

namespace {

constexpr const char* kUsage = R"(usage: prober <command> [options]

commands:
  run PATHS...           run every journey on its interval from every location until SIGTERM
                         or SIGINT (SIGHUP reloads journeys and config); exit 0 after a clean stop
      --once             run every journey once instead (CI mode): exit 0 all good, 1 a run was
                         bad or invalid, 2 usage or journey errors
      --duration D       stop after D (e.g. 5m)
      --config FILE      prober config: locations, scheduler, sinks
      --data-dir DIR     the embedded store's folder (default: the config's data_dir, else
                         ./prober-data); with --once, runs are stored only when it is given
      --location NAME    run only from this location (in a fleet: this process's location)
      --interval D       run every journey every D instead of its own interval
      --json FILE        write every run as JSON (with --once or --duration; schema in README)
      --junit FILE       write JUnit XML (with --once or --duration)
      --log-format F     text (default) or json
      --no-live          no live view even on a terminal
      --threads N|auto   event loops that run the journeys, one thread each (default: the
                         config's [scheduler] threads, else 1; auto: one per CPU)
      --lag-tolerance D  an answer the busy prober read later than D after it arrived makes
                         its step invalid (default: the config's [scheduler] lag_tolerance,
                         else 5ms; e.g. 50ms on a shared CI runner)
  check PATHS...         load and lint journeys; list static coverage gaps; exit 2 on errors
      --cujs FILE        CUJ catalog: also list CUJs with no journey, warn on unknown CUJs
  report PATHS...        SLIs, error budgets, burn rates, funnels, latency percentiles and
                         coverage gaps of these journeys from the embedded store
      --format F         text (default), json (schema in README) or html (one page)
      --since D          window length (default: each journey's SLO window, else 28d)
      --until TIME       end of the window, UTC like 2027-01-15T08:00:00Z (default now)
      --db FILE          the store (default <data-dir>/prober.db)
      --data-dir DIR     the daemon's data folder (default prober-data)
      --cujs FILE        CUJ catalog: order by business impact, list CUJs with no journey
      --out FILE         write there instead of stdout
  rules PATHS...         Prometheus recording rules and multiwindow, multi-burn-rate alerts
                         (SRE workbook) from the journeys' SLOs, as a rule file (YAML)
      --out FILE         write there instead of stdout
      --quorum K         alert only when at least K locations burn, each on its own ratio
      --config FILE      prober config: a quorum above its [locations] count is lowered
  review PATHS...        SLO review: for each incident, the bad events, burn rate and budget
                         burned per journey and step (missed incidents are coverage gaps); the
                         achieved SLI and the standard targets it would have met
      --incidents FILE   TOML [[incident]] title, start, end (RFC 3339 UTC); required
      --format F         text (default) or json
      --since D          review window (default: each journey's SLO window, else 28d)
      --until TIME       end of the review window, UTC (default now)
      --db FILE          the store (default <data-dir>/prober.db)
      --data-dir DIR     the daemon's data folder (default prober-data)
  demo                   the bundled shop probed from three locations for a minute, with faults
      --once             run the example journeys once instead
      --duration D       how long (default 60s)
      --data-dir DIR     where the store goes (default a new folder under the temp folder);
                         the demo ends with the SLO report read from it
  version                prober's version, libcurl's and the library that serves malloc
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
  std::vector<engine::Location> locations{engine::Location{}};
  std::optional<std::string> store_path;  // --once stores runs only when asked (--data-dir)
  std::optional<std::string> json_path;
  std::optional<std::string> junit_path;
  std::chrono::milliseconds lag_tolerance = engine::SchedulerOptions{}.lag_tolerance;
  std::size_t threads = 1;  // event loops; run k goes to loop k % threads
};

// Runs every journey once, concurrently, and reports. Returns the exit code.
int run_once(const journeys::LoadedSet& set, const OnceOptions& opt) {
  std::vector<std::pair<journeys::JourneyPtr, const engine::Location*>> selected;
  for (const auto& location : opt.locations) {
    for (const auto& j : set.journeys) {
      if (!j->locations.empty() &&
          std::find(j->locations.begin(), j->locations.end(), location.name) == j->locations.end()) {
        std::cerr << "note: journey '" << j->name << "' does not run from location '"
                  << location.name << "'\n";
        continue;
      }
      selected.emplace_back(j, &location);
    }
  }
  std::vector<record::RunResult> results(selected.size());
  // Each event loop on its thread with its own client: loop k runs runs k, k + n, k + 2n, ...
  // Its client's kept connections hold file descriptors: it is gone before the outputs are
  // written (a prober at its descriptor limit could not write them, and lose the results).
  const std::size_t loops = std::clamp<std::size_t>(opt.threads, 1, std::max<std::size_t>(selected.size(), 1));
  std::vector<std::exception_ptr> errors(loops);
  auto run_share = [&](std::size_t k) {
    try {
      boost::asio::io_context io;
      transport::Client client(io, loops);
      for (std::size_t i = k; i < selected.size(); i += loops) {
        auto control = std::make_shared<engine::RunControl>();
        control->lag_tolerance = opt.lag_tolerance;
        boost::asio::co_spawn(io, engine::run_journey(client, selected[i].first, *selected[i].second,
                                                      engine::new_run_id(), control),
                              [&results, &errors, i, k](std::exception_ptr e, record::RunResult r) {
                                if (e && !errors[k]) errors[k] = e;  // a bug: surfaced below
                                results[i] = std::move(r);
                              });
      }
      io.run();
    } catch (...) {  // on a thread of its own: surfaced below, as with one loop
      if (!errors[k]) errors[k] = std::current_exception();
    }
  };
  if (loops == 1) {
    run_share(0);
  } else {
    std::vector<std::thread> threads;
    threads.reserve(loops);
    try {
      for (std::size_t k = 0; k < loops; ++k) threads.emplace_back(run_share, k);
    } catch (...) {  // no thread for the next share: finish those started, then fail
      for (auto& t : threads) t.join();
      throw;
    }
    for (auto& t : threads) t.join();
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);

  sinks::print_table(std::cout, results, ::isatty(STDOUT_FILENO) == 1);
  std::cout.flush();
  try {
    if (opt.store_path) {
      sinks::SqliteStore store(*opt.store_path);
      for (const auto& r : results) store.submit(r);
      store.flush();
      if (store.written() != results.size())
        throw std::runtime_error("stored " + std::to_string(store.written()) + " of " +
                                 std::to_string(results.size()) + " runs in " + store.path());
    }
    if (opt.json_path) sinks::write_file_atomic(*opt.json_path, sinks::runs_to_json_text(results));
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

// --threads N|auto: the event loops that run journeys ([scheduler] threads).
std::size_t threads_arg(const Args& a) {
  const std::string v = *a.get("threads");
  if (v == "auto") return engine::auto_threads();
  const std::optional<long long> n = whole_number(v);
  if (!n || *n < 1 || *n > engine::kMaxThreads)
    throw UsageError("--threads must be auto or 1 to " + std::to_string(engine::kMaxThreads) +
                     ", not '" + v + "'");
  return static_cast<std::size_t>(*n);
}

std::chrono::nanoseconds duration_arg(const Args& a, const std::string& name) {
  std::string err;
  auto d = journeys::parse_duration(*a.get(name), &err);
  if (!d || d->count() <= 0) throw UsageError("--" + name + ": " + (d ? "must be greater than 0" : err));
  return *d;
}

// --lag-tolerance D ([scheduler] lag_tolerance): at least 1ms, in milliseconds as the config's.
std::chrono::milliseconds lag_tolerance_arg(const Args& a) {
  const auto d = duration_arg(a, "lag-tolerance");
  if (d < std::chrono::milliseconds{1})
    throw UsageError("--lag-tolerance must be at least 1ms, not '" + *a.get("lag-tolerance") + "'");
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

int cmd_run(const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"json", "junit", "location", "config", "duration", "interval", "log-format",
                             "data-dir", "threads", "lag-tolerance"},
                      {"once", "no-live"});
  if (a.positional.empty()) throw UsageError("run: give at least one journey file or folder");
  if (auto f = a.get("log-format"); f && *f != "text" && *f != "json")
    throw UsageError("--log-format must be text or json, not '" + *f + "'");
  if (a.has("once")) {
    if (a.get("duration") || a.get("interval"))
      throw UsageError("--once runs each journey once: --duration and --interval do not apply");
    OnceOptions opt;
    try {
      engine::Config cfg = a.get("config") ? engine::load_config(*a.get("config")) : engine::Config{};
      opt.locations = engine::select_locations(cfg, a.get("location").value_or(""));
      opt.lag_tolerance = cfg.scheduler.lag_tolerance;
      opt.threads = cfg.scheduler.threads;
      if (a.get("data-dir") && cfg.sinks.sqlite.enabled)
        opt.store_path = sinks::sqlite_path(cfg.sinks, *a.get("data-dir"));
    } catch (const journeys::LoadError& e) {
      print_diagnostics(e.diagnostics());
      return kExitUsage;
    }
    if (a.get("threads")) opt.threads = threads_arg(a);
    if (a.get("lag-tolerance")) opt.lag_tolerance = lag_tolerance_arg(a);
    auto set = load(a.positional);
    if (!set) return kExitUsage;
    opt.json_path = a.get("json");
    opt.junit_path = a.get("junit");
    return run_once(*set, opt);
  }
  if ((a.get("json") || a.get("junit")) && !a.get("duration"))
    throw UsageError("--json and --junit need --once or --duration (a daemon's runs are unbounded)");
  DaemonOptions d;
  d.paths = a.positional;
  d.config = a.get("config");
  d.data_dir = a.get("data-dir");
  d.location = a.get("location").value_or("");
  if (a.get("duration")) d.duration = duration_arg(a, "duration");
  if (a.get("interval")) d.interval_override = duration_arg(a, "interval");
  d.json_path = a.get("json");
  d.junit_path = a.get("junit");
  d.log_format = a.get("log-format");
  d.live = !a.has("no-live");
  if (a.get("threads")) d.threads = threads_arg(a);
  if (a.get("lag-tolerance")) d.lag_tolerance = lag_tolerance_arg(a);
  return run_daemon(d);
}

int cmd_check(const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"cujs"}, {});
  if (a.positional.empty()) throw UsageError("check: give at least one journey file or folder");
  std::optional<journeys::Catalog> catalog;
  if (auto file = a.get("cujs")) {
    try {
      catalog = journeys::load_catalog_file(*file);
    } catch (const journeys::LoadError& e) {
      print_diagnostics(e.diagnostics());
      return kExitUsage;
    }
  }
  auto set = load(a.positional);
  if (!set) return kExitUsage;
  std::size_t steps = 0, gaps = 0;
  if (catalog) {
    print_diagnostics(journeys::check_journey_cujs(*catalog, set->journeys));
    for (const journeys::Cuj* c : journeys::uncovered_cujs(*catalog, set->journeys)) {
      std::cout << c->pos.file << ':' << c->pos.line << ':' << c->pos.column
                << ": gap (cuj_no_journey): CUJ '" << c->name << "' (rank " << c->rank
                << ") has no journey\n";
      ++gaps;
    }
  }
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

// The demo's three vantage points: the host's default route and two more loopback source
// addresses (all of 127.0.0.0/8 reaches the shop on Linux).
constexpr const char* kDemoLocations = R"(
[locations.local]
[locations.edge-a]
source_address = "127.0.0.2"
headers = { X-Probe-Location = "edge-a" }
[locations.edge-b]
source_address = "127.0.0.3"
headers = { X-Probe-Location = "edge-b" }
)";

// The demo's closing SLO report of the example journeys (ordered by examples/cujs.toml), read
// from the store the demo just wrote; the library directly, no subprocess.
static int demo_report(const std::string& journeys_dir, const std::string& data_dir) {
  auto set = load({journeys_dir});
  if (!set) return kExitUsage;
  try {
    const journeys::Catalog catalog =
        journeys::load_catalog_file(std::string(PROBER_EXAMPLES_DIR) + "/cujs.toml");
    report::ReportOptions options;
    options.db_path = data_dir + "/prober.db";
    options.journeys = set->journeys;
    options.catalog = &catalog;
    const report::Report r = report::build_report(options);
    std::cout << "\n";
    report::render_text(std::cout, r, ::isatty(STDOUT_FILENO) == 1);
    std::cout << "demo: the store is " << options.db_path << "; again with: prober report "
              << journeys_dir << " --cujs " << PROBER_EXAMPLES_DIR << "/cujs.toml --data-dir "
              << data_dir << "\n"
              << std::flush;
  } catch (const journeys::LoadError& e) {
    print_diagnostics(e.diagnostics());
    return kExitUsage;
  } catch (const report::DbError& e) {
    std::cerr << "prober: demo: " << e.what() << '\n';
    return kExitUsage;
  }
  return kExitOk;
}

int cmd_demo(const std::vector<std::string>& argv) {
  Args a = parse_args(argv, {"journeys", "json", "junit", "duration", "data-dir"},
                      {"once", "no-live"});
  const std::string dir = a.get("journeys").value_or(std::string(PROBER_EXAMPLES_DIR) + "/journeys");
  // The store the closing report reads: --data-dir, else a fresh folder under the system temp
  // folder (kept, so that `prober report` can be run on it afterwards).
  std::string data_dir;
  if (auto d = a.get("data-dir")) {
    data_dir = *d;
  } else {
    std::string tmpl = (std::filesystem::temp_directory_path() / "prober-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("demo: cannot create a data folder " + tmpl + ": " +
                               std::strerror(errno));
    data_dir = tmpl;
  }
  shop::Options so;
  shop::Server server(so);
  const unsigned short port = server.start();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  ::setenv("SHOP_URL", url.c_str(), 1);
  int rc = kExitOk;
  if (a.has("once")) {
    std::cout << "demo: shop listening on " << url << "\n"
              << "demo: running the journeys in " << dir << " once, from location 'local'\n\n";
    auto set = load({dir});
    if (!set) return kExitUsage;
    OnceOptions opt;
    opt.json_path = a.get("json");
    opt.junit_path = a.get("junit");
    opt.store_path = data_dir + "/prober.db";
    rc = run_once(*set, opt);
  } else {
    DaemonOptions d;
    d.paths = {dir};
    d.duration = a.get("duration") ? duration_arg(a, "duration") : std::chrono::seconds(60);
    d.interval_override = std::chrono::seconds(2);
    d.locations_toml = kDemoLocations;
    d.data_dir = data_dir;
    d.json_path = a.get("json");
    d.junit_path = a.get("junit");
    d.live = !a.has("no-live");
    std::cout << "demo: shop listening on " << url << "; probing " << dir
              << " every 2s from local, edge-a (127.0.0.2) and edge-b (127.0.0.3) for "
              << journeys::format_duration(*d.duration) << "\n"
              << "demo: at 1/3 completePurchase starts failing 25% of the time; at 2/3 the "
                 "catalogue slows to 700 ms\n"
              << std::flush;
    // Faults on a timeline, so the summary shows failures by reason and by step.
    auto timers = std::make_shared<std::vector<std::unique_ptr<boost::asio::steady_timer>>>();
    d.on_start = [&server, timers](boost::asio::io_context& io, std::chrono::nanoseconds total) {
      auto at = [&](std::chrono::nanoseconds when, std::function<void()> f) {
        auto t = std::make_unique<boost::asio::steady_timer>(io, when);
        t->async_wait([f = std::move(f)](const boost::system::error_code& ec) {
          if (!ec) f();
        });
        timers->push_back(std::move(t));
      };
      at(total / 3, [&server] { server.set_fault("completePurchase", {0, 0.25, 503}); });
      at(total * 2 / 3, [&server] { server.set_fault("products", {700, 0, 503}); });
    };
    d.on_stop = [timers] { timers->clear(); };
    rc = run_daemon(d);
  }
  server.stop();
  std::cout << "demo: shop stopped after " << server.requests() << " requests\n";
  if (rc == kExitUsage) return rc;
  const int report_rc = demo_report(dir, data_dir);
  return report_rc != kExitOk ? report_rc : rc;
}

namespace {

// `prober version`: what a bug report needs: our version, curl's with its TLS library and
// features, and which library actually serves malloc in this process.
std::string version_text() {
  return std::string("prober ") + PROBER_VERSION + "\n" + ::curl_version() + "\nmalloc: " +
         malloc_provider() + "\n";
}

}  // namespace

int dispatch(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 1 ? 2 : 1), argv + argc);
  const std::string cmd = argc > 1 ? argv[1] : "help";
  try {
    if (cmd == "run") return cmd_run(args);
    if (cmd == "check") return cmd_check(args);
    if (cmd == "report") return cmd_report(args);
    if (cmd == "rules") return cmd_rules(args);
    if (cmd == "review") return cmd_review(args);
    if (cmd == "demo") return cmd_demo(args);
    if (cmd == "version" || cmd == "--version") {
      if (!args.empty()) throw UsageError("version takes no arguments");
      std::cout << version_text();
      return kExitOk;
    }
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
