// Building the report: a few aggregate-free queries per journey over the embedded store, read
// once in time order, with the arithmetic done here so that every number is exact (percentiles
// come from the stored rows, not from histogram buckets) and the renderers only format.

#include "prober/report/report.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include "journeys/lint.hpp"

namespace prober::report {
namespace {

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

constexpr int kSchemaVersion = 1;

std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

// The store, opened read-only; every failure names the file.
class Store {
 public:
  explicit Store(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec))
      throw DbError("no database at " + path_ +
                    " (a prober run with the embedded store writes <data_dir>/prober.db; give "
                    "--db FILE or --data-dir DIR)");
    if (!std::filesystem::is_regular_file(path_, ec)) throw DbError(path_ + " is not a file");
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) fail("cannot open");
    // The daemon may be writing: wait for its transaction rather than fail.
    sqlite3_busy_timeout(db_.get(), 5000);
    check_schema();
  }

  Stmt prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql, -1, &s, nullptr) != SQLITE_OK)
      throw DbError(path_ +
                    ": not a prober store of schema version 1: " + sqlite3_errmsg(db_.get()));
    return Stmt(s);
  }

  // sqlite3_step that throws on errors; true while there is a row.
  bool step(sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("cannot read");
  }

  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const std::string& what) {
    std::string msg = path_ + ": " + what;
    if (db_) msg += ": " + std::string(sqlite3_errmsg(db_.get()));
    throw DbError(msg);
  }

  void check_schema() {
    // The first read of the file: "file is not a database" shows here.
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(),
                           "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                           "'schema_version'",
                           -1, &raw, nullptr) != SQLITE_OK)
      fail("not a prober store");
    Stmt has(raw);
    if (!step(has.get()) || sqlite3_column_int(has.get(), 0) == 0)
      throw DbError(path_ + ": not a prober store (no schema_version table)");
    Stmt get = prepare("SELECT version FROM schema_version");
    if (!step(get.get())) throw DbError(path_ + ": not a prober store (no schema version)");
    int version = sqlite3_column_int(get.get(), 0);
    if (version != kSchemaVersion)
      throw DbError(path_ + ": schema version " + std::to_string(version) +
                    ", this prober reads version " + std::to_string(kSchemaVersion));
    // Every column the report reads: a mangled schema fails here, naming what is missing.
    prepare(
        "SELECT id, journey, location, started_at_ms, duration_ms, result, reason FROM runs "
        "LIMIT 0");
    prepare("SELECT run, idx, name, result, reason, message, status, total_ms FROM steps LIMIT 0");
  }

  std::string path_;
  Db db_;
};

// Everything read for one (step, location) or (step, all locations).
struct StepAcc {
  Counts counts;
  std::vector<double> answered_ms;  // valid events with a status
  std::uint64_t timeouts = 0;       // valid events that timed out without an answer
};

struct ReasonAcc {
  std::uint64_t count = 0;
  std::string example, location;
  std::int64_t at_ms = 0;
  std::size_t step_index = 0;
};

struct RunAcc {
  Counts runs;
  std::vector<double> durations;  // valid runs
  std::uint64_t good_within = 0;  // good runs within the journey latency threshold
  std::uint64_t timeouts = 0;     // bad runs with reason timeout
};

void add_result(Counts& c, std::string_view result) {
  if (result == "good")
    ++c.good;
  else if (result == "bad")
    ++c.bad;
  else if (result == "skipped")
    ++c.skipped;
  else
    ++c.invalid;
}

Latency latency_of(std::vector<double> ms, std::optional<double> threshold) {
  std::sort(ms.begin(), ms.end());
  Latency l;
  l.count = ms.size();
  l.p50 = percentile(ms, 50);
  l.p90 = percentile(ms, 90);
  l.p99 = percentile(ms, 99);
  if (!ms.empty()) l.max = ms.back();
  l.threshold_ms = threshold;
  if (threshold)
    l.over_threshold =
        static_cast<std::uint64_t>(ms.end() - std::upper_bound(ms.begin(), ms.end(), *threshold));
  return l;
}

