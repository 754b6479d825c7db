// The report as one self-contained HTML page: inline CSS and inline SVG drawn here, no script and
// nothing fetched at view time. Every plot element carries its numbers in data-* attributes
// (unrounded, as in the model) and a <title> tooltip; the integration test reads them back from
// the DOM Chromium builds (tests/integration/report_html_test.cpp).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string_view>

#include "journeys/duration.hpp"
#include "prober/record/event.hpp"
#include "prober/report/render.hpp"

namespace prober::report {
namespace {

// Chart geometry (SVG user units).
constexpr double kW = 560, kH = 230;
constexpr double kLeft = 52, kRight = 14, kTop = 14, kBottom = 30;
constexpr double kPlotW = kW - kLeft - kRight, kPlotH = kH - kTop - kBottom;

constexpr const char* kPalette[] = {"#2563eb", "#d97706", "#7c3aed", "#0891b2",
                                    "#db2777", "#65a30d", "#475569", "#dc2626"};
constexpr const char* kGood = "#16a34a";
constexpr const char* kBad = "#dc2626";

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A number for data-* attributes and coordinates: up to 6 decimals, trailing zeros dropped.
std::string num(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  std::string s = buf;
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string num(std::uint64_t v) {
  return std::to_string(v);
}

std::string opt_num(const std::optional<double>& v) {
  return v ? num(*v) : std::string();
}

std::string attr(std::string_view name, std::string_view value) {
  return " data-" + std::string(name) + "=\"" + esc(value) + "\"";
}

std::string time_of(std::int64_t unix_ms) {
  return record::format_time(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)));
}

// "2027-01-15 07:48 UTC" for people.
std::string short_time(std::int64_t unix_ms) {
  std::string t = time_of(unix_ms);
  return t.substr(0, 10) + " " + t.substr(11, 5) + " UTC";
}

std::string length_of(std::int64_t ms) {
  return journeys::format_duration(std::chrono::milliseconds(ms));
}

const char* color_of(std::size_t i) {
  return kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
}

// The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten that is >= v (> 0):
// a scale whose half and end are round numbers.
double nice_ceiling(double v) {
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0})
    if (m * p >= v) return m * p;
  return 10 * p;
}

std::string svg_open(std::string_view cls, std::string_view label, double h = kH) {
  return "<svg class=\"plot " + std::string(cls) + "\" viewBox=\"0 0 " + num(kW) + " " + num(h) +
         "\" width=\"" + num(kW) + "\" height=\"" + num(h) +
         "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"" + esc(label) + "\">";
}

// Horizontal grid line with its label at the left.
std::string grid(double y, const std::string& label) {
  return "<line class=\"grid\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kW - kRight) + "\" y1=\"" +
         num(y) + "\" y2=\"" + num(y) + "\"/><text class=\"axis\" x=\"" + num(kLeft - 6) +
         "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" + esc(label) + "</text>";
}

std::string no_data(double h = kH) {
  return "<text class=\"nodata\" x=\"" + num(kW / 2) + "\" y=\"" + num(h / 2) +
         "\" text-anchor=\"middle\">no valid runs in the window</text>";
}

double bucket_x(std::size_t b, std::size_t n) {
  return kLeft + (static_cast<double>(b) + 0.5) / static_cast<double>(n) * kPlotW;
}

// Time axis labels: the window's start, middle and end.
std::string time_axis(const JourneyReport& j) {
  std::string out;
  const double y = kH - kBottom + 18;
  const std::int64_t until = j.since_ms + j.window_ms;
  const struct {
    double x;
    std::int64_t at;
    const char* anchor;
  } marks[] = {{kLeft, j.since_ms, "start"},
               {kLeft + kPlotW / 2, j.since_ms + j.window_ms / 2, "middle"},
               {kW - kRight, until, "end"}};
  for (const auto& m : marks)
    out += "<text class=\"axis\" x=\"" + num(m.x) + "\" y=\"" + num(y) + "\" text-anchor=\"" +
           m.anchor + "\">" + esc(short_time(m.at)) + "</text>";
  return out;
}

