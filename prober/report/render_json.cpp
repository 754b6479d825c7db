// The report as JSON: a public interface (README "Reports" documents every field). Numbers are
// unrounded; what has no value (an SLI without valid events, a journey without an SLO) is null.

#include <chrono>

#include "journeys/duration.hpp"
#include "prober/record/event.hpp"
#include "prober/report/render.hpp"

namespace prober::report {
namespace {

using nlohmann::json;

json opt(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

std::string time_of(std::int64_t unix_ms) {
  return record::format_time(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)));
}

std::string length_of(std::int64_t ms) {
  return journeys::format_duration(std::chrono::milliseconds(ms));
}

json counts(const Counts& c) {
  return {{"valid", c.valid()},   {"good", c.good},       {"bad", c.bad},
          {"skipped", c.skipped}, {"invalid", c.invalid}, {"sli", opt(c.sli())}};
}

json objective(const std::optional<Objective>& o) {
  if (!o) return nullptr;
  return {{"kind", o->kind},
          {"target", o->target},
          {"threshold_ms", opt(o->threshold_ms)},
          {"valid", o->valid},
          {"good", o->good},
          {"sli", opt(o->sli)},
          {"budget_remaining", opt(o->budget_remaining)},
          {"burn_rate", opt(o->burn_rate)},
          {"met", o->sli ? json(o->met()) : json(nullptr)}};
}

json latency(const Latency& l) {
  return {{"count", l.count},
          {"p50_ms", opt(l.p50)},
          {"p90_ms", opt(l.p90)},
          {"p99_ms", opt(l.p99)},
          {"max_ms", opt(l.max)},
          {"threshold_ms", opt(l.threshold_ms)},
          {"over_threshold", l.over_threshold}};
}

// One bucket of the time series; budget_remaining only in the all-locations series.
json point(const Bucket& b, bool with_budget) {
  json p = {{"t", time_of(b.start_ms)},   {"valid", b.runs.valid()},
            {"good", b.runs.good},        {"bad", b.runs.bad},
            {"invalid", b.runs.invalid},  {"sli", opt(b.runs.sli())}};
  if (with_budget) p["budget_remaining"] = opt(b.budget_remaining);
  return p;
}

// The run SLI over time: the window in kBuckets buckets by run start, as the HTML plots it.
json series(const JourneyReport& j) {
  json all = json::array();
  for (const Bucket& b : j.buckets)
    all.push_back(point(b, true));
  json locations = json::array();
  for (const LocationSeries& s : j.series) {
    json points = json::array();
    for (const Bucket& b : s.buckets)
      points.push_back(point(b, false));
    locations.push_back({{"location", s.location}, {"points", std::move(points)}});
  }
  return {{"bucket", length_of(j.bucket_ms)},
          {"bucket_ms", j.bucket_ms},
          {"all", std::move(all)},
          {"locations", std::move(locations)}};
}

json journey(const JourneyReport& j, std::int64_t until_ms) {
  json locations = json::array();
  for (const JourneyLocation& l : j.locations)
    locations.push_back({{"location", l.location},
                         {"runs", counts(l.runs)},
                         {"availability", objective(l.availability)}});
  json steps = json::array();
  for (const StepReport& s : j.steps) {
    json per_location = json::array();
    for (const StepLocation& l : s.locations)
      per_location.push_back({{"location", l.location},
                              {"events", counts(l.counts)},
                              {"latency", latency(l.latency)},
                              {"availability", objective(l.availability)},
                              {"latency_slo", objective(l.latency_slo)}});
    steps.push_back({{"name", s.name},
                     {"index", s.index},
                     {"events", counts(s.counts)},
                     {"latency", latency(s.latency)},
                     {"availability", objective(s.availability)},
                     {"latency_slo", objective(s.latency_slo)},
                     {"locations", std::move(per_location)}});
  }
  json funnel = json::array();
  for (const FunnelStage& f : j.funnel)
    funnel.push_back({{"step", f.step}, {"reached", f.reached}, {"passed", f.passed}});
  json reasons = json::array();
  for (const FailureReason& r : j.top_reasons)
    reasons.push_back({{"step", r.step},
                       {"reason", r.reason},
                       {"count", r.count},
                       {"example", r.example},
                       {"example_location", r.example_location},
                       {"example_at", time_of(r.example_at_ms)}});
  return {{"name", j.name},
          {"description", j.description},
          {"file", j.file},
          {"cuj", j.cuj.empty() ? json(nullptr) : json(j.cuj)},
          {"cuj_rank", j.cuj_rank ? json(*j.cuj_rank) : json(nullptr)},
          {"cuj_owner", j.cuj_owner.empty() ? json(nullptr) : json(j.cuj_owner)},
          {"window",
           {{"since", time_of(j.since_ms)},
            {"until", time_of(until_ms)},
            {"length", length_of(j.window_ms)},
            {"length_ms", j.window_ms}}},
          {"runs", counts(j.runs)},
          {"availability", objective(j.availability)},
          {"latency_slo", objective(j.latency_slo)},
          {"duration", latency(j.duration)},
          {"locations", std::move(locations)},
          {"steps", std::move(steps)},
          {"funnel", std::move(funnel)},
          {"top_reasons", std::move(reasons)},
          {"series", series(j)}};
}

json empty_null(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

}  // namespace

json to_json(const Report& report) {
  json cujs = json::array();
  for (const CujSummary& c : report.cujs)
    cujs.push_back({{"name", c.name},
                    {"rank", c.rank},
                    {"owner", c.owner},
                    {"description", c.description},
                    {"journeys", c.journeys}});
  json journeys = json::array();
  for (const JourneyReport& j : report.journeys)
    journeys.push_back(journey(j, report.until_ms));
  json gaps = json::array();
  for (const Gap& g : report.gaps) {
    json pos = nullptr;
    if (!g.pos.file.empty())
      pos = {{"file", g.pos.file}, {"line", g.pos.line}, {"column", g.pos.column}};
    gaps.push_back({{"kind", g.kind},
                    {"cuj", empty_null(g.cuj)},
                    {"journey", empty_null(g.journey)},
                    {"step", empty_null(g.step)},
                    {"location", empty_null(g.location)},
                    {"source", std::move(pos)},
                    {"message", g.message}});
  }
  return {{"schema", 1},
          {"db", report.db},
          {"until", time_of(report.until_ms)},
          {"since_window",
           report.since_window_ms ? json(length_of(*report.since_window_ms)) : json(nullptr)},
          {"catalog", empty_null(report.catalog)},
          {"cujs", std::move(cujs)},
          {"journeys", std::move(journeys)},
          {"gaps", std::move(gaps)}};
}

}  // namespace prober::report