// A pointer rather than an optional: GCC 12 misreads copies of optional<double> in loops as
// maybe-uninitialized (-Werror).
const double* availability_target(const journeys::Journey& j) {
  return j.slo && j.slo->availability ? &*j.slo->availability : nullptr;
}

const journeys::LatencySlo* latency_slo_for(const journeys::Journey& j, std::string_view step) {
  if (!j.slo) return nullptr;
  for (const auto& l : j.slo->latency)
    if (l.step == step) return &l;
  return nullptr;
}

// Step-level latency objective: answered or timed-out events are valid, answers within the
// threshold are good.
Objective step_latency_objective(const journeys::LatencySlo& slo, const StepAcc& a) {
  std::uint64_t good = 0;
  for (double ms : a.answered_ms)
    if (ms <= slo.threshold_ms) ++good;
  return make_objective("latency", slo.target, a.answered_ms.size() + a.timeouts, good,
                        slo.threshold_ms);
}

StepReport step_report(const journeys::Journey& j, const journeys::Step& s, std::size_t index,
                       const StepAcc& all, const std::map<std::string, StepAcc>& by_location) {
  StepReport r;
  r.name = s.name;
  r.index = index;
  r.counts = all.counts;
  const journeys::LatencySlo* lslo = latency_slo_for(j, s.name);
  std::optional<double> threshold = s.latency_threshold_ms;
  if (!threshold && lslo) threshold = lslo->threshold_ms;
  r.latency = latency_of(all.answered_ms, threshold);
  const double* target = availability_target(j);
  if (target)
    r.availability = make_objective("availability", *target, r.counts.valid(), r.counts.good);
  if (lslo) r.latency_slo = step_latency_objective(*lslo, all);
  for (const auto& [location, acc] : by_location) {
    StepLocation l;
    l.location = location;
    l.counts = acc.counts;
    l.latency = latency_of(acc.answered_ms, threshold);
    if (target)
      l.availability = make_objective("availability", *target, l.counts.valid(), l.counts.good);
    if (lslo) l.latency_slo = step_latency_objective(*lslo, acc);
    r.locations.push_back(std::move(l));
  }
  return r;
}

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