std::string sli_plot(const JourneyReport& j) {
  std::ostringstream o;
  o << svg_open("sli-plot", "SLI over time of " + j.name);
  o << "<title>" << esc("Run SLI per " + length_of(j.bucket_ms) + " bucket and location") << "</title>";
  // A pointer: GCC 12 misreads a copied optional<double> as maybe-uninitialized (-Werror).
  const double* target = j.availability ? &j.availability->target : nullptr;
  double lowest = target ? *target : 100;
  bool any = false;
  for (const LocationSeries& s : j.series)
    for (const Bucket& b : s.buckets)
      if (auto sli = b.runs.sli()) {
        lowest = std::min(lowest, *sli);
        any = true;
      }
  const double lo = any ? std::max(0.0, 100 - std::max(1.0, (100 - lowest) * 1.15)) : 0;
  auto y_of = [&](double sli) { return kTop + (100 - sli) / (100 - lo) * kPlotH; };
  o << grid(y_of(100), "100%") << grid(y_of((100 + lo) / 2), num((100 + lo) / 2) + "%")
    << grid(y_of(lo), num(lo) + "%");
  o << time_axis(j);
  if (target)
    o << "<line class=\"target\" x1=\"" << num(kLeft) << "\" x2=\"" << num(kW - kRight)
      << "\" y1=\"" << num(y_of(*target)) << "\" y2=\"" << num(y_of(*target)) << "\""
      << attr("target", num(*target)) << "><title>" << esc("SLO " + format_percent_floor(*target))
      << "</title></line>";
  if (!any) o << no_data();
  for (std::size_t li = 0; li < j.series.size(); ++li) {
    const LocationSeries& s = j.series[li];
    const char* color = color_of(li);
    std::string points;
    for (std::size_t b = 0; b < s.buckets.size(); ++b)
      if (auto sli = s.buckets[b].runs.sli())
        points += num(bucket_x(b, s.buckets.size())) + "," + num(y_of(*sli)) + " ";
    if (!points.empty())
      o << "<polyline class=\"series\"" << attr("location", s.location) << " points=\"" << points
        << "\" stroke=\"" << color << "\"/>";
    for (std::size_t b = 0; b < s.buckets.size(); ++b) {
      const Bucket& bk = s.buckets[b];
      auto sli = bk.runs.sli();
      if (!sli) continue;
      o << "<circle class=\"point\" cx=\"" << num(bucket_x(b, s.buckets.size())) << "\" cy=\""
        << num(y_of(*sli)) << "\" r=\"4\" fill=\"" << color << "\"" << attr("location", s.location)
        << attr("bucket", std::to_string(b)) << attr("start", time_of(bk.start_ms))
        << attr("valid", num(bk.runs.valid())) << attr("good", num(bk.runs.good))
        << attr("sli", num(*sli)) << "><title>"
        << esc(s.location + " from " + short_time(bk.start_ms) + ": " +
               format_percent_floor(sli) + " (" + num(bk.runs.good) + " of " +
               num(bk.runs.valid()) + " runs good)")
        << "</title></circle>";
    }
  }
  o << "</svg>";
  return o.str();
}

std::string legend(const JourneyReport& j) {
  std::string out = "<div class=\"legend\">";
  for (std::size_t li = 0; li < j.series.size(); ++li)
    out += "<span><i style=\"background:" + std::string(color_of(li)) + "\"></i>" +
           esc(j.series[li].location) + "</span>";
  if (j.availability) out += "<span><i class=\"dash\"></i>SLO</span>";
  return out + "</div>";
}

