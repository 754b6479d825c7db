#include "prober/cli/daemon.hpp"

#include <algorithm>
#include <csignal>
#include <deque>
#include <iostream>
#include <utility>  // before asio's coroutine headers (Boost 1.74 uses std::exchange)

#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "checks/registry.hpp"
#include "journeys/duration.hpp"
#include "journeys/loader.hpp"
#include "prober/engine/config.hpp"
#include "prober/engine/live_view.hpp"
#include "prober/engine/log.hpp"
#include "prober/engine/scheduler.hpp"
#include "prober/engine/workers.hpp"
#include "prober/record/recorder.hpp"
#include "prober/sinks/prometheus.hpp"
#include "prober/sinks/push_sink.hpp"
#include "prober/sinks/report_files.hpp"
#include "prober/sinks/sqlite_store.hpp"

namespace prober::cli {

namespace {

using engine::Logger;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Everything a (re)load produces; swapped in whole or not at all.
struct Plan {
  engine::Config config;
  std::vector<engine::Location> locations;
  std::vector<journeys::JourneyPtr> journeys;
  std::vector<journeys::Diagnostic> warnings;
};

// Throws journeys::LoadError or std::runtime_error with everything wrong.
Plan load_plan(const DaemonOptions& o) {
  Plan plan;
  if (o.config) plan.config = engine::load_config(*o.config);
  if (o.locations_toml) {
    engine::Config extra = engine::load_config_string(*o.locations_toml, "<demo locations>");
    plan.config.locations = extra.locations;
    plan.config.location_labels = extra.location_labels;
  }
  if (o.data_dir) plan.config.data_dir = *o.data_dir;
  if (o.lag_tolerance) plan.config.scheduler.lag_tolerance = *o.lag_tolerance;
  plan.locations = engine::select_locations(plan.config, o.location);
  journeys::LoadOptions lo;
  lo.checks = &checks::catalog();
  journeys::LoadedSet set = journeys::load_paths(o.paths, lo);
  plan.journeys = std::move(set.journeys);
  plan.warnings = std::move(set.warnings);
  return plan;
}

std::string load_error_text(const std::exception& e) {
  if (auto* le = dynamic_cast<const journeys::LoadError*>(&e)) {
    std::string all;
    for (const auto& d : le->diagnostics()) all += (all.empty() ? "" : "; ") + d.str();
    return all;
  }
  return e.what();
}

// The recorder's latency buckets: the defaults plus every latency SLO threshold, so that a
// latency SLI ("share of answers within 300 ms") is an exact bucket ratio in any store, not an
// interpolation (prober rules relies on it).
std::vector<double> buckets_for(const std::vector<journeys::JourneyPtr>& js) {
  std::vector<double> b = record::default_buckets();
  for (const auto& j : js)
    if (j->slo)
      for (const auto& l : j->slo->latency) b.push_back(l.threshold_ms / 1000.0);
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return b;
}

// A run that started inside a maintenance window: marked with its title; under the default
// policy its good and bad events become invalid (reason maintenance), so they stay out of the
// SLI but keep what happened in their messages.
record::RunResult in_maintenance(record::RunResult run, const engine::MaintenanceWindow& w) {
  run.maintenance = w.title;
  if (w.counts || run.result == record::Result::invalid) return run;
  auto mark = [&](record::Result& result, record::Reason& reason, std::string& message) {
    if (result != record::Result::good && result != record::Result::bad) return;
    std::string was = std::string(record::to_string(result));
    if (reason != record::Reason::none) was += " (" + std::string(record::to_string(reason)) + ")";
    message = "in maintenance '" + w.title + "': was " + was + (message.empty() ? "" : ": " + message);
    result = record::Result::invalid;
    reason = record::Reason::maintenance;
  };
  std::string ignored;
  mark(run.result, run.reason, ignored);
  for (auto& step : run.steps) mark(step.result, step.reason, step.message);
  return run;
}

// Runs per second over a sliding window of one-second samples.
class RateMeter {
 public:
  double update(std::uint64_t total) {
    samples_.push_back({steady_clock::now(), total});
    while (samples_.size() > 6) samples_.pop_front();
    if (samples_.size() < 2) return 0;
    const double secs = std::chrono::duration<double>(samples_.back().first - samples_.front().first).count();
    return secs > 0 ? static_cast<double>(samples_.back().second - samples_.front().second) / secs : 0;
  }

