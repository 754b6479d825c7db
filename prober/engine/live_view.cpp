#include "prober/engine/live_view.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace prober::engine {

namespace {

using record::JourneyKey;
using record::JourneyStats;
using record::Reason;
using record::Result;

constexpr const char* kGreen = "32";
constexpr const char* kRed = "31";
constexpr const char* kMagenta = "35";
constexpr const char* kYellow = "33";
constexpr const char* kGrey = "90";
constexpr const char* kBold = "1";

// Columns are counted in code points: right for the ASCII and accented Latin names journeys
// have; a CJK name (two columns per letter) would be cut a little late.
std::size_t width_of(std::string_view s) {
  std::size_t cps = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++cps;
  return cps;
}

// A piece of a line with its colour (nullptr: none). Colour is applied when rendering, after
// the cut, so escape codes never count as columns and are never cut in half.
struct Seg {
  std::string text;
  const char* color = nullptr;
};

// Names come from journey files: a stray ESC or newline must not drive the terminal.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

std::string padded(std::string s, std::size_t width) {
  const std::size_t w = width_of(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

// Renders one line, cut to `width` columns (0: no limit) with "…" marking the cut.
std::string render_line(std::vector<Seg> segs, std::size_t width, bool color) {
  // Padding of the last column is noise at the end of a line (and would count toward width).
  while (!segs.empty()) {
    std::string& t = segs.back().text;
    while (!t.empty() && t.back() == ' ')
      t.pop_back();
    if (!t.empty()) break;
    segs.pop_back();
  }
  std::size_t total = 0;
  for (const auto& s : segs)
    total += width_of(s.text);
  const bool cut = width > 0 && total > width;
  std::size_t budget = cut ? width - 1 : total;  // one column for the ellipsis

  std::string line;
  for (const auto& s : segs) {
    if (budget == 0) break;
    std::string part;
    if (width_of(s.text) <= budget) {
      part = s.text;
      budget -= width_of(s.text);
    } else {
      // Copy whole code points until the budget is spent.
      std::size_t i = 0;
      while (i < s.text.size() && budget > 0) {
        std::size_t n = 1;
        while (i + n < s.text.size() && (static_cast<unsigned char>(s.text[i + n]) & 0xC0) == 0x80)
          ++n;
        part.append(s.text, i, n);
        i += n;
        --budget;
      }
    }
    if (color && s.color && !part.empty())
      line += "\033[" + std::string(s.color) + "m" + part + "\033[0m";
    else
      line += part;
  }
  if (cut) line += "…";
  line += '\n';
  return line;
}

// "45s", "2m05s", "1h02m03s", "3d04h05m": short, and it grows only when it must.
std::string fmt_uptime(std::chrono::seconds up) {
  long long s = std::max<long long>(0, up.count());
  const long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
  s %= 60;
  char buf[48];
  if (d > 0)
    std::snprintf(buf, sizeof buf, "%lldd%02lldh%02lldm", d, h, m);
  else if (h > 0)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", h, m, s);
  else if (m > 0)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", m, s);
  else
    std::snprintf(buf, sizeof buf, "%llds", s);
  return buf;
}

std::string fmt_num(const char* format, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// What the last run did: "good", "bad at pay: status", "invalid: late_start", "waiting".
std::string last_text(const JourneyStats& js) {
  if (!js.ran) return "waiting";
  std::string t(record::to_string(js.last_result));
  if (js.last_result == Result::good) return t;
  if (!js.last_failed_step.empty()) t += " at " + printable(js.last_failed_step);
  if (js.last_reason != Reason::none) t += ": " + std::string(record::to_string(js.last_reason));
  return t;
}

const char* last_color(const JourneyStats& js) {
  if (!js.ran) return kGrey;
  switch (js.last_result) {
    case Result::good:
      return kGreen;
    case Result::bad:
      return kRed;
    case Result::invalid:
      return kMagenta;
    case Result::skipped:
      return kGrey;
  }
  return nullptr;
}

// Failing pairs first: when the rows do not all fit, the ones hidden are the healthy ones.
int urgency(const JourneyStats& js) {
  if (!js.ran) return 2;
  switch (js.last_result) {
    case Result::bad:
      return 0;
    case Result::invalid:
      return 1;
    default:
      return 2;
  }
}

}  // namespace

std::string render_live_frame(const record::Recorder& recorder, const LiveStatus& status,
                              std::size_t width, std::size_t max_rows, bool color) {
  std::string frame;

  // Header.
  std::vector<Seg> head;
  head.push_back({"prober", kBold});
  head.push_back({"  up " + fmt_uptime(status.uptime)});
  head.push_back({"  " + fmt_num("%.1f", status.runs_per_second) + " runs/s"});
  head.push_back(
      {"  in flight " + std::to_string(status.in_flight) + "/" + std::to_string(status.scheduled)});
  head.push_back({"  good "});
  head.push_back({std::to_string(recorder.runs_good()), kGreen});
  head.push_back({"  bad "});
  head.push_back({std::to_string(recorder.runs_bad()), recorder.runs_bad() > 0 ? kRed : nullptr});
  head.push_back({"  invalid "});
  head.push_back(
      {std::to_string(recorder.runs_invalid()), recorder.runs_invalid() > 0 ? kMagenta : nullptr});
  head.push_back({"  lag p99 " + fmt_num("%.1f", status.schedule_lag_p99_ms) + " ms"});
  head.push_back({"  stall max " + fmt_num("%.1f", status.loop_stall_max_ms) + " ms"});
  head.push_back({"  missed "});
  head.push_back(
      {std::to_string(status.missed_slots), status.missed_slots > 0 ? kYellow : nullptr});
  frame += render_line(head, width, color);

  // One line per (journey, location).
  struct Row {
    const JourneyKey* key;
    const JourneyStats* stats;
    std::string name, last, runs, sli;
  };
  std::vector<Row> rows;
  rows.reserve(recorder.journeys().size());
  for (const auto& [key, js] : recorder.journeys()) {
    rows.push_back({&key, &js, printable(key.journey) + " @ " + printable(key.location),
                    last_text(js),
                    "runs " + std::to_string(js.runs_good) + "/" + std::to_string(js.runs_valid()),
                    "SLI " + record::format_sli(js.runs_good, js.runs_valid())});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return urgency(*a.stats) < urgency(*b.stats);
  });

  std::size_t shown = rows.size();
  if (max_rows > 0 && rows.size() > max_rows) shown = max_rows - 1;  // the last row says "… N more"

  std::size_t wname = 0, wlast = 0, wruns = 0, wsli = 0;
  for (std::size_t i = 0; i < shown; ++i) {
    wname = std::max(wname, width_of(rows[i].name));
    wlast = std::max(wlast, width_of(rows[i].last));
    wruns = std::max(wruns, width_of(rows[i].runs));
    wsli = std::max(wsli, width_of(rows[i].sli));
  }
  for (std::size_t i = 0; i < shown; ++i) {
    const Row& r = rows[i];
    const JourneyStats& js = *r.stats;
    std::vector<Seg> line;
    line.push_back({padded(r.name, wname) + "  "});
    line.push_back({padded(r.last, wlast), last_color(js)});
    line.push_back({"  " + padded(r.runs, wruns)});
    const char* sli_color = js.runs_valid() == 0 ? nullptr : js.runs_bad == 0 ? kGreen : kRed;
    line.push_back({"  "});
    line.push_back({padded(r.sli, wsli), sli_color});
    if (js.missed_slots > 0)
      line.push_back({"  missed " + std::to_string(js.missed_slots), kYellow});
    frame += render_line(line, width, color);
  }
  if (shown < rows.size())
    frame +=
        render_line({{"… " + std::to_string(rows.size() - shown) + " more", kGrey}}, width, color);
  return frame;
}

}  // namespace prober::engine