std::string budget_plot(const JourneyReport& j) {
  std::ostringstream o;
  o << svg_open("budget-plot", "Error budget of " + j.name);
  o << "<title>Error budget left, cumulative from the window's start</title>";
  double lowest = 0;
  bool any = false;
  for (const Bucket& b : j.buckets)
    if (b.budget_remaining) {
      lowest = std::min(lowest, *b.budget_remaining * 100);
      any = true;
    }
  const double lo = lowest < 0 ? lowest * 1.1 : 0;
  auto y_of = [&](double pct) { return kTop + (100 - pct) / (100 - lo) * kPlotH; };
  // A budget overspent many times over puts 100 % and 0 % a few units apart: keep the 0 % label.
  o << grid(y_of(100), y_of(0) - y_of(100) < 14 ? "" : "100%") << grid(y_of(0), "0%");
  if (lo < 0) o << grid(y_of(lo), num(std::round(lo)) + "%");
  o << time_axis(j);
  if (!j.availability) {
    o << "<text class=\"nodata\" x=\"" << num(kW / 2) << "\" y=\"" << num(kH / 2)
      << "\" text-anchor=\"middle\">no availability SLO</text></svg>";
    return o.str();
  }
  if (!any) o << no_data();
  std::string points;
  for (std::size_t b = 0; b < j.buckets.size(); ++b)
    if (j.buckets[b].budget_remaining)
      points += num(bucket_x(b, j.buckets.size())) + "," +
                num(y_of(*j.buckets[b].budget_remaining * 100)) + " ";
  if (!points.empty()) o << "<polyline class=\"budget\" points=\"" << points << "\"/>";
  for (std::size_t b = 0; b < j.buckets.size(); ++b) {
    const Bucket& bk = j.buckets[b];
    if (!bk.budget_remaining) continue;
    const bool spent = *bk.budget_remaining < 0;
    o << "<circle class=\"point\" cx=\"" << num(bucket_x(b, j.buckets.size())) << "\" cy=\""
      << num(y_of(*bk.budget_remaining * 100)) << "\" r=\"4\" fill=\"" << (spent ? kBad : kGood)
      << "\"" << attr("bucket", std::to_string(b)) << attr("start", time_of(bk.start_ms))
      << attr("budget-remaining", num(*bk.budget_remaining)) << "><title>"
      << esc("until " + short_time(bk.start_ms + j.bucket_ms) + ": budget left " +
             format_budget(bk.budget_remaining))
      << "</title></circle>";
  }
  o << "</svg>";
  return o.str();
}

std::string funnel_plot(const JourneyReport& j) {
  const double row = 38;
  const double h = std::max(60.0, kTop + row * static_cast<double>(j.funnel.size()) + 10);
  const double left = 144, width = kW - left - 150;  // room for "completePurchase"
  std::ostringstream o;
  o << svg_open("funnel-plot", "Step funnel of " + j.name, h);
  o << "<title>Of the valid runs: how many reached each step and how many passed it</title>";
  std::uint64_t top = 0;
  for (const FunnelStage& f : j.funnel)
    top = std::max(top, f.reached);
  for (std::size_t i = 0; i < j.funnel.size(); ++i) {
    const FunnelStage& f = j.funnel[i];
    const double y = kTop + row * static_cast<double>(i);
    const double wr = top ? width * static_cast<double>(f.reached) / static_cast<double>(top) : 0;
    const double wp = top ? width * static_cast<double>(f.passed) / static_cast<double>(top) : 0;
    const std::string tip = f.step + ": " + num(f.reached) + " reached, " + num(f.passed) +
                            " passed" +
                            (f.reached ? " (" +
                                             format_percent_floor(100.0 * static_cast<double>(f.passed) /
                                                                  static_cast<double>(f.reached)) +
                                             ")"
                                       : std::string());
    o << "<g class=\"stage\"" << attr("step", f.step) << "><title>" << esc(tip) << "</title>";
    o << "<text class=\"label\" x=\"" << num(left - 8) << "\" y=\"" << num(y + 17)
      << "\" text-anchor=\"end\">" << esc(f.step) << "</text>";
    o << "<rect class=\"track\" x=\"" << num(left) << "\" y=\"" << num(y + 4) << "\" width=\""
      << num(width) << "\" height=\"22\" rx=\"4\"/>";
    o << "<rect class=\"reached\" x=\"" << num(left) << "\" y=\"" << num(y + 4) << "\" width=\""
      << num(wr) << "\" height=\"22\" rx=\"4\"" << attr("step", f.step)
      << attr("reached", num(f.reached)) << attr("passed", num(f.passed)) << "><title>"
      << esc(tip) << "</title></rect>";
    o << "<rect class=\"passed\" x=\"" << num(left) << "\" y=\"" << num(y + 4) << "\" width=\""
      << num(wp) << "\" height=\"22\" rx=\"4\"" << attr("step", f.step)
      << attr("passed", num(f.passed)) << "><title>" << esc(tip) << "</title></rect>";
    o << "<text class=\"value\" x=\"" << num(left + width + 8) << "\" y=\"" << num(y + 19)
      << "\">" << num(f.passed) << " / " << num(f.reached) << " passed</text></g>";
  }
  if (j.funnel.empty()) o << no_data(h);
  o << "</svg>";
  return o.str();
}