JourneyReport journey_report(Store& store, const journeys::Journey& j,
                             const journeys::Catalog* catalog, std::int64_t since_ms,
                             std::int64_t until_ms) {
  JourneyReport r;
  r.name = j.name;
  r.description = j.description;
  r.file = j.file;
  r.cuj = j.cuj;
  if (catalog) {
    if (const journeys::Cuj* c = catalog->find(j.cuj)) {
      r.cuj_rank = c->rank;
      r.cuj_owner = c->owner;
    }
  }
  r.since_ms = since_ms;
  r.window_ms = until_ms - since_ms;

  // Runs.
  const journeys::LatencySlo* run_lslo = latency_slo_for(j, "");
  RunAcc all_runs;
  std::map<std::string, Counts> runs_by_location;
  r.bucket_ms = std::max<std::int64_t>(1, r.window_ms / static_cast<std::int64_t>(kBuckets));
  r.buckets.resize(kBuckets);
  for (std::size_t b = 0; b < kBuckets; ++b)
    r.buckets[b].start_ms = since_ms + static_cast<std::int64_t>(b) * r.bucket_ms;
  const std::vector<Bucket> empty_buckets = r.buckets;
  std::map<std::string, std::vector<Bucket>> series;
  {
    Stmt q = store.prepare(
        "SELECT location, result, reason, duration_ms, started_at_ms FROM runs "
        "WHERE journey = ?1 AND started_at_ms >= ?2 AND started_at_ms < ?3");
    sqlite3_bind_text(q.get(), 1, j.name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q.get(), 2, since_ms);
    sqlite3_bind_int64(q.get(), 3, until_ms);
    while (store.step(q.get())) {
      std::string location = column_text(q.get(), 0);
      std::string result = column_text(q.get(), 1);
      std::string reason = column_text(q.get(), 2);
      double duration = sqlite3_column_double(q.get(), 3);
      const std::int64_t started = sqlite3_column_int64(q.get(), 4);
      const std::size_t b = std::min<std::size_t>(
          kBuckets - 1, static_cast<std::size_t>((started - since_ms) / r.bucket_ms));
      add_result(r.buckets[b].runs, result);
      auto [sit, fresh] = series.try_emplace(location);
      if (fresh) sit->second = empty_buckets;
      add_result(sit->second[b].runs, result);
      add_result(all_runs.runs, result);
      add_result(runs_by_location[location], result);
      if (result == "good" || result == "bad") all_runs.durations.push_back(duration);
      if (result == "bad" && reason == "timeout") ++all_runs.timeouts;
      if (result == "good" && run_lslo && duration <= run_lslo->threshold_ms)
        ++all_runs.good_within;
    }
  }
  r.runs = all_runs.runs;
  const double* target = availability_target(j);
  {
    std::uint64_t valid = 0, good = 0;
    for (Bucket& b : r.buckets) {
      valid += b.runs.valid();
      good += b.runs.good;
      if (target && valid > 0)
        b.budget_remaining = make_objective("availability", *target, valid, good).budget_remaining;
    }
  }
  for (auto& [location, buckets] : series)
    r.series.push_back(LocationSeries{location, std::move(buckets)});
  if (target) r.availability = make_objective("availability", *target, r.runs.valid(), r.runs.good);
  if (run_lslo)
    r.latency_slo = make_objective("latency", run_lslo->target, r.runs.good + all_runs.timeouts,
                                   all_runs.good_within, run_lslo->threshold_ms);
  r.duration = latency_of(all_runs.durations,
                          run_lslo ? std::optional(run_lslo->threshold_ms) : std::nullopt);
  for (const auto& [location, counts] : runs_by_location) {
    JourneyLocation l;
    l.location = location;
    l.runs = counts;
    if (target)
      l.availability = make_objective("availability", *target, counts.valid(), counts.good);
    r.locations.push_back(std::move(l));
  }

  // Steps, matched to the journey's steps by name (a step renamed since is not reported).
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < j.steps.size(); ++i)
    index.emplace(j.steps[i].name, i);
  std::vector<StepAcc> all(j.steps.size());
  std::vector<std::map<std::string, StepAcc>> by_location(j.steps.size());
  std::map<std::pair<std::size_t, std::string>, ReasonAcc> reasons;
  {
    Stmt q = store.prepare(
        "SELECT r.location, r.started_at_ms, r.result, s.name, s.result, s.reason, s.message, "
        "s.status, s.total_ms FROM runs r JOIN steps s ON s.run = r.id "
        "WHERE r.journey = ?1 AND r.started_at_ms >= ?2 AND r.started_at_ms < ?3 "
        "ORDER BY r.started_at_ms, r.id, s.idx");
    sqlite3_bind_text(q.get(), 1, j.name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q.get(), 2, since_ms);
    sqlite3_bind_int64(q.get(), 3, until_ms);
    while (store.step(q.get())) {
      auto it = index.find(column_text(q.get(), 3));
      if (it == index.end()) continue;
      const std::size_t i = it->second;
      std::string location = column_text(q.get(), 0);
      // A run marked invalid spoils every one of its events.
      std::string result =
          column_text(q.get(), 2) == "invalid" ? "invalid" : column_text(q.get(), 4);
      std::string reason = column_text(q.get(), 5);
      const int status = sqlite3_column_int(q.get(), 7);
      const double total_ms = sqlite3_column_double(q.get(), 8);
      for (StepAcc* a : {&all[i], &by_location[i][location]}) {
        add_result(a->counts, result);
        if (result != "good" && result != "bad") continue;
        if (status > 0)
          a->answered_ms.push_back(total_ms);
        else if (reason == "timeout")
          ++a->timeouts;
      }
      if (result == "bad") {
        ReasonAcc& ra = reasons[{i, reason}];
        ++ra.count;
        ra.example = column_text(q.get(), 6);  // rows come in time order: the latest wins
        ra.location = location;
        ra.at_ms = sqlite3_column_int64(q.get(), 1);
        ra.step_index = i;
      }
    }
  }
  for (std::size_t i = 0; i < j.steps.size(); ++i) {
    r.steps.push_back(step_report(j, j.steps[i], i, all[i], by_location[i]));
    // Events of valid runs are good, bad or skipped: a valid event is a run that reached the step.
    r.funnel.push_back(FunnelStage{j.steps[i].name, all[i].counts.valid(), all[i].counts.good});
  }
  for (const auto& [key, ra] : reasons)
    r.top_reasons.push_back(FailureReason{j.steps[key.first].name, key.second, ra.count, ra.example,
                                          ra.location, ra.at_ms});
  std::stable_sort(r.top_reasons.begin(), r.top_reasons.end(),
                   [&](const FailureReason& a, const FailureReason& b) {
                     if (a.count != b.count) return a.count > b.count;
                     if (index[a.step] != index[b.step]) return index[a.step] < index[b.step];
                     return a.reason < b.reason;
                   });
  if (r.top_reasons.size() > kTopReasons) r.top_reasons.resize(kTopReasons);
  return r;
}

