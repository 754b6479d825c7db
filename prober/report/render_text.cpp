// The report for a terminal: one block per journey in CUJ rank order (runs per location, steps
// per location with latency against the threshold, the funnel, the top failure reasons), then
// the coverage gaps. Colour only marks what needs attention; without a TTY it is plain text.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "journeys/duration.hpp"
#include "prober/record/event.hpp"
#include "prober/report/render.hpp"

namespace prober::report {
namespace {

constexpr const char* kRed = "\033[31m";
constexpr const char* kGreen = "\033[32m";
constexpr const char* kYellow = "\033[33m";
constexpr const char* kBold = "\033[1m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kReset = "\033[0m";

std::string time_of(std::int64_t unix_ms) {
  return record::format_time(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)));
}

// Terminal columns of UTF-8 text: one per code point (names are rarely wider).
std::size_t width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

struct Cell {
  Cell(std::string t, const char* c = nullptr) : text(std::move(t)), color(c) {}
  std::string text;
  const char* color;
};

// Columns padded to their widest cell; the first `left` columns align left, the rest right
// (numbers). Colour codes go around the padded text so they never shift the columns.
class Table {
 public:
  Table(std::vector<std::string> header, std::size_t left) : left_(left) {
    std::vector<Cell> row;
    for (auto& h : header)
      row.push_back(Cell{std::move(h), nullptr});
    rows_.push_back(std::move(row));
  }
  void add(std::vector<Cell> row) { rows_.push_back(std::move(row)); }

  void print(std::ostream& out, const std::string& indent, bool color) const {
    std::vector<std::size_t> w;
    for (const auto& row : rows_)
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (w.size() <= i) w.push_back(0);
        w[i] = std::max(w[i], width(row[i].text));
      }
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      std::string line = indent;
      for (std::size_t i = 0; i < rows_[r].size(); ++i) {
        const Cell& c = rows_[r][i];
        std::string pad(w[i] - width(c.text), ' ');
        bool last = i + 1 == rows_[r].size();
        std::string text = i < left_ ? c.text + (last ? "" : pad) : pad + c.text;
        const char* code = r == 0 ? kDim : c.color;
        if (color && code) text = std::string(code) + text + kReset;
        line += text;
        if (!last) line += "  ";
      }
      // The last column's padding (a funnel bar) must not leave trailing blanks.
      while (!line.empty() && line.back() == ' ')
        line.pop_back();
      out << line << '\n';
    }
  }

 private:
  std::size_t left_;
  std::vector<std::vector<Cell>> rows_;
};

const char* sli_color(const std::optional<Objective>& o) {
  if (!o || !o->sli) return nullptr;
  return o->met() ? kGreen : kRed;
}

std::string count(std::uint64_t n) {
  return std::to_string(n);
}

// One runs/steps row's SLI columns: SLI, SLO, budget, burn.
void add_slo_cells(std::vector<Cell>& row, std::optional<double> sli,
                   const std::optional<Objective>& o) {
  row.push_back(Cell{format_percent_floor(sli), sli_color(o)});
  if (o) {
    row.push_back(Cell{format_percent_floor(o->target)});
    row.push_back(Cell{format_budget(o->budget_remaining), sli_color(o)});
    row.push_back(Cell{format_burn(o->burn_rate), sli_color(o)});
  } else {
    row.insert(row.end(), {Cell{"-"}, Cell{"-"}, Cell{"-"}});
  }
}

void add_latency_cells(std::vector<Cell>& row, const Latency& l) {
  row.push_back(Cell{format_ms(l.p50)});
  row.push_back(Cell{format_ms(l.p90)});
  const char* over = l.threshold_ms && l.p99 && *l.p99 > *l.threshold_ms ? kRed : nullptr;
  row.push_back(Cell{format_ms(l.p99), over});
  row.push_back(Cell{format_ms(l.threshold_ms)});
  row.push_back(
      Cell{l.threshold_ms ? count(l.over_threshold) : "-", l.over_threshold ? kYellow : nullptr});
}

// "▁ 25.00% … █ 100%": the scale of spark().
std::string spark_legend(double lo) {
  return "▁ " + format_percent_floor(lo) + " … █ 100%";
}

std::string objective_line(const std::string& what, const Objective& o) {
  std::string line = what + ": " + format_percent_floor(o.sli) + " of " + count(o.valid) +
                     " (good " + count(o.good) + "), SLO " + format_percent_floor(o.target) +
                     ", budget left " + format_budget(o.budget_remaining) + ", burn " +
                     format_burn(o.burn_rate);
  return line;
}

// The run SLI of each bucket as one character: "·" without a valid run, "█" at 100 %, else
// "▁" to "▇" in equal steps from `lo` (the scale's floor) up to 100 %.
std::string spark(const std::vector<Bucket>& buckets, double lo) {
  static const char* const kBars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::string out;
  for (const Bucket& b : buckets) {
    const std::optional<double> sli = b.runs.sli();
    if (!sli) {
      out += "·";
      continue;
    }
    if (b.runs.good == b.runs.valid()) {
      out += kBars[7];
      continue;
    }
    const double step = std::floor((*sli - lo) / (100 - lo) * 7);
    out += kBars[static_cast<std::size_t>(std::clamp(step, 0.0, 6.0))];
  }
  return out;
}

