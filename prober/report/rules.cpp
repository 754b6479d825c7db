#include "prober/report/rules.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include "journeys/diag.hpp"
#include "prober/record/recorder.hpp"
#include "prober/sinks/prom_format.hpp"

namespace prober::report {

namespace {

using journeys::Duration;
using namespace std::chrono_literals;

constexpr Duration kWorkbookSloWindow = std::chrono::hours(24 * 30);
constexpr Duration kMinWindow = 1min;
constexpr const char* kAlertName = "ProberErrorBudgetBurn";

// %g with `precision` significant digits: trailing zeros dropped, so 14.4 * 0.5 prints "7.2"
// and (100 - 99.9) / 100 prints "0.001" rather than its binary neighbour 0.000999999999999943.
std::string fmt(double v, int precision = 12) {
  std::array<char, 64> buf{};
  const auto r =
      std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::general, precision);
  return std::string(buf.data(), r.ptr);
}

// A PromQL double-quoted string literal.
std::string promql_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + '"';
}

// RE2 syntax: every metacharacter escaped, so the text matches only itself.
std::string regex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// The `le` matcher of a bucket bound. The endpoint writes `le` as text format 0.0.4 ("1") or
// as OpenMetrics ("1.0") depending on what the scraper asks for (Prometheus 2.x prefers
// OpenMetrics; Prometheus 3 stores the float form whatever the format). A rule that matched
// only one spelling would silently never fire under the other, so integers match both.
std::string le_matcher(double bound) {
  const std::string text = sinks::prom_format_le(bound, false);
  const std::string om = sinks::prom_format_le(bound, true);
  if (text == om) return "le=" + promql_quote(text);
  return "le=~" + promql_quote(regex_escape(text) + "|" + regex_escape(om));
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

enum class SliKind { availability, step_latency, run_latency };

// One SLI of a journey with its target: what the rules are generated from.
struct Sli {
  SliKind kind = SliKind::availability;
  std::string slo;          // the `slo` label
  double target = 0;        // percent
  std::string step;         // "" unless a step latency SLO
  double threshold_ms = 0;  // latency SLOs
  std::string good;         // selector of good events (a counter)
  std::string valid;        // selector of valid events (a counter)
  // Run latency only: a selector of more valid events (timed-out runs, as bad step events with
  // reason timeout); a series that appears only with the first timeout, so it is added as
  // `(sum(...) or 0 * sum(valid))`: without it the sum would be empty, and so the ratio.
  std::string more_valid;
};

std::string ratio_name(bool per_location, Duration window) {
  return std::string(per_location ? "prober:sli_error_ratio_by_location:rate"
                                  : "prober:sli_error_ratio:rate") +
         prom_duration(window);
}

std::string ms_text(double ms) {
  return fmt(ms) + " ms";
}

}  // namespace

const std::vector<BurnAlert>& workbook_burn_alerts() {
  static const std::vector<BurnAlert> alerts = {
      {"page", 14.4, 1h, 5min},
      {"page", 6, 6h, 30min},
      {"ticket", 3, 24h, 2h},
      {"ticket", 1, 72h, 6h},
  };
  return alerts;
}

Duration scale_window(Duration base, Duration slo_window) {
  // In long double seconds: base (up to 3d) times a window of months overflows int64 ns.
  const long double seconds = std::chrono::duration<long double>(base).count() *
                              std::chrono::duration<long double>(slo_window).count() /
                              std::chrono::duration<long double>(kWorkbookSloWindow).count();
  const Duration scaled = std::chrono::seconds(std::llround(seconds));
  return std::max(scaled, Duration(kMinWindow));
}

std::string prom_duration(Duration d) {
  long long s = std::chrono::duration_cast<std::chrono::seconds>(d + 500ms).count();
  if (s <= 0) return "0s";
  std::string out;
  const std::array<std::pair<long long, char>, 4> units{
      {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}}};
  for (const auto& [size, unit] : units) {
    if (s >= size) {
      out += std::to_string(s / size);
      out += unit;
      s %= size;
    }
  }
  return out;
}

std::string slo_label(const journeys::LatencySlo& slo) {
  return "latency:" + slo.step + ":" + fmt(slo.threshold_ms) + "ms";
}

std::string yaml_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          std::array<char, 8> buf{};
          std::snprintf(buf.data(), buf.size(), "\\x%02x", c);
          out += buf.data();
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + '"';
}