std::string latency_plot(const JourneyReport& j) {
  const double group = 62;
  const double left = 144, width = kW - left - 70;
  const double h = kTop + group * static_cast<double>(j.steps.size()) + 24;
  double top = 1;
  for (const StepReport& s : j.steps)
    top = std::max({top, s.latency.max.value_or(0), s.latency.threshold_ms.value_or(0)});
  top = nice_ceiling(top * 1.04);
  auto x_of = [&](double ms) { return left + ms / top * width; };
  std::ostringstream o;
  o << svg_open("latency-plot", "Latency per step of " + j.name, h);
  o << "<title>Latency percentiles per step (valid answered events); red: the threshold</title>";
  // Scale: 0, half, top.
  for (double ms : {0.0, top / 2, top}) {
    const double x = x_of(ms);
    o << "<line class=\"grid\" x1=\"" << num(x) << "\" x2=\"" << num(x) << "\" y1=\""
      << num(kTop) << "\" y2=\"" << num(h - 20) << "\"/><text class=\"axis\" x=\"" << num(x)
      << "\" y=\"" << num(h - 6) << "\" text-anchor=\"middle\">" << esc(format_ms(std::round(ms)))
      << "</text>";
  }
  const struct {
    const char* name;
    const char* color;
  } kinds[] = {{"p50", "#93c5fd"}, {"p90", "#3b82f6"}, {"p99", "#1e40af"}, {"max", "#94a3b8"}};
  for (std::size_t i = 0; i < j.steps.size(); ++i) {
    const StepReport& s = j.steps[i];
    const Latency& l = s.latency;
    const double y = kTop + group * static_cast<double>(i);
    o << "<g class=\"step-latency\"" << attr("step", s.name) << attr("count", num(l.count))
      << attr("over-threshold", num(l.over_threshold)) << ">";
    o << "<text class=\"label\" x=\"" << num(left - 8) << "\" y=\"" << num(y + 24)
      << "\" text-anchor=\"end\">" << esc(s.name) << "</text>";
    o << "<text class=\"sub\" x=\"" << num(left - 8) << "\" y=\"" << num(y + 38)
      << "\" text-anchor=\"end\">" << num(l.count) << " answers</text>";
    const std::optional<double> values[] = {l.p50, l.p90, l.p99, l.max};
    for (std::size_t k = 0; k < 4; ++k) {
      const double by = y + 4 + 12 * static_cast<double>(k);
      if (!values[k]) continue;
      const bool over = l.threshold_ms && *values[k] > *l.threshold_ms;
      o << "<rect class=\"pct\" x=\"" << num(left) << "\" y=\"" << num(by) << "\" width=\""
        << num(std::max(1.0, x_of(*values[k]) - left)) << "\" height=\"10\" rx=\"2\" fill=\""
        << (over && k < 3 ? "#f87171" : kinds[k].color) << "\"" << attr("step", s.name)
        << attr("percentile", kinds[k].name) << attr("ms", num(*values[k])) << "><title>"
        << esc(s.name + " " + kinds[k].name + ": " + format_ms(values[k])) << "</title></rect>";
      o << "<text class=\"tick\" x=\"" << num(x_of(*values[k]) + 4) << "\" y=\"" << num(by + 9)
        << "\">" << kinds[k].name << " " << esc(format_ms(values[k])) << "</text>";
    }
    if (!l.count)
      o << "<text class=\"sub\" x=\"" << num(left + 4) << "\" y=\"" << num(y + 24)
        << "\">no answers</text>";
    if (l.threshold_ms) {
      const double x = x_of(*l.threshold_ms);
      o << "<line class=\"threshold\" x1=\"" << num(x) << "\" x2=\"" << num(x) << "\" y1=\""
        << num(y) << "\" y2=\"" << num(y + 54) << "\"" << attr("step", s.name)
        << attr("threshold-ms", num(*l.threshold_ms)) << "><title>"
        << esc(s.name + " threshold " + format_ms(l.threshold_ms) + ": " +
               num(l.over_threshold) + " of " + num(l.count) + " slower")
        << "</title></line>";
    }
    o << "</g>";
  }
  o << "</svg>";
  return o.str();
}