 private:
  std::deque<std::pair<steady_clock::time_point, std::uint64_t>> samples_;
};

}  // namespace

int run_daemon(const DaemonOptions& o) {
  Plan plan;
  try {
    plan = load_plan(o);
  } catch (const journeys::LoadError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.str() << '\n';
    std::cerr << e.diagnostics().size() << (e.diagnostics().size() == 1 ? " error" : " errors")
              << " in journeys or config\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "prober: " << e.what() << '\n';
    return 2;
  }
  for (const auto& w : plan.warnings) std::cerr << w.str() << '\n';

  Logger log(std::cerr,
             o.log_format.value_or(plan.config.log_format) == "json" ? Logger::Format::json
                                                                    : Logger::Format::text);
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  const bool live = o.live && tty;

  // The embedded store, on unless the config turns it off. Opened before anything runs: a data
  // folder that cannot be written is a start-up error, not runs silently lost.
  std::unique_ptr<sinks::SqliteStore> store;
  // Sinks are set up once: a SIGHUP reloads journeys, locations and maintenance windows, and
  // keeps these and the [scheduler] settings but grace (a restart changes them).
  const sinks::SinksConfig sinks_config = plan.config.sinks;
  if (sinks_config.sqlite.enabled) {
    try {
      sinks::SqliteStoreOptions so;
      so.retention = sinks_config.sqlite.retention;
      store = std::make_unique<sinks::SqliteStore>(
          sinks::sqlite_path(sinks_config, plan.config.data_dir), so);
    } catch (const std::exception& e) {
      std::cerr << "prober: " << e.what() << '\n';
      return 2;
    }
  }

  boost::asio::io_context io;
  transport::Client client(io);
  const std::vector<double> buckets = buckets_for(plan.journeys);
  record::Recorder recorder(buckets);
  std::vector<record::RunResult> kept;  // for --json/--junit (bounded runs only)
  const bool keep = o.json_path || o.junit_path;

  engine::Scheduler::Hooks hooks;
  hooks.on_result = [&](const record::RunResult& original) {
    const record::RunResult* chosen = &original;
    record::RunResult marked;
    for (const auto& w : plan.config.maintenance) {
      if (w.covers(original.journey, original.location, original.started_at)) {
        marked = in_maintenance(original, w);
        chosen = &marked;
        break;
      }
    }
    const record::RunResult& run = *chosen;
    recorder.add(run);
    if (store) store->submit(run);
    if (keep) kept.push_back(run);
    if (!live && run.result != record::Result::good && run.reason != record::Reason::maintenance) {
      const record::StepResult* failed = nullptr;
      for (const auto& s : run.steps)
        if (s.name == run.failed_step) failed = &s;
      log.warn("run failed", {{"journey", run.journey},
                              {"location", run.location},
                              {"result", std::string(record::to_string(run.result))},
                              {"step", run.failed_step},
                              {"reason", std::string(record::to_string(run.reason))},
                              {"message", failed ? failed->message : std::string()}});
    }
  };
  hooks.on_missed_slot = [&](const std::string& j, const std::string& l) {
    recorder.add_missed_slot(j, l);
  };
  engine::Scheduler scheduler(io, client, plan.config.scheduler, hooks);
  const std::size_t threads = o.threads.value_or(plan.config.scheduler.threads);
  std::unique_ptr<engine::Workers> workers;  // stopped before the scheduler goes
  if (threads > 1) {
    workers = std::make_unique<engine::Workers>(threads, plan.config.scheduler.stall_threshold);
    scheduler.set_workers(workers.get());
  }
  scheduler.set_plan(plan.journeys, plan.locations, o.interval_override);
  log.info("started", {{"journeys", static_cast<long long>(plan.journeys.size())},
                       {"locations", static_cast<long long>(plan.locations.size())},
                       {"pairs", static_cast<long long>(scheduler.pairs())},
                       {"threads", static_cast<long long>(threads)}});
  for (const auto& loc : plan.locations) log.info("location", {{"name", loc.name}});
  if (store) log.info("store", {{"path", store->path()}});

  std::unique_ptr<sinks::PushSinks> push;
  if (!sinks_config.push.empty()) {
    try {
      push = std::make_unique<sinks::PushSinks>(io, sinks_config.push, recorder,
                                                &scheduler.stats(), log);
    } catch (const std::exception& e) {
      std::cerr << "prober: " << e.what() << '\n';
      return 2;
    }
    for (const auto& p : sinks_config.push)
      log.info("push sink", {{"name", p.name}, {"url", sinks::redact_url(p.url)}});
  }

  std::unique_ptr<sinks::MetricsServer> metrics;
  if (!sinks_config.prometheus.listen.empty()) {
    try {
      metrics = std::make_unique<sinks::MetricsServer>(
          io, sinks_config.prometheus.listen, [&](bool openmetrics) {
            const std::vector<sinks::PushSinkStats> push_stats =
                push ? push->stats() : std::vector<sinks::PushSinkStats>{};
            return sinks::render_metrics(
                sinks::collect_samples(recorder, &scheduler.stats(), push_stats), openmetrics);
          });
    } catch (const std::exception& e) {
      std::cerr << "prober: " << e.what() << '\n';
      return 2;
    }
    const std::string& listen = sinks_config.prometheus.listen;
    if (listen.rfind("127.", 0) != 0 && listen.rfind("[::1]:", 0) != 0)
      log.warn("the metrics endpoint is reachable from other hosts", {{"listen", listen}});
    log.info("metrics endpoint", {{"listen", sinks_config.prometheus.listen},
                                  {"port", static_cast<long long>(metrics->port())}});
  }

  // Stop: on a signal or at the end of --duration. Runs in flight get the grace period.
  bool stopping = false;
  boost::asio::steady_timer duration_timer(io);
  boost::asio::steady_timer live_timer(io);
  auto stop = [&](const std::string& why) {
    if (stopping) return;
    stopping = true;
    log.info("stopping", {{"why", why},
                          {"in_flight", static_cast<long long>(scheduler.in_flight())},
                          {"grace_ms", static_cast<long long>(plan.config.scheduler.grace.count())}});
    duration_timer.cancel();
    scheduler.stop(plan.config.scheduler.grace, [&] {
      live_timer.cancel();
      if (metrics) metrics->stop();
      io.stop();
    });
  };

  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        try {
          Plan next = load_plan(o);
          for (const auto& w : next.warnings) log.warn("journey warning", {{"detail", w.str()}});
          scheduler.set_plan(next.journeys, next.locations, o.interval_override);
          for (double b : buckets_for(next.journeys))
            if (!std::binary_search(buckets.begin(), buckets.end(), b))
              log.warn("a new latency SLO threshold is not a histogram bucket until restart",
                       {{"threshold_ms", b * 1000}});
          plan = std::move(next);
          log.info("reloaded", {{"journeys", static_cast<long long>(plan.journeys.size())},
                                {"pairs", static_cast<long long>(scheduler.pairs())}});
        } catch (const std::exception& e) {
          log.error("reload rejected; the previous journeys and config keep running",
                    {{"error", load_error_text(e)}});
        }
      } else {
        stop(sig == SIGINT ? "SIGINT" : "SIGTERM");
      }
      if (!stopping) wait_signal();
    });
  };
  wait_signal();

  if (o.duration) {
    duration_timer.expires_after(*o.duration);
    duration_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) stop("duration " + journeys::format_duration(*o.duration) + " reached");
    });
  }

  const auto started = steady_clock::now();
  RateMeter rate;
  std::function<void()> redraw = [&] {
    engine::LiveStatus st;
    st.uptime = std::chrono::duration_cast<std::chrono::seconds>(steady_clock::now() - started);
    st.runs_per_second = rate.update(recorder.runs());
    st.in_flight = scheduler.in_flight();
    st.scheduled = scheduler.pairs();
    st.schedule_lag_p99_ms = scheduler.stats().schedule_lag.quantile(0.99) * 1000;
    st.loop_stall_max_ms = scheduler.stats().loop_stall_max_ms;
    st.missed_slots = scheduler.stats().missed_slots;
    std::cout << "\033[H\033[2J" << engine::render_live_frame(recorder, st, 120, 30, true)
              << std::flush;
    live_timer.expires_after(milliseconds(1000));
    live_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) redraw();
    });
  };
  if (live) redraw();
  if (push) push->start();
  if (o.on_start) o.on_start(io, o.duration.value_or(std::chrono::nanoseconds{}));

  io.run();
  if (o.on_stop) o.on_stop();

  // The push sinks get the grace period again to drain: a last sample of the final counters
  // goes out, or what cannot be sent is spilled or counted as dropped.
  if (push) push->stop(plan.config.scheduler.grace);
  if (store) {
    store->flush();
    log.info("store flushed", {{"path", store->path()},
                               {"written", static_cast<long long>(store->written())},
                               {"dropped", static_cast<long long>(store->dropped())},
                               {"failed", static_cast<long long>(store->failed())}});
  }
  const auto& st = scheduler.stats();
  log.info("stopped", {{"runs", static_cast<long long>(recorder.runs())},
                       {"good", static_cast<long long>(recorder.runs_good())},
                       {"bad", static_cast<long long>(recorder.runs_bad())},
                       {"invalid", static_cast<long long>(recorder.runs_invalid())},
                       {"missed_slots", static_cast<long long>(st.missed_slots)},
                       {"late_starts", static_cast<long long>(st.late_starts)},
                       {"schedule_lag_p99_ms", st.schedule_lag.quantile(0.99) * 1000},
                       {"loop_stall_max_ms", st.loop_stall_max_ms}});
  if (live) std::cout << "\033[H\033[2J";
  record::print_summary(std::cout, recorder, tty);
  std::cout.flush();
  try {
    if (o.json_path) sinks::write_file_atomic(*o.json_path, sinks::runs_to_json_text(kept));
    if (o.junit_path) sinks::write_file_atomic(*o.junit_path, sinks::runs_to_junit(kept));
  } catch (const std::exception& e) {
    log.error("cannot write results", {{"error", std::string(e.what())}});
    return 2;
  }
  return 0;
}

}  // namespace prober::cli
