// The SLO review: the incidents file, one report per incident window against one report over
// the review window, and the renderers. Every number comes from build_report (report.cpp), so
// the review and the report can never disagree on what a good or a valid event is.

#include "prober/report/review.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <system_error>

#include <toml++/toml.h>

#include "journeys/duration.hpp"
#include "journeys/toml_read.hpp"
#include "prober/record/event.hpp"
#include "prober/report/render.hpp"
#include "prober/report/report.hpp"

namespace prober::report {
namespace {

using journeys::Diagnostics;
using journeys::in_quotes;

const std::vector<std::string_view> kTopKeys = {"incident"};
const std::vector<std::string_view> kIncidentKeys = {"title", "start", "end"};

std::int64_t unix_ms(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<std::int64_t>(::timegm(&tm)) * 1000;
}

// A time key: an RFC 3339 UTC string, or a TOML offset date-time (any offset, converted).
std::optional<std::int64_t> time_at(Diagnostics& d, const toml::node& n, std::string_view key) {
  const std::string expected = "an RFC 3339 UTC time like \"2027-01-15T08:00:00Z\"";
  if (const auto* s = n.as_string()) {
    auto ms = parse_rfc3339_utc(s->get());
    if (!ms) d.error(n, in_quotes(key) + " must be " + expected + ", not " + in_quotes(s->get()));
    return ms;
  }
  if (const auto* dt = n.as_date_time()) {
    const toml::date_time& v = dt->get();
    if (!v.offset) {
      d.error(n, in_quotes(key) + " has no time zone: write it in UTC with a Z (" + expected + ")");
      return std::nullopt;
    }
    return unix_ms(v.date.year, v.date.month, v.date.day, v.time.hour, v.time.minute,
                   v.time.second) +
           v.time.nanosecond / 1'000'000 - std::int64_t{v.offset->minutes} * 60'000;
  }
  journeys::type_error(d, n, key, expected);
  return std::nullopt;
}

std::optional<Incident> load_incident(Diagnostics& d, const toml::table& t) {
  Incident inc;
  inc.pos = d.pos(t);
  journeys::ContextScope ctx(d, "incident");
  bool ok = true;
  if (const toml::node* n = t.get("title")) {
    auto title = journeys::string_at(d, *n, "title");
    if (title && title->empty()) d.error(*n, "'title' must not be empty");
    if (title && !title->empty()) {
      inc.title = *title;
      d.set_context("incident " + in_quotes(inc.title));
    } else {
      ok = false;
    }
  } else {
    d.error(t, "missing required key 'title'");
    ok = false;
  }
  journeys::check_keys(d, t, kIncidentKeys);
  std::optional<std::int64_t> start, end;
  for (const char* key : {"start", "end"}) {
    const toml::node* n = t.get(key);
    if (!n) {
      d.error(t, "missing required key " + in_quotes(key));
      ok = false;
      continue;
    }
    (std::string_view(key) == "start" ? start : end) = time_at(d, *n, key);
  }
  if (start && end && *end <= *start) {
    d.error(*t.get("end"), "'end' must be after 'start' (" +
                               record::format_time(std::chrono::system_clock::time_point(
                                   std::chrono::milliseconds(*start))) +
                               ")");
    ok = false;
  }
  if (!ok || !start || !end) return std::nullopt;
  inc.start_ms = *start;
  inc.end_ms = *end;
  return inc;
}

std::string time_of(std::int64_t ms) {
  return record::format_time(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

std::string duration_of(std::int64_t ms) {
  return journeys::format_duration(std::chrono::milliseconds(ms));
}

std::optional<double> ratio(std::uint64_t bad, std::optional<double> target,
                            std::uint64_t window_valid) {
  if (!target || window_valid == 0) return std::nullopt;
  const double allowed = (1.0 - *target / 100.0) * static_cast<double>(window_valid);
  if (allowed <= 0) return std::nullopt;
  return static_cast<double>(bad) / allowed;
}

JourneyImpact impact_of(const JourneyReport& in_incident, const JourneyReport& in_window) {
  JourneyImpact j;
  j.name = in_incident.name;
  j.valid = in_incident.runs.valid();
  j.bad = in_incident.runs.bad;
  if (in_incident.availability) {
    j.target = in_incident.availability->target;
    j.burn_rate = in_incident.availability->burn_rate;
    j.budget_burned = ratio(j.bad, j.target, in_window.runs.valid());
  }
  if (in_incident.latency_slo) j.latency_burn_rate = in_incident.latency_slo->burn_rate;
  for (std::size_t i = 0; i < in_incident.steps.size(); ++i) {
    const StepReport& s = in_incident.steps[i];
    StepImpact si;
    si.name = s.name;
    si.valid = s.counts.valid();
    si.bad = s.counts.bad;
    if (s.availability) si.burn_rate = s.availability->burn_rate;
    if (i < in_window.steps.size())
      si.budget_burned = ratio(si.bad, j.target, in_window.steps[i].counts.valid());
    if (s.latency_slo) si.latency_burn_rate = s.latency_slo->burn_rate;
    j.steps.push_back(std::move(si));
  }
  std::optional<double> best = j.max_burn();
  j.seen = best && *best >= 1.0;
  return j;
}

nlohmann::json opt(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::string target_text(double t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", t);
  return buf;
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339_utc(std::string_view sv) {
  const std::string s(sv);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
      n != 19)
    return std::nullopt;
  for (std::size_t i : {4u, 7u, 13u, 16u})
    if (!std::isdigit(static_cast<unsigned char>(s[i - 1]))) return std::nullopt;
  std::string rest = s.substr(19);
  std::int64_t ms = 0;
  if (!rest.empty() && rest[0] == '.') {
    std::size_t i = 1;
    std::int64_t scale = 100;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) {
      ms += (rest[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == 1) return std::nullopt;
    rest = rest.substr(i);
  }
  if ((rest != "Z" && rest != "z" && rest != "+00:00") || mo < 1 || mo > 12 || d < 1 || d > 31 ||
      h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  return unix_ms(y, mo, d, h, mi, sec) + ms;
}

std::vector<Incident> load_incidents_string(std::string_view toml_text,
                                            const std::string& file_name) {
  Diagnostics d(file_name);
  toml::table root = journeys::parse_or_throw(d, toml_text);
  journeys::check_keys(d, root, kTopKeys);
  std::vector<Incident> out;
  if (const toml::node* n = root.get("incident")) {
    const toml::array* a = n->as_array();
    if (!a) {
      journeys::type_error(d, *n, "incident", "an array of tables ([[incident]])");
    } else {
      for (const toml::node& item : *a) {
        if (const toml::table* t = item.as_table()) {
          if (auto inc = load_incident(d, *t)) out.push_back(std::move(*inc));
        } else {
          journeys::type_error(d, item, "incident", "an array of tables ([[incident]])");
        }
      }
    }
  }
  if (out.empty() && !d.has_errors())
    d.error(journeys::SourcePos{file_name, 0, 0},
            "no incident in the file (add an [[incident]] table with title, start and end)");
  std::vector<journeys::Diagnostic> errors = d.take();
  std::stable_sort(errors.begin(), errors.end(),
                   [](const journeys::Diagnostic& a, const journeys::Diagnostic& b) {
                     return std::pair(a.pos.line, a.pos.column) <
                            std::pair(b.pos.line, b.pos.column);
                   });
  if (!errors.empty()) throw journeys::LoadError(std::move(errors));
  return out;
}

std::vector<Incident> load_incidents_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw journeys::LoadError({journeys::file_error(
        path.string(), "cannot read file: " + std::generic_category().message(EISDIR))});
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw journeys::LoadError({journeys::file_error(
        path.string(), "cannot read file: " + std::generic_category().message(errno))});
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    throw journeys::LoadError({journeys::file_error(path.string(), "cannot read file")});
  return load_incidents_string(text.str(), path.string());
}

std::optional<double> JourneyImpact::max_burn() const {
  std::optional<double> best;
  for (const std::optional<double>* v : {&burn_rate, &latency_burn_rate})
    if (*v && (!best || **v > *best)) best = *v;
  for (const StepImpact& s : steps)
    if (s.latency_burn_rate && (!best || *s.latency_burn_rate > *best)) best = s.latency_burn_rate;
  return best;
}

std::vector<TargetOption> target_options(std::uint64_t valid, std::uint64_t good) {
  std::vector<TargetOption> out;
  if (valid == 0) return out;
  const double v = static_cast<double>(valid);
  const double bad = static_cast<double>(valid - good);
  for (double t : kStandardTargets) {
    TargetOption o;
    o.target = t;
    o.met = 100.0 * static_cast<double>(good) / v >= t;
    o.budget_left = 1.0 - bad / ((1.0 - t / 100.0) * v);
    out.push_back(o);
  }
  return out;
}

std::string suggestion_sentence(const TargetSuggestion& s) {
  if (!s.achieved) return "no valid run over " + duration_of(s.window_ms) + ": no suggestion";
  std::string out =
      "achieved " + format_percent_floor(s.achieved) + " over " + duration_of(s.window_ms) + "; ";
  const TargetOption* best = nullptr;
  for (const TargetOption& o : s.options)
    if (o.met) best = &o;
  if (best)
    return out + target_text(best->target) + " would have been met with " +
           format_budget(best->budget_left) + " budget left";
  return out + "even " + target_text(s.options.front().target) + " would have been missed (" +
         format_budget(s.options.front().budget_left) + " budget left)";
}

Review build_review(const ReviewOptions& options) {
  Review review;
  review.db = options.db_path;
  review.incidents_file = options.incidents_file;
  review.until_ms = options.until_ms ? options.until_ms
                                     : std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count();
  review.since_window_ms = options.since_ms;

  ReportOptions window_options;
  window_options.db_path = options.db_path;
  window_options.journeys = options.journeys;
  window_options.since_ms = options.since_ms;
  window_options.until_ms = review.until_ms;
  const Report window = build_report(window_options);
  std::map<std::string, const JourneyReport*> window_by_name;
  for (const JourneyReport& j : window.journeys)
    window_by_name.emplace(j.name, &j);

  for (const Incident& inc : options.incidents) {
    ReportOptions o = window_options;
    o.since_ms = inc.end_ms - inc.start_ms;
    o.until_ms = inc.end_ms;
    const Report in_incident = build_report(o);
    IncidentReview ir;
    ir.incident = inc;
    for (const JourneyReport& j : in_incident.journeys) {
      ir.journeys.push_back(impact_of(j, *window_by_name.at(j.name)));
      ir.seen = ir.seen || ir.journeys.back().seen;
    }
    if (!ir.seen) review.missed.push_back(review.incidents.size());
    review.incidents.push_back(std::move(ir));
  }

  for (const JourneyReport& j : window.journeys) {
    if (!j.availability) continue;
    TargetSuggestion s;
    s.journey = j.name;
    s.current_target = j.availability->target;
    s.window_ms = j.window_ms;
    s.valid = j.runs.valid();
    s.good = j.runs.good;
    s.achieved = j.runs.sli();
    s.options = target_options(s.valid, s.good);
    review.targets.push_back(std::move(s));
  }
  return review;
}

void render_review_text(std::ostream& out, const Review& review) {
  out << "SLO review of " << review.db << ": " << review.incidents.size()
      << (review.incidents.size() == 1 ? " incident" : " incidents") << " from "
      << review.incidents_file << ", until " << time_of(review.until_ms) << "\n";
  for (const IncidentReview& ir : review.incidents) {
    const Incident& inc = ir.incident;
    out << "\nincident " << in_quotes(inc.title) << " " << time_of(inc.start_ms) << " - "
        << time_of(inc.end_ms) << " (" << duration_of(inc.end_ms - inc.start_ms)
        << "): " << (ir.seen ? "seen" : "MISSED (coverage gap)") << "\n";
    for (const JourneyImpact& j : ir.journeys) {
      out << "  journey " << j.name << ": " << j.bad << " bad of " << j.valid << " runs";
      if (j.target)
        out << ", burn " << format_burn(j.burn_rate) << ", budget burned "
            << format_budget(j.budget_burned) << " of " << target_text(*j.target);
      else
        out << " (no availability SLO)";
      if (j.latency_burn_rate) out << ", latency burn " << format_burn(j.latency_burn_rate);
      out << (j.seen ? "  <- saw it" : "") << "\n";
      for (const StepImpact& s : j.steps) {
        if (s.bad == 0 && !(s.latency_burn_rate && *s.latency_burn_rate > 0)) continue;
        out << "    step " << s.name << ": " << s.bad << " bad of " << s.valid;
        if (j.target)
          out << ", burn " << format_burn(s.burn_rate) << ", budget burned "
              << format_budget(s.budget_burned);
        if (s.latency_burn_rate) out << ", latency burn " << format_burn(s.latency_burn_rate);
        out << "\n";
      }
    }
  }
  out << "\nincidents no SLI saw: " << review.missed.size() << "\n";
  for (std::size_t i : review.missed) {
    const IncidentReview& ir = review.incidents[i];
    std::optional<double> best;
    std::string by;
    std::uint64_t bad = 0;
    for (const JourneyImpact& j : ir.journeys) {
      bad += j.bad;
      auto m = j.max_burn();
      if (m && (!best || *m > *best)) {
        best = m;
        by = j.name;
      }
    }
    out << "  - " << in_quotes(ir.incident.title) << " at " << time_of(ir.incident.start_ms)
        << ": ";
    if (best)
      out << "highest burn " << format_burn(best) << " (" << by << ")";
    else
      out << "no SLO measured it";
    out << ", " << bad << " bad runs\n";
  }
  out << "\ntarget suggestions (availability of runs, from past performance):";
  if (review.targets.empty()) out << " none (no journey has an availability SLO)";
  out << "\n";
  for (const TargetSuggestion& s : review.targets) {
    out << "  " << s.journey << " (SLO " << target_text(s.current_target)
        << "): " << suggestion_sentence(s) << "\n";
    if (s.options.empty()) continue;
    out << "   ";
    for (const TargetOption& o : s.options)
      out << "  " << target_text(o.target) << (o.met ? " met " : " missed ")
          << format_budget(o.budget_left);
    out << "\n";
  }
}

nlohmann::json review_to_json(const Review& review) {
  nlohmann::json incidents = nlohmann::json::array();
  for (const IncidentReview& ir : review.incidents) {
    nlohmann::json journeys = nlohmann::json::array();
    for (const JourneyImpact& j : ir.journeys) {
      nlohmann::json steps = nlohmann::json::array();
      for (const StepImpact& s : j.steps)
        steps.push_back({{"name", s.name},
                         {"valid", s.valid},
                         {"bad", s.bad},
                         {"burn_rate", opt(s.burn_rate)},
                         {"budget_burned", opt(s.budget_burned)},
                         {"latency_burn_rate", opt(s.latency_burn_rate)}});
      journeys.push_back({{"name", j.name},
                          {"target", opt(j.target)},
                          {"valid", j.valid},
                          {"bad", j.bad},
                          {"burn_rate", opt(j.burn_rate)},
                          {"budget_burned", opt(j.budget_burned)},
                          {"latency_burn_rate", opt(j.latency_burn_rate)},
                          {"seen", j.seen},
                          {"steps", std::move(steps)}});
    }
    incidents.push_back({{"title", ir.incident.title},
                         {"start", time_of(ir.incident.start_ms)},
                         {"end", time_of(ir.incident.end_ms)},
                         {"start_ms", ir.incident.start_ms},
                         {"end_ms", ir.incident.end_ms},
                         {"seen", ir.seen},
                         {"journeys", std::move(journeys)}});
  }
  nlohmann::json missed = nlohmann::json::array();
  for (std::size_t i : review.missed)
    missed.push_back(review.incidents[i].incident.title);
  nlohmann::json targets = nlohmann::json::array();
  for (const TargetSuggestion& s : review.targets) {
    nlohmann::json options = nlohmann::json::array();
    for (const TargetOption& o : s.options)
      options.push_back({{"target", o.target}, {"met", o.met}, {"budget_left", o.budget_left}});
    targets.push_back({{"journey", s.journey},
                       {"current_target", s.current_target},
                       {"window_ms", s.window_ms},
                       {"valid", s.valid},
                       {"good", s.good},
                       {"achieved", opt(s.achieved)},
                       {"suggestion", suggestion_sentence(s)},
                       {"options", std::move(options)}});
  }
  return {{"schema", 1},
          {"db", review.db},
          {"incidents_file", review.incidents_file},
          {"until", time_of(review.until_ms)},
          {"until_ms", review.until_ms},
          {"since_ms", review.since_window_ms ? nlohmann::json(*review.since_window_ms)
                                              : nlohmann::json(nullptr)},
          {"incidents", std::move(incidents)},
          {"missed", std::move(missed)},
          {"targets", std::move(targets)}};
}

}  // namespace prober::report