// "44.44% (4 of 9 good) from T": the first bucket with the lowest SLI.
std::string lowest_bucket(const std::vector<Bucket>& buckets) {
  const Bucket* low = nullptr;
  for (const Bucket& b : buckets) {
    if (!b.runs.sli()) continue;
    if (!low || *b.runs.sli() < *low->runs.sli()) low = &b;
  }
  if (!low) return "no valid run";
  return format_percent_floor(low->runs.sli()) + " (" + std::to_string(low->runs.good) +
         " of " + std::to_string(low->runs.valid()) + " good) from " + time_of(low->start_ms);
}

// The run SLI over the window, per bucket (the HTML report's plot in one line per location),
// and where the error budget went.
void render_series(std::ostream& out, const JourneyReport& j, bool color) {
  double lo = j.availability ? j.availability->target : 100;
  bool any = false;
  for (const Bucket& b : j.buckets)
    if (auto sli = b.runs.sli()) {
      lo = std::min(lo, *sli);
      any = true;
    }
  for (const LocationSeries& s : j.series)
    for (const Bucket& b : s.buckets)
      if (auto sli = b.runs.sli()) lo = std::min(lo, *sli);
  if (!any) return;
  out << "  run SLI per " << journeys::format_duration(std::chrono::milliseconds(j.bucket_ms))
      << " bucket (" << spark_legend(lo) << ", · no valid run):\n";
  Table t({"runs", "oldest … newest", "lowest bucket"}, 3);
  t.add({Cell{"all locations"}, Cell{spark(j.buckets, lo)}, Cell{lowest_bucket(j.buckets)}});
  for (const LocationSeries& s : j.series)
    t.add({Cell{"  " + s.location}, Cell{spark(s.buckets, lo)}, Cell{lowest_bucket(s.buckets)}});
  t.print(out, "  ", color);
  if (!j.availability) return;
  const Bucket* spent = nullptr;
  const Bucket* last = nullptr;
  for (const Bucket& b : j.buckets) {
    if (!b.budget_remaining) continue;
    last = &b;
    if (!spent && *b.budget_remaining < 0) spent = &b;
  }
  if (!last) return;
  std::string line = "error budget left " + format_budget(last->budget_remaining) +
                     " at the end; " +
                     (spent ? "spent in the bucket from " + time_of(spent->start_ms)
                            : std::string("never spent in the window"));
  if (color && spent) line = kRed + line + kReset;
  out << "  " << line << '\n';
}

void render_journey(std::ostream& out, const JourneyReport& j, std::int64_t until_ms, bool color) {
  auto bold = [&](const std::string& s) { return color ? kBold + s + kReset : s; };
  std::string title = "journey " + j.name;
  if (!j.cuj.empty()) {
    title += "  CUJ " + j.cuj;
    if (j.cuj_rank) title += " (rank " + std::to_string(*j.cuj_rank) + ")";
    if (!j.cuj_owner.empty()) title += "  owner " + j.cuj_owner;
  }
  out << bold(title) << '\n';
  out << "  window " << journeys::format_duration(std::chrono::milliseconds(j.window_ms)) << ": "
      << time_of(j.since_ms) << " .. " << time_of(until_ms);
  if (!j.file.empty()) out << "  (" << j.file << ")";
  out << "\n\n";

  Table runs({"runs", "valid", "good", "invalid", "SLI", "SLO", "budget", "burn"}, 1);
  auto run_row = [&](const std::string& name, const Counts& c, const std::optional<Objective>& o) {
    std::vector<Cell> row{Cell{name}, Cell{count(c.valid())}, Cell{count(c.good)},
                          Cell{count(c.invalid)}};
    add_slo_cells(row, c.sli(), o);
    runs.add(std::move(row));
  };
  run_row("all locations", j.runs, j.availability);
  for (const JourneyLocation& l : j.locations)
    run_row("  " + l.location, l.runs, l.availability);
  runs.print(out, "  ", color);
  if (j.latency_slo)
    out << "  "
        << objective_line("run latency <= " + format_ms(j.latency_slo->threshold_ms),
                          *j.latency_slo)
        << '\n';
  out << '\n';
  render_series(out, j, color);
  if (j.runs.valid() > 0) out << '\n';

  Table steps({"step", "valid", "good", "skipped", "SLI", "SLO", "budget", "burn", "p50", "p90",
               "p99", "limit", "over"},
              1);
  auto step_row = [&](const std::string& name, const Counts& c, const Latency& l,
                      const std::optional<Objective>& o) {
    std::vector<Cell> row{Cell{name}, Cell{count(c.valid())}, Cell{count(c.good)},
                          Cell{count(c.skipped)}};
    add_slo_cells(row, c.sli(), o);
    add_latency_cells(row, l);
    steps.add(std::move(row));
  };
  for (const StepReport& s : j.steps) {
    step_row(s.name, s.counts, s.latency, s.availability);
    if (s.locations.size() > 1 || (s.locations.size() == 1 && j.locations.size() > 1))
      for (const StepLocation& l : s.locations)
        step_row("  " + l.location, l.counts, l.latency, l.availability);
  }
  steps.print(out, "  ", color);
  for (const StepReport& s : j.steps)
    if (s.latency_slo)
      out << "  "
          << objective_line(
                 "latency SLO " + s.name + " <= " + format_ms(s.latency_slo->threshold_ms),
                 *s.latency_slo)
          << '\n';
  out << '\n';

  if (!j.funnel.empty()) {
    Table funnel({"funnel", "reached", "passed", ""}, 1);
    const std::uint64_t first = j.funnel.front().reached;
    for (const FunnelStage& f : j.funnel) {
      // A bar of the runs that passed, out of the runs that reached the first step.
      std::size_t bar =
          first ? static_cast<std::size_t>(std::lround(20.0 * static_cast<double>(f.passed) /
                                                       static_cast<double>(first)))
                : 0;
      std::string bars;
      for (std::size_t i = 0; i < bar; ++i)
        bars += "#";
      funnel.add({Cell{f.step}, Cell{count(f.reached)}, Cell{count(f.passed)},
                  Cell{bars + std::string(20 - std::min<std::size_t>(bar, 20), ' ')}});
    }
    funnel.print(out, "  ", color);
    out << '\n';
  }

  if (!j.top_reasons.empty()) {
    Table reasons({"failures", "step", "reason", "latest example"}, 4);
    for (const FailureReason& r : j.top_reasons)
      reasons.add(
          {Cell{count(r.count), kRed}, Cell{r.step}, Cell{r.reason},
           Cell{r.example + "  (" + r.example_location + ", " + time_of(r.example_at_ms) + ")"}});
    reasons.print(out, "  ", color);
    out << '\n';
  }
}

}  // namespace