std::set<std::string> locations_seen(Store& store, std::int64_t since_ms, std::int64_t until_ms) {
  Stmt q = store.prepare(
      "SELECT DISTINCT location FROM runs WHERE started_at_ms >= ?1 AND started_at_ms < ?2");
  sqlite3_bind_int64(q.get(), 1, since_ms);
  sqlite3_bind_int64(q.get(), 2, until_ms);
  std::set<std::string> out;
  while (store.step(q.get()))
    out.insert(column_text(q.get(), 0));
  return out;
}

Gap gap(std::string kind, const JourneyReport& j, std::string step, std::string location,
        std::string message) {
  return Gap{std::move(kind),   j.cuj, j.name, std::move(step), std::move(location), {},
             std::move(message)};
}

// The gaps of one journey: whether it ran, then per step the dynamic and the static gaps, then
// the locations that never ran it, then the missing SLO.
void journey_gaps(const journeys::Journey& j, const JourneyReport& r,
                  const std::vector<std::string>& expected_locations, std::vector<Gap>& out) {
  const std::string jq = "journey " + in_quotes(j.name);
  const bool ran = r.runs.valid() > 0;
  if (!ran)
    out.push_back(
        gap("journey_never_ran", r, "", "",
            jq + " has no valid run in the window" +
                (r.runs.invalid ? " (" + plural(r.runs.invalid, "invalid run", "invalid runs") + ")"
                                : std::string())));
  std::vector<journeys::Gap> statics = journeys::static_gaps(j);
  for (const StepReport& s : r.steps) {
    const std::string sq = "step " + in_quotes(s.name);
    if (ran && s.counts.valid() == 0)
      out.push_back(gap("step_never_reached", r, s.name, "",
                        sq + " was never reached in the window (" +
                            plural(s.counts.skipped, "run", "runs") + " skipped it)"));
    else if (s.counts.valid() > 0 && s.counts.good == 0)
      out.push_back(gap("step_never_passed", r, s.name, "",
                        sq + " never passed in the window (" +
                            plural(s.counts.bad, "bad event", "bad events") + ")"));
    for (const journeys::Gap& g : statics) {
      if (g.step != s.name) continue;
      Gap sg = gap(std::string(journeys::to_string(g.kind)), r, s.name, "", g.message);
      sg.pos = g.pos;
      out.push_back(std::move(sg));
    }
  }
  for (const std::string& location : expected_locations) {
    auto it = std::find_if(r.locations.begin(), r.locations.end(),
                           [&](const JourneyLocation& l) { return l.location == location; });
    if (it != r.locations.end() && it->runs.valid() > 0) continue;
    std::string why = it == r.locations.end()
                          ? std::string()
                          : " (" + plural(it->runs.invalid, "invalid run", "invalid runs") + ")";
    out.push_back(
        gap("location_never_ran", r, "", location,
            "location " + in_quotes(location) + " never ran " + jq + " in the window" + why));
  }
  for (const journeys::Gap& g : statics) {
    if (!g.step.empty()) continue;
    Gap jg = gap(std::string(journeys::to_string(g.kind)), r, "", "", g.message);
    jg.pos = g.pos;
    out.push_back(std::move(jg));
  }
}

}  // namespace

std::optional<double> Counts::sli() const {
  if (valid() == 0) return std::nullopt;
  return 100.0 * static_cast<double>(good) / static_cast<double>(valid());
}

