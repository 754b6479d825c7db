#include "prober/record/recorder.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

namespace prober::record {

std::vector<double> default_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

// ---------------------------------------------------------------------------------------------
// Histogram

Histogram::Histogram(std::vector<double> upper_bounds_seconds)
    : bounds_(std::move(upper_bounds_seconds)) {
  // The +Inf bucket is implicit (counts_.back()); an explicit one, a NaN or a duplicate would
  // make an empty bucket of zero width that the quantile interpolation divides by.
  std::erase_if(bounds_, [](double b) { return !std::isfinite(b); });
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double seconds) {
  if (std::isnan(seconds)) return;
  // Buckets are "less than or equal", as Prometheus' `le`: the first bound >= seconds.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), seconds);
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += seconds;
}

// Prometheus' bucketQuantile (promql/quantile.go) on cumulative counts:
//   rank = q * count; b = first finite bucket whose cumulative count >= rank (else +Inf);
//   +Inf bucket -> the last finite bound; the first bucket's lower bound is 0 (unless its
//   upper bound is <= 0, then that bound); otherwise interpolate linearly inside bucket b.
// Worked example with default buckets and observations 3 ms, 7 ms, 20 ms, 20 ms:
//   cumulative 1, 2, 4; p50: rank 2 -> bucket (5 ms, 10 ms], 1 of 1 -> 10 ms;
//   p95: rank 3.8 -> bucket (10 ms, 25 ms], 1.8 of 2 -> 10 + 15 * 0.9 = 23.5 ms.
// One deliberate difference: Prometheus returns NaN for q = 0 when the first bucket is empty
// (0 / 0); we skip empty leading buckets, which gives the lower bound of the first non-empty
// bucket, the same answer Prometheus gives for any q just above 0.
double Histogram::quantile(double q) const {
  if (count_ == 0 || bounds_.empty()) return 0;
  if (std::isnan(q)) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(count_);

  std::uint64_t below = 0;  // cumulative count of the buckets before b
  for (std::size_t b = 0; b < bounds_.size(); ++b) {
    const std::uint64_t cumulative = below + counts_[b];
    if (cumulative > 0 && static_cast<double>(cumulative) >= rank) {
      if (b == 0 && bounds_[0] <= 0) return bounds_[0];
      const double start = b == 0 ? 0.0 : bounds_[b - 1];
      const double end = bounds_[b];
      const double in_bucket = static_cast<double>(counts_[b]);
      return start + (end - start) * ((rank - static_cast<double>(below)) / in_bucket);
    }
    below = cumulative;
  }
  return bounds_.back();  // the rank falls in the +Inf bucket
}

// ---------------------------------------------------------------------------------------------
// Recorder

Recorder::Recorder(std::vector<double> buckets) : buckets_(std::move(buckets)) {}

void Recorder::add(const RunResult& run) {
  ++runs_;
  switch (run.result) {
    case Result::good:
      ++runs_good_;
      break;
    case Result::bad:
      ++runs_bad_;
      break;
    case Result::invalid:
      ++runs_invalid_;
      break;
    case Result::skipped:
      break;  // not a run outcome; counted in runs() only
  }

  for (std::size_t i = 0; i < run.steps.size(); ++i) {
    const StepResult& s = run.steps[i];
    auto [it, inserted] = steps_.try_emplace(StepKey{run.journey, s.name, run.location});
    StepStats& st = it->second;
    if (inserted) st.latency = Histogram(buckets_);
    st.position = i;
    switch (s.result) {
      case Result::good:
        ++st.good;
        break;
      case Result::bad:
        ++st.bad;
        ++st.bad_by_reason[s.reason];
        st.last_bad_message = s.message;
        break;
      case Result::skipped:
        ++st.skipped;
        break;
      case Result::invalid:
        ++st.invalid;
        ++st.invalid_by_reason[s.reason];
        break;
    }
    // Only answers have a latency worth a histogram: a refused connection after 0.2 ms or a
    // timeout at exactly the deadline would drag the quantiles toward meaningless values.
    if ((s.result == Result::good || s.result == Result::bad) && s.status > 0)
      st.latency.observe(s.timings.total_ms / 1000.0);
  }

  JourneyStats& js = journey_stats(run.journey, run.location);
  switch (run.result) {
    case Result::good:
      ++js.runs_good;
      js.duration.observe(run.duration_ms / 1000.0);
      break;
    case Result::bad:
      ++js.runs_bad;
      break;
    case Result::invalid:
      ++js.runs_invalid;
      break;
    case Result::skipped:
      break;
  }
  js.last_result = run.result;
  js.last_reason = run.reason;
  js.last_failed_step = run.failed_step;
  js.ran = true;
}

void Recorder::add_missed_slot(const std::string& journey, const std::string& location) {
  ++journey_stats(journey, location).missed_slots;
}

JourneyStats& Recorder::journey_stats(const std::string& journey, const std::string& location) {
  auto [it, inserted] = journeys_.try_emplace(JourneyKey{journey, location});
  if (inserted) it->second.duration = Histogram(buckets_);
  return it->second;
}

double sli_percent(std::uint64_t good, std::uint64_t valid) {
  if (valid == 0) return -1;
  return 100.0 * static_cast<double>(good) / static_cast<double>(valid);
}

std::string format_sli(std::uint64_t good, std::uint64_t valid) {
  if (valid == 0) return "-";
  // Integer basis points, rounded down: 99999 good of 100000 is "99.99%", never "100.00%".
  // Beyond ~1.8e15 good events the product would overflow; fall back to floating point there.
  std::uint64_t bp;
  if (good <= std::numeric_limits<std::uint64_t>::max() / 10000)
    bp = good * 10000 / valid;
  else
    bp = static_cast<std::uint64_t>(std::floor(sli_percent(good, valid) * 100.0));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%02llu%%", static_cast<unsigned long long>(bp / 100),
                static_cast<unsigned long long>(bp % 100));
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Summary

namespace {

// Display width in code points, so names with non-ASCII letters (and "×") still line up.
std::size_t width_of(const std::string& s) {
  std::size_t cps = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++cps;
  return cps;
}

std::string pad_right(std::string s, std::size_t width) {
  const std::size_t w = width_of(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

std::string pad_left(const std::string& s, std::size_t width) {
  const std::size_t w = width_of(s);
  return w < width ? std::string(width - w, ' ') + s : s;
}

std::string fmt_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.2f ms" : ms < 1000 ? "%.1f ms" : "%.0f ms", ms);
  return buf;
}

// A latency quantile for the table: "-" without observations; ">30000 ms" when the rank falls
// in the +Inf bucket, where the estimate is only the last finite bound.
std::string fmt_quantile(const Histogram& h, double q) {
  if (h.count() == 0) return "-";
  const double rank = q * static_cast<double>(h.count());
  const std::uint64_t finite = h.count() - h.counts().back();
  const std::string v = fmt_ms(h.quantile(q) * 1000.0);
  return !h.bounds().empty() && (finite == 0 || static_cast<double>(finite) < rank) ? ">" + v : v;
}

std::string top_reason(const std::map<Reason, std::uint64_t>& by_reason) {
  const std::pair<const Reason, std::uint64_t>* top = nullptr;
  for (const auto& entry : by_reason)  // ties: the first in the documented order
    if (entry.second > 0 && (!top || entry.second > top->second)) top = &entry;
  if (!top) return "-";
  return std::string(to_string(top->first)) + " ×" + std::to_string(top->second);
}

struct Row {
  const StepKey* key;
  const StepStats* stats;
};

}  // namespace

void print_summary(std::ostream& out, const Recorder& recorder, bool color) {
  auto paint = [&](const char* code, const std::string& text) {
    if (!color) return text;
    return "\033[" + std::string(code) + "m" + text + "\033[0m";
  };

  if (recorder.steps().empty() && recorder.journeys().empty()) {
    out << "No runs recorded.\n";
    return;
  }

  // Steps of one (journey, location) together, in journey order.
  std::vector<Row> rows;
  rows.reserve(recorder.steps().size());
  for (const auto& [key, stats] : recorder.steps())
    rows.push_back({&key, &stats});
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.key->journey, a.key->location, a.stats->position) <
           std::tie(b.key->journey, b.key->location, b.stats->position);
  });

  // Cells first, so every column is as wide as its widest cell.
  enum Col { journey, location, step, valid, good, sli, p50, p95, invalid, reason, ncols };
  static constexpr const char* headers[ncols] = {
      "JOURNEY", "LOCATION", "STEP", "VALID", "GOOD", "SLI", "P50", "P95", "INVALID", "TOP REASON"};
  static constexpr bool right[ncols] = {false, false, false, true, true,
                                        true,  true,  true,  true, false};
  std::vector<std::array<std::string, ncols>> cells;
  cells.reserve(rows.size());
  const StepKey* prev = nullptr;
  for (const Row& r : rows) {
    const bool first =
        !prev || prev->journey != r.key->journey || prev->location != r.key->location;
    const StepStats& s = *r.stats;
    cells.push_back({first ? r.key->journey : "", first ? r.key->location : "", r.key->step,
                     std::to_string(s.valid()), std::to_string(s.good),
                     format_sli(s.good, s.valid()), fmt_quantile(s.latency, 0.50),
                     fmt_quantile(s.latency, 0.95), std::to_string(s.invalid),
                     top_reason(s.bad_by_reason)});
    prev = r.key;
  }
  std::size_t widths[ncols];
  for (int c = 0; c < ncols; ++c) {
    widths[c] = width_of(headers[c]);
    for (const auto& row : cells)
      widths[c] = std::max(widths[c], width_of(row[c]));
  }
  auto cell = [&](int c, const std::string& text) {
    if (c == ncols - 1) return text;  // no trailing spaces
    return right[c] ? pad_left(text, widths[c]) : pad_right(text, widths[c]);
  };
  auto separator = [](int c) { return c == ncols - 1 ? "" : "  "; };

  if (!rows.empty()) {
    std::string header;
    for (int c = 0; c < ncols; ++c)
      header += cell(c, headers[c]) + separator(c);
    out << paint("1", header) << '\n';
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const StepStats& s = *rows[i].stats;
      const auto& row = cells[i];
      for (int c = 0; c < ncols; ++c) {
        std::string text = cell(c, row[c]);
        // Colour after padding: escape codes take no columns.
        if (c == sli && s.valid() > 0) text = paint(s.bad == 0 ? "32" : "31", text);
        if (c == invalid && s.invalid > 0) text = paint("35", text);
        if (c == reason && s.bad > 0) text = paint("31", text);
        out << text << separator(c);
      }
      out << '\n';
    }
    out << '\n';
  }

  // Runs per (journey, location); the run SLI counts a run good only if every step was good.
  for (const auto& [key, js] : recorder.journeys()) {
    std::string line = key.journey + " @ " + key.location + ": ";
    if (js.ran) {
      line += std::to_string(js.runs_good) + "/" + std::to_string(js.runs_valid()) +
              " runs good (" + format_sli(js.runs_good, js.runs_valid()) + ")";
      if (js.runs_invalid > 0) line += ", " + std::to_string(js.runs_invalid) + " invalid";
    } else {
      line += "no run finished";
    }
    line += ", " + std::to_string(js.missed_slots) +
            (js.missed_slots == 1 ? " missed slot" : " missed slots");
    if (js.ran && js.last_result != Result::good) {
      line += "; last run " + std::string(to_string(js.last_result));
      if (!js.last_failed_step.empty()) line += " at " + js.last_failed_step;
      if (js.last_reason != Reason::none)
        line += " (" + std::string(to_string(js.last_reason)) + ")";
    }
    const bool healthy = js.runs_bad == 0 && js.missed_slots == 0 && js.ran;
    out << (healthy ? line : paint(js.runs_bad > 0 ? "31" : "33", line)) << '\n';
  }

  // The last failure of each failing step, so a summary says why, not only how often.
  bool any_bad = false;
  for (const Row& r : rows) {
    if (r.stats->bad == 0 || r.stats->last_bad_message.empty()) continue;
    if (!any_bad) out << "\nlast failures:\n";
    any_bad = true;
    out << "  " << r.key->journey << " @ " << r.key->location << " / " << r.key->step << ": "
        << r.stats->last_bad_message << '\n';
  }

  out << '\n'
      << recorder.runs() << (recorder.runs() == 1 ? " run: " : " runs: ") << recorder.runs_good()
      << " good, " << recorder.runs_bad() << " bad, " << recorder.runs_invalid() << " invalid\n";
}

}  // namespace prober::record