std::string tile(const std::string& label, const std::string& value, const std::string& sub,
                 const std::string& cls, const std::string& data) {
  return "<div class=\"tile " + cls + "\"" + data + "><div class=\"tl\">" + esc(label) +
         "</div><div class=\"tv\">" + esc(value) + "</div><div class=\"ts\">" + esc(sub) +
         "</div></div>";
}

std::string objective_tiles(const std::string& what, const Objective& o) {
  const std::string state = !o.sli ? "none" : o.met() ? "ok" : "bad";
  std::string data = attr("kind", o.kind) + attr("sli", opt_num(o.sli)) +
                     attr("target", num(o.target)) + attr("valid", num(o.valid)) +
                     attr("good", num(o.good)) +
                     attr("budget-remaining", opt_num(o.budget_remaining)) +
                     attr("burn-rate", opt_num(o.burn_rate));
  if (o.threshold_ms) data += attr("threshold-ms", num(*o.threshold_ms));
  std::string out = "<div class=\"objective\"" + data + ">";
  out += tile(what, format_percent_floor(o.sli),
              "SLO " + format_percent_floor(o.target) + " · " + num(o.good) + " of " +
                  num(o.valid) + " good",
              state, "");
  const std::string bstate =
      !o.budget_remaining ? "none" : *o.budget_remaining < 0 ? "bad" : "ok";
  out += tile("error budget left", format_budget(o.budget_remaining), "of the window's allowance",
              bstate, "");
  const std::string rstate = !o.burn_rate ? "none" : *o.burn_rate > 1 ? "bad" : "ok";
  out += tile("burn rate", format_burn(o.burn_rate), "1x spends it over the window", rstate, "");
  return out + "</div>";
}