std::optional<double> percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::nullopt;
  // Nearest rank: ceil(p/100 * n), 1-based. The epsilon keeps 90 % of 10 at rank 9, not 10
  // (0.9 * 10 is 9.000000000000002 in binary).
  double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9);
  std::size_t i = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  return sorted[std::min(i, sorted.size() - 1)];
}

Objective make_objective(std::string kind, double target, std::uint64_t valid, std::uint64_t good,
                         std::optional<double> threshold_ms) {
  Objective o;
  o.kind = std::move(kind);
  o.target = target;
  o.threshold_ms = threshold_ms;
  o.valid = valid;
  o.good = good;
  if (valid == 0) return o;
  const double v = static_cast<double>(valid);
  const double bad = static_cast<double>(valid - good);
  o.sli = 100.0 * static_cast<double>(good) / v;
  const double allowed_ratio = 1.0 - target / 100.0;  // > 0: the loader keeps targets below 100
  if (allowed_ratio > 0) {
    o.budget_remaining = 1.0 - bad / (allowed_ratio * v);
    o.burn_rate = (bad / v) / allowed_ratio;
  }
  return o;
}

Report build_report(const ReportOptions& options) {
  Store store(options.db_path);
  Report report;
  report.db = options.db_path;
  report.until_ms = options.until_ms ? options.until_ms
                                     : std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count();
  report.since_window_ms = options.since_ms;
  if (options.catalog) report.catalog = options.catalog->file;

  // Report order: CUJ rank (journeys without a ranked CUJ last), then journey name.
  std::vector<journeys::JourneyPtr> ordered = options.journeys;
  auto rank_of = [&](const journeys::Journey& j) {
    const journeys::Cuj* c = options.catalog ? options.catalog->find(j.cuj) : nullptr;
    return c ? c->rank : std::numeric_limits<int>::max();
  };
  std::stable_sort(ordered.begin(), ordered.end(),
                   [&](const journeys::JourneyPtr& a, const journeys::JourneyPtr& b) {
                     return std::pair(rank_of(*a), a->name) < std::pair(rank_of(*b), b->name);
                   });

  if (options.catalog) {
    for (const journeys::Cuj* c : journeys::uncovered_cujs(*options.catalog, ordered))
      report.gaps.push_back(Gap{
          "cuj_no_journey", c->name, "", "", "", c->pos,
          "CUJ " + in_quotes(c->name) + " (rank " + std::to_string(c->rank) + ") has no journey"});
    std::vector<const journeys::Cuj*> cujs;
    for (const journeys::Cuj& c : options.catalog->cujs)
      cujs.push_back(&c);
    std::stable_sort(cujs.begin(), cujs.end(), [](const journeys::Cuj* a, const journeys::Cuj* b) {
      return std::pair(a->rank, a->name) < std::pair(b->rank, b->name);
    });
    for (const journeys::Cuj* c : cujs) {
      CujSummary s{c->name, c->rank, c->owner, c->description, {}};
      for (const auto& j : ordered)
        if (j->cuj == c->name) s.journeys.push_back(j->name);
      report.cujs.push_back(std::move(s));
    }
  }

  for (const auto& jp : ordered) {
    const journeys::Journey& j = *jp;
    std::int64_t window =
        options.since_ms ? *options.since_ms
        : j.slo ? std::chrono::duration_cast<std::chrono::milliseconds>(j.slo->window).count()
                : kDefaultWindowMs;
    const std::int64_t since = report.until_ms - window;
    JourneyReport r = journey_report(store, j, options.catalog, since, report.until_ms);

    // Where it should have run: its own list, else its CUJ's, else everywhere the store saw.
    std::vector<std::string> expected = j.locations;
    if (expected.empty() && options.catalog)
      if (const journeys::Cuj* c = options.catalog->find(j.cuj)) expected = c->locations;
    if (expected.empty()) {
      std::set<std::string> seen = locations_seen(store, since, report.until_ms);
      expected.assign(seen.begin(), seen.end());
    }
    journey_gaps(j, r, expected, report.gaps);
    report.journeys.push_back(std::move(r));
  }
  return report;
}

}  // namespace prober::report