RuleGroup journey_rules(const journeys::Journey& j, const RulesOptions& options) {
  RuleGroup g;
  g.name = "prober/" + j.name;
  if (!j.slo) {
    g.comments.push_back("journey '" + j.name + "' has no [slo]: no rules");
    return g;
  }
  const journeys::Slo& slo = *j.slo;
  const std::string jq = promql_quote(j.name);
  std::vector<journeys::Diagnostic> errors;
  const auto error = [&](const journeys::SourcePos& pos, std::string message) {
    journeys::Diagnostic d;
    d.pos = pos;
    d.context = "slo";
    d.message = std::move(message);
    errors.push_back(std::move(d));
  };

  // The SLIs, availability first, then latency SLOs sorted by their label.
  std::vector<Sli> slis;
  if (slo.availability) {
    slis.push_back({SliKind::availability, "availability", *slo.availability, "", 0,
                    "prober_journey_runs_total{journey=" + jq + ",result=\"good\"}",
                    "prober_journey_runs_total{journey=" + jq + ",result=~\"good|bad\"}", ""});
  }
  const std::vector<double> bounds = record::default_buckets();
  std::map<std::string, const journeys::LatencySlo*> seen;
  std::vector<Sli> latency;
  for (const journeys::LatencySlo& l : slo.latency) {
    const double seconds = l.threshold_ms / 1000;
    if (l.step.empty()) {
      // The whole run: good runs within the threshold / (good runs + timed-out runs), as in
      // `prober report`. Any threshold is a bound of prober_journey_duration_seconds: the
      // daemon adds every latency SLO threshold of its journeys to the buckets.
      const std::string label = slo_label(l);
      if (auto [it, inserted] = seen.emplace(label, &l); !inserted) {
        error(l.pos, "a second journey-level latency SLO at " + ms_text(l.threshold_ms) +
                         " (the first is at line " + std::to_string(it->second->pos.line) +
                         "): their rules would collide; keep one");
        continue;
      }
      const std::string sel = "{journey=" + jq;
      latency.push_back({SliKind::run_latency, label, l.target, "", l.threshold_ms,
                         "prober_journey_duration_seconds_bucket" + sel + "," +
                             le_matcher(seconds) + "}",
                         "prober_journey_duration_seconds_count" + sel + "}",
                         "prober_step_bad_total" + sel + ",reason=\"timeout\"}"});
      continue;
    }
    const auto bound = std::find_if(bounds.begin(), bounds.end(), [&](double b) {
      return std::abs(b - seconds) <= 1e-9 * std::max(1.0, b);
    });
    if (bound == bounds.end()) {
      std::vector<std::string> ms;
      for (double b : bounds)
        ms.push_back(fmt(b * 1000));
      error(l.pos, "latency SLO of step '" + l.step + "': threshold_ms " + fmt(l.threshold_ms) +
                       " is not a bucket bound of prober_step_latency_seconds (" + join(ms, ", ") +
                       " ms), so no series counts the answers within it");
      continue;
    }
    const std::string label = slo_label(l);
    if (auto [it, inserted] = seen.emplace(label, &l); !inserted) {
      error(l.pos, "a second latency SLO of step '" + l.step + "' at " + ms_text(l.threshold_ms) +
                       " (the first is at line " + std::to_string(it->second->pos.line) +
                       "): their rules would collide; keep one");
      continue;
    }
    const std::string sel = "{journey=" + jq + ",step=" + promql_quote(l.step);
    latency.push_back({SliKind::step_latency, label, l.target, l.step, l.threshold_ms,
                       "prober_step_latency_seconds_bucket" + sel + "," + le_matcher(*bound) + "}",
                       "prober_step_latency_seconds_count" + sel + "}", ""});
  }
  if (!errors.empty()) throw journeys::LoadError(std::move(errors));
  std::sort(latency.begin(), latency.end(),
            [](const Sli& a, const Sli& b) { return a.slo < b.slo; });
  slis.insert(slis.end(), latency.begin(), latency.end());
  if (slis.empty()) {
    if (g.comments.empty())
      g.comments.push_back("journey '" + j.name + "' has an [slo] with no target: no rules");
    return g;
  }

  // The quorum, lowered to the number of locations the journey is known to run from.
  int quorum = options.quorum;
  const std::size_t known = !j.locations.empty() ? j.locations.size() : options.config_locations;
  if (quorum > 0 && known > 0 && static_cast<std::size_t>(quorum) > known) {
    g.comments.push_back(
        "journey '" + j.name + "' runs from " + std::to_string(known) +
        (known == 1 ? " location" : " locations") +
        (j.locations.empty() ? " (the config's [locations])" : " (its `locations`)") +
        ": quorum lowered from " + std::to_string(quorum) + " to " + std::to_string(known));
    quorum = static_cast<int>(known);
  }
  const bool per_location = quorum > 0;

  std::set<Duration> windows;
  for (const BurnAlert& a : workbook_burn_alerts()) {
    windows.insert(scale_window(a.long_window, slo.window));
    windows.insert(scale_window(a.short_window, slo.window));
  }

  // Recording rules: each SLI's error ratio (1 - good / valid) over every window used.
  for (const Sli& s : slis) {
    std::vector<std::string> by = {"journey"};
    if (!s.step.empty()) by.push_back("step");
    if (per_location) by.push_back("location");
    const std::string sum = "sum by (" + join(by, ", ") + ") ";
    for (Duration w : windows) {
      const std::string range = "[" + prom_duration(w) + "]";
      Rule r;
      r.record = ratio_name(per_location, w);
      const std::string valid = sum + "(rate(" + s.valid + range + "))";
      if (s.more_valid.empty())
        r.expr = "1 - (\n  " + sum + "(rate(" + s.good + range + "))\n  /\n  " + valid + "\n)";
      else
        r.expr = "1 - (\n  " + sum + "(rate(" + s.good + range + "))\n  /\n  (\n    " + valid +
                 "\n    +\n    (" + sum + "(rate(" + s.more_valid + range + ")) or 0 * " + valid +
                 ")\n  )\n)";
      // journey and slo are in the series already; as static labels too, they keep the rules
      // of different journeys and SLOs apart for `promtool check rules`' duplicate lint.
      r.labels = {{"journey", j.name}, {"slo", s.slo}};
      g.rules.push_back(std::move(r));
    }
  }

  // Alerts: one per SLI and line of the workbook's table.
  const std::string window_text = prom_duration(slo.window);
  for (const Sli& s : slis) {
    const std::string budget = fmt((100 - s.target) / 100);
    const std::string sel = "{journey=" + jq + ",slo=" + promql_quote(s.slo) + "}";
    const std::string who = s.step.empty() ? j.name : j.name + "/" + s.step;
    const std::string what =
        s.kind == SliKind::availability ? "availability SLO " + fmt(s.target) + "%"
        : s.kind == SliKind::run_latency
            ? "latency SLO " + fmt(s.target) + "% of runs within " + ms_text(s.threshold_ms)
            : "latency SLO " + fmt(s.target) + "% within " + ms_text(s.threshold_ms);
    for (const BurnAlert& a : workbook_burn_alerts()) {
      const Duration lw = scale_window(a.long_window, slo.window);
      const Duration sw = scale_window(a.short_window, slo.window);
      const std::string lws = prom_duration(lw), sws = prom_duration(sw);
      const std::string threshold = "(" + fmt(a.burn_rate) + " * " + budget + ")";
      const std::string cond_long = ratio_name(per_location, lw) + sel + " > " + threshold;
      const std::string cond_short = ratio_name(per_location, sw) + sel + " > " + threshold;
      Rule r;
      r.alert = kAlertName;
      if (per_location) {
        std::vector<std::string> by = {"journey"};
        if (!s.step.empty()) by.push_back("step");
        by.push_back("slo");
        r.expr = "count by (" + join(by, ", ") + ") (\n  " + cond_long + "\n  and\n  " +
                 cond_short + "\n) >= " + std::to_string(quorum);
      } else {
        r.expr = cond_long + "\nand\n" + cond_short;
      }
      r.labels = {
          {"journey", j.name}, {"long_window", lws}, {"severity", a.severity}, {"slo", s.slo}};

      const double error_percent = a.burn_rate * (100 - s.target);
      const std::string where = per_location ? " in at least " + std::to_string(quorum) +
                                                   (quorum == 1 ? " location" : " locations") +
                                                   ", each on its own"
                                             : ", all locations together";
      std::string summary = who + ": " + what + " over " + window_text +
                            " is burning its error budget at " + fmt(a.burn_rate) + "x over " +
                            lws + " and " + sws;
      if (per_location)
        summary +=
            " in at least " + std::to_string(quorum) + (quorum == 1 ? " location" : " locations");
      std::string description;
      if (s.kind == SliKind::run_latency) {
        description = "More than " + fmt(error_percent) + "% of the good and timed-out runs of "
                      "journey " + j.name + " took longer than " + ms_text(s.threshold_ms) +
                      " or timed out over the last " + lws + " and the last " + sws + where + ".";
      } else if (s.kind == SliKind::availability) {
        description = "More than " + fmt(error_percent) + "% of the valid runs of journey " +
                      j.name + " (good or bad; invalid runs do not count) failed over the last " +
                      lws + " and the last " + sws + where + ".";
      } else {
        description = "More than " + fmt(error_percent) + "% of the answers of step " + s.step +
                      " in journey " + j.name + " took longer than " + ms_text(s.threshold_ms) +
                      " over the last " + lws + " and the last " + sws + where + ".";
      }
      const Duration exhaustion =
          std::chrono::duration_cast<Duration>(std::chrono::duration<long double>(
              std::chrono::duration<long double>(slo.window).count() / a.burn_rate));
      description += " The SLO allows " + fmt(100 - s.target) + "% over " + window_text + "; at " +
                     fmt(a.burn_rate) + "x that budget lasts " + prom_duration(exhaustion) +
                     ", and about " +
                     fmt(a.burn_rate * 100 *
                             (std::chrono::duration<double>(lw).count() /
                              std::chrono::duration<double>(slo.window).count()),
                         3) +
                     "% of it is spent by the time this fires.";
      if (s.kind == SliKind::run_latency)
        description +=
            " Find the slow step: compare prober_step_latency_seconds of its steps, and "
            "prober_journey_duration_seconds across locations; timeouts are in "
            "prober_step_bad_total{reason=\"timeout\"}.";
      else if (s.kind == SliKind::availability)
        description += " Find the failing step and reason: prober_step_bad_total{journey=\"" +
                       j.name +
                       "\"} by step, location and reason, or the prober's 'run failed' "
                       "log lines.";
      else
        description +=
            " Compare prober_step_latency_seconds of the step across locations, then "
            "the target's own latency and saturation.";
      description += per_location
                         ? " Locations below the quorum do not alert: see " + ratio_name(true, lw) +
                               " for each location."
                         : " If a single location fails, suspect its network before the service.";
      description += std::string(a.severity) == "page"
                         ? " Pages: act now."
                         : " A ticket: fix it within days, before the budget runs out.";
      if (error_percent >= 100)
        g.comments.push_back("journey '" + j.name + "', " + s.slo + ": the " + fmt(a.burn_rate) +
                             "x alert needs an error ratio above " + fmt(error_percent) +
                             "%, so it never fires with a target of " + fmt(s.target) + "%");
      r.annotations = {{"description", description}, {"summary", summary}};
      g.rules.push_back(std::move(r));
    }
  }
  return g;
}