void render_journey(std::ostream& out, const JourneyReport& j) {
  out << "<section class=\"journey\"" << attr("journey", j.name) << ">\n<header><h2>"
      << esc(j.name) << "</h2>";
  if (!j.cuj.empty()) {
    out << "<span class=\"chip\">CUJ " << esc(j.cuj);
    if (j.cuj_rank) out << " · rank " << *j.cuj_rank;
    out << "</span>";
  }
  if (!j.cuj_owner.empty()) out << "<span class=\"chip\">" << esc(j.cuj_owner) << "</span>";
  out << "<span class=\"chip\">window " << esc(length_of(j.window_ms)) << " from "
      << esc(short_time(j.since_ms)) << "</span></header>\n";
  if (!j.description.empty()) out << "<p class=\"desc\">" << esc(j.description) << "</p>\n";
  out << "<p class=\"runs\"" << attr("valid", num(j.runs.valid())) << attr("good", num(j.runs.good))
      << attr("bad", num(j.runs.bad)) << attr("invalid", num(j.runs.invalid)) << ">"
      << num(j.runs.valid()) << " valid runs: " << num(j.runs.good) << " good, " << num(j.runs.bad)
      << " bad; " << num(j.runs.invalid) << " invalid</p>\n";
  out << "<div class=\"tiles\">";
  if (j.availability) out << objective_tiles("availability SLI", *j.availability);
  if (j.latency_slo)
    out << objective_tiles("runs within " + format_ms(j.latency_slo->threshold_ms),
                           *j.latency_slo);
  for (const StepReport& s : j.steps)
    if (s.latency_slo)
      out << objective_tiles(s.name + " within " + format_ms(s.latency_slo->threshold_ms),
                             *s.latency_slo);
  if (!j.availability && !j.latency_slo)
    out << "<div class=\"tile none\"><div class=\"tl\">no SLO</div><div class=\"tv\">"
        << esc(format_percent_floor(j.runs.sli())) << "</div><div class=\"ts\">runs good</div>"
        << "</div>";
  out << "</div>\n<div class=\"grid2\">\n";
  out << "<figure><figcaption>SLI over time, per location (" << esc(length_of(j.bucket_ms))
      << " buckets)</figcaption>" << sli_plot(j) << legend(j) << "</figure>\n";
  out << "<figure><figcaption>Error budget left over the window</figcaption>" << budget_plot(j)
      << "</figure>\n";
  out << "<figure><figcaption>Step funnel</figcaption>" << funnel_plot(j) << "</figure>\n";
  out << "<figure><figcaption>Latency per step, threshold in red</figcaption>" << latency_plot(j)
      << "</figure>\n</div>\n";
  if (!j.top_reasons.empty()) {
    out << "<table class=\"reasons\"><thead><tr><th>step</th><th>reason</th><th>count</th>"
           "<th>latest example</th></tr></thead><tbody>";
    for (const FailureReason& r : j.top_reasons)
      out << "<tr" << attr("step", r.step) << attr("reason", r.reason)
          << attr("count", num(r.count)) << "><td>" << esc(r.step) << "</td><td>"
          << esc(r.reason) << "</td><td class=\"n\">" << num(r.count) << "</td><td>"
          << esc(r.example) << " <span class=\"muted\">" << esc(r.example_location) << ", "
          << esc(short_time(r.example_at_ms)) << "</span></td></tr>";
    out << "</tbody></table>\n";
  }
  out << "</section>\n";
}