std::string format_percent_floor(std::optional<double> percent) {
  if (!percent) return "-";
  // Rounded down to 0.01 %: 99.999 % shows as 99.99 %, never as 100.00 %. The small epsilon
  // keeps 99.5 (stored as 99.4999…) at 99.50.
  double floored = std::floor(*percent * 100.0 + 1e-6) / 100.0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", floored);
  return buf;
}

std::string format_budget(std::optional<double> fraction) {
  if (!fraction) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", *fraction * 100.0);
  return buf;
}

std::string format_burn(std::optional<double> rate) {
  if (!rate) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", *rate);
  return buf;
}

std::string format_ms(std::optional<double> ms) {
  if (!ms) return "-";
  char buf[32];
  if (*ms >= 100 || *ms == std::floor(*ms))
    std::snprintf(buf, sizeof buf, "%.0f ms", *ms);
  else
    std::snprintf(buf, sizeof buf, "%.1f ms", *ms);
  return buf;
}

void render_text(std::ostream& out, const Report& report, bool color) {
  out << "SLO report from " << report.db << " until " << time_of(report.until_ms);
  if (report.since_window_ms)
    out << ", last "
        << journeys::format_duration(std::chrono::milliseconds(*report.since_window_ms));
  else
    out << ", each journey over its SLO window";
  if (!report.catalog.empty()) out << "; CUJ catalog " << report.catalog;
  out << "\n\n";

  if (!report.cujs.empty()) {
    Table cujs({"rank", "CUJ", "owner", "journeys"}, 4);
    for (const CujSummary& c : report.cujs) {
      std::string js;
      for (const std::string& j : c.journeys)
        js += (js.empty() ? "" : ", ") + j;
      cujs.add({Cell{std::to_string(c.rank)}, Cell{c.name}, Cell{c.owner.empty() ? "-" : c.owner},
                Cell{js.empty() ? "(none)" : js, js.empty() ? kYellow : nullptr}});
    }
    cujs.print(out, "", color);
    out << '\n';
  }

  for (const JourneyReport& j : report.journeys)
    render_journey(out, j, report.until_ms, color);

  out << (color ? std::string(kBold) : "") << "coverage gaps: " << report.gaps.size()
      << (color ? kReset : "") << '\n';
  if (!report.gaps.empty()) {
    Table gaps({"gap", "where", "what"}, 3);
    for (const Gap& g : report.gaps) {
      std::string where;
      if (!g.pos.file.empty())
        where = g.pos.file + ":" + std::to_string(g.pos.line) + ":" + std::to_string(g.pos.column);
      else if (!g.journey.empty())
        where = g.journey;
      else
        where = g.cuj;
      gaps.add({Cell{g.kind, kYellow}, Cell{where}, Cell{g.message}});
    }
    gaps.print(out, "  ", color);
  }
}

}  // namespace prober::report