std::vector<RuleGroup> rules_for(const std::vector<journeys::JourneyPtr>& journeys,
                                 const RulesOptions& options) {
  std::vector<journeys::JourneyPtr> sorted = journeys;
  std::sort(sorted.begin(), sorted.end(),
            [](const journeys::JourneyPtr& a, const journeys::JourneyPtr& b) {
              return a->name < b->name;
            });
  std::vector<RuleGroup> groups;
  std::vector<journeys::Diagnostic> errors;
  for (const auto& j : sorted) {
    try {
      groups.push_back(journey_rules(*j, options));
    } catch (const journeys::LoadError& e) {
      errors.insert(errors.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!errors.empty()) throw journeys::LoadError(std::move(errors));
  return groups;
}

namespace {

void write_block(std::string& out, const std::string& indent, const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    out += indent + line + "\n";
}

void write_pairs(std::string& out, const char* key, const Pairs& pairs) {
  if (pairs.empty()) return;
  out += "        ";
  out += key;
  out += ":\n";
  for (const auto& [k, v] : pairs)
    out += "          " + k + ": " + yaml_quote(v) + "\n";
}

}  // namespace

std::string render_rules_yaml(const std::vector<RuleGroup>& groups, const RulesOptions& options) {
  std::string out =
      "# Prometheus rules from the journeys' SLOs, written by `prober rules`: regenerate rather\n"
      "# than edit. Multiwindow, multi-burn-rate alerts after the Google SRE workbook; for a\n"
      "# 30-day SLO: page at 14.4x over 1h and 5m or 6x over 6h and 30m, ticket at 3x over 1d\n"
      "# and 2h or 1x over 3d and 6h. Other SLO windows scale every window by window / 30d\n"
      "# (rounded to the second, at least 1m); the burn rates stay.\n";
  if (options.quorum > 0)
    out += "# Quorum: an alert needs at least " + std::to_string(options.quorum) +
           " locations burning, each judged on its own error ratio.\n";
  else
    out += "# No quorum: error ratios over all locations together.\n";

  bool any = false;
  for (const RuleGroup& g : groups)
    any = any || !g.rules.empty();
  if (!any) {
    out += "groups: []\n";
    for (const RuleGroup& g : groups)
      for (const std::string& c : g.comments)
        out += "# " + c + "\n";
    return out;
  }
  out += "groups:\n";
  for (const RuleGroup& g : groups) {
    for (const std::string& c : g.comments)
      out += "  # " + c + "\n";
    if (g.rules.empty()) continue;
    out += "  - name: " + yaml_quote(g.name) + "\n    rules:\n";
    for (const Rule& r : g.rules) {
      if (!r.record.empty())
        out += "      - record: " + r.record + "\n";
      else
        out += "      - alert: " + r.alert + "\n";
      out += "        expr: |-\n";
      write_block(out, "          ", r.expr);
      write_pairs(out, "labels", r.labels);
      write_pairs(out, "annotations", r.annotations);
    }
  }
  return out;
}

}  // namespace prober::report