constexpr const char* kStyle = R"css(
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--card:#fff;--bg:#f1f5f9;--ok:#16a34a;--bad:#dc2626}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px}
.top{background:linear-gradient(135deg,#1e293b,#334155);color:#f8fafc;padding:22px 24px;border-radius:14px;margin-bottom:20px}
.top h1{margin:0 0 6px;font-size:22px;font-weight:650}
.top .meta{color:#cbd5e1;font-size:13px}
.top .meta b{color:#f8fafc;font-weight:600}
.journey{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:20px 22px;margin-bottom:20px;box-shadow:0 1px 3px rgba(15,23,42,.06)}
.journey header{display:flex;align-items:center;gap:8px;flex-wrap:wrap}
.journey h2{margin:0 8px 0 0;font-size:19px}
.chip{background:#f1f5f9;border:1px solid var(--line);border-radius:999px;padding:2px 10px;font-size:12px;color:#334155}
.desc{margin:6px 0 0;color:var(--muted)}
.runs{margin:6px 0 12px;color:var(--muted);font-size:13px}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:14px}
.objective{display:flex;gap:8px}
.tile{min-width:150px;border:1px solid var(--line);border-left:4px solid #94a3b8;border-radius:10px;padding:8px 12px;background:#fafafa}
.tile.ok{border-left-color:var(--ok)}.tile.bad{border-left-color:var(--bad)}
.tile.ok .tv{color:var(--ok)}.tile.bad .tv{color:var(--bad)}
.tl{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.tv{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
.ts{font-size:12px;color:var(--muted)}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:14px}
figure{margin:0;border:1px solid var(--line);border-radius:10px;padding:10px 12px}
figcaption{font-weight:600;font-size:13px;margin-bottom:4px}
svg.plot{width:100%;height:auto;display:block}
svg text{font-family:inherit}
.axis{font-size:10px;fill:var(--muted)}
.grid{stroke:var(--line);stroke-width:1}
.target{stroke:var(--bad);stroke-width:1.5;stroke-dasharray:6 4}
.series{fill:none;stroke-width:2;stroke-linejoin:round}
.budget{fill:none;stroke:#0f172a;stroke-width:2}
.point{stroke:#fff;stroke-width:1.5}
.nodata{fill:var(--muted);font-size:13px;font-style:italic}
.track{fill:#f1f5f9}
.reached{fill:#cbd5e1}
.passed{fill:var(--ok)}
.label{font-size:12px;fill:var(--fg);font-weight:600}
.value,.tick,.sub{font-size:11px;fill:var(--muted)}
.threshold{stroke:var(--bad);stroke-width:2;stroke-dasharray:4 3}
.legend{display:flex;gap:14px;font-size:12px;color:var(--muted);margin-top:2px}
.legend i{display:inline-block;width:12px;height:4px;border-radius:2px;margin-right:5px;vertical-align:middle}
.legend i.dash{background:repeating-linear-gradient(90deg,var(--bad) 0 4px,transparent 4px 7px)}
table{border-collapse:collapse;width:100%;margin-top:14px;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:600}
td.n{font-variant-numeric:tabular-nums;text-align:right}
.muted{color:var(--muted);font-size:12px}
.gaps li{margin:4px 0}
.gaps code{background:#fef3c7;border-radius:4px;padding:0 5px;font-size:12px}
)css";

}  // namespace

void render_html(std::ostream& out, const Report& report, std::int64_t generated_at_ms) {
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
         "<title>prober report until "
      << esc(short_time(report.until_ms)) << "</title><style>" << kStyle
      << "</style></head>\n<body><main>\n";
  out << "<div class=\"top\"" << attr("until", time_of(report.until_ms))
      << attr("generated-at", time_of(generated_at_ms)) << "><h1>SLO report</h1><div class=\"meta\">"
      << "window <b>"
      << esc(report.since_window_ms ? "last " + length_of(*report.since_window_ms)
                                    : std::string("each journey's SLO window"))
      << "</b> until <b>" << esc(short_time(report.until_ms)) << "</b> · generated <b>"
      << esc(short_time(generated_at_ms)) << "</b> · " << report.journeys.size()
      << " journeys · store <b>" << esc(report.db) << "</b>";
  if (!report.catalog.empty()) out << " · CUJs <b>" << esc(report.catalog) << "</b>";
  out << "</div></div>\n";
  for (const JourneyReport& j : report.journeys)
    render_journey(out, j);
  if (!report.gaps.empty()) {
    out << "<section class=\"journey gaps\"><header><h2>Coverage gaps</h2><span class=\"chip\">"
        << report.gaps.size() << "</span></header><ul>";
    for (const Gap& g : report.gaps) {
      out << "<li" << attr("kind", g.kind) << "><code>" << esc(g.kind) << "</code> "
          << esc(g.message);
      if (!g.pos.file.empty())
        out << " <span class=\"muted\">" << esc(g.pos.file) << ":" << g.pos.line << ":"
            << g.pos.column << "</span>";
      out << "</li>";
    }
    out << "</ul></section>\n";
  }
  out << "</main></body></html>\n";
}

}  // namespace prober::report
