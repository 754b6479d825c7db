#include "prober/sinks/report_files.hpp"

#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <unistd.h>

namespace prober::sinks {

namespace {

using record::Result;

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

// XML 1.0 cannot carry most control characters at all, even escaped: replace them.
std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') out += '?';
        else out += static_cast<char>(c);
    }
  }
  return out;
}

std::string fmt_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.2f ms" : ms < 1000 ? "%.1f ms" : "%.0f ms", ms);
  return buf;
}

std::string pad(std::string s, std::size_t width) {
  // Width in code points, so names with non-ASCII letters still line up.
  std::size_t cps = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++cps;
  if (cps < width) s.append(width - cps, ' ');
  return s;
}

nlohmann::json run_to_json(const record::RunResult& run) {
  using nlohmann::json;
  json steps = json::array();
  for (const auto& s : run.steps) {
    json failed = json::array();
    for (const auto& f : s.failed_checks) {
      failed.push_back({{"check", f.check},
                        {"expected", f.expected},
                        {"actual", f.actual},
                        {"could_not_evaluate", f.could_not_evaluate},
                        {"message", f.message}});
    }
    json step = {{"name", s.name},
                 {"result", record::to_string(s.result)},
                 {"reason", record::to_string(s.reason)},
                 {"message", s.message},
                 {"method", s.method},
                 {"url", s.url},
                 {"status", s.status},
                 {"latency_ms",
                  {{"dns", round3(s.timings.dns_ms)},
                   {"connect", round3(s.timings.connect_ms)},
                   {"tls", round3(s.timings.tls_ms)},
                   {"first_byte", round3(s.timings.first_byte_ms)},
                   {"total", round3(s.timings.total_ms)}}},
                 {"failed_checks", std::move(failed)}};
    if (!s.final_url.empty()) step["final_url"] = s.final_url;  // only after redirects
    if (!s.retries.empty()) {
      json retries = json::array();
      for (const auto& a : s.retries)
        retries.push_back({{"result", record::to_string(a.result)},
                           {"reason", record::to_string(a.reason)},
                           {"message", a.message},
                           {"status", a.status},
                           {"total_ms", round3(a.total_ms)}});
      step["retries"] = std::move(retries);
    }
    steps.push_back(std::move(step));
  }
  json r = {{"journey", run.journey},
            {"cuj", run.cuj},
            {"location", run.location},
            {"run_id", run.run_id},
            {"result", record::to_string(run.result)},
            {"reason", record::to_string(run.reason)},
            {"failed_step", run.failed_step.empty() ? json(nullptr) : json(run.failed_step)},
            {"started_at", format_time(run.started_at)},
            {"duration_ms", round3(run.duration_ms)},
            {"steps", std::move(steps)}};
  if (!run.maintenance.empty()) r["maintenance"] = run.maintenance;
  return r;
}

nlohmann::json summary_json(const std::vector<record::RunResult>& runs) {
  std::size_t good = 0, bad = 0, invalid = 0;
  for (const auto& run : runs) {
    good += run.result == Result::good;
    bad += run.result == Result::bad;
    invalid += run.result == Result::invalid;
  }
  return {{"runs", runs.size()}, {"good", good}, {"bad", bad}, {"invalid", invalid}};
}

// Text of a value as dump(2) writes it nested `depth` levels deep: every line after the
// first indented by 2 * depth more. A dumped string holds no raw newline (JSON escapes it),
// so every newline in the text is a line break of the layout.
void append_nested(std::string& out, const nlohmann::json& value, int depth) {
  const std::string text = value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string indent(static_cast<std::size_t>(2 * depth), ' ');
  std::size_t from = 0;
  for (std::size_t nl; (nl = text.find('\n', from)) != std::string::npos; from = nl + 1) {
    out.append(text, from, nl + 1 - from);
    out += indent;
  }
  out.append(text, from);
}

}  // namespace

nlohmann::json runs_to_json(const std::vector<record::RunResult>& runs) {
  nlohmann::json out = nlohmann::json::object();
  out["version"] = 1;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& run : runs) arr.push_back(run_to_json(run));
  out["runs"] = std::move(arr);
  out["summary"] = summary_json(runs);
  return out;
}

std::string runs_to_json_text(const std::vector<record::RunResult>& runs) {
  // The members in dump()'s order (its objects sort their keys): runs, summary, version.
  std::string out = "{\n  \"runs\": [";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    out += i == 0 ? "\n    " : ",\n    ";
    append_nested(out, run_to_json(runs[i]), 2);  // one run's tree at a time
  }
  out += runs.empty() ? "],\n  \"summary\": " : "\n  ],\n  \"summary\": ";
  append_nested(out, summary_json(runs), 1);
  out += ",\n  \"version\": 1\n}\n";
  return out;
}

std::string runs_to_junit(const std::vector<record::RunResult>& runs) {
  std::string suites;
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  double time_total = 0;
  for (const auto& run : runs) {
    int f = 0, e = 0, sk = 0;
    std::string cases;
    for (const auto& s : run.steps) {
      char t[32];
      std::snprintf(t, sizeof t, "%.3f", s.timings.total_ms / 1000.0);
      cases += "    <testcase classname=\"" + xml_escape(run.journey) + "\" name=\"" +
               xml_escape(s.name) + "\" time=\"" + t + "\"";
      switch (s.result) {
        case Result::good:
          cases += "/>\n";
          break;
        case Result::bad: {
          ++f;
          std::string detail = s.message;
          for (const auto& fc : s.failed_checks)
            detail += "\n" + fc.check + ": expected " + fc.expected + ", got " + fc.actual;
          cases += ">\n      <failure type=\"" + xml_escape(record::to_string(s.reason)) +
                   "\" message=\"" + xml_escape(s.message) + "\">" + xml_escape(detail) +
                   "</failure>\n    </testcase>\n";
          break;
        }
        case Result::invalid:
          ++e;
          cases += ">\n      <error type=\"" + xml_escape(record::to_string(s.reason)) +
                   "\" message=\"" + xml_escape(s.message) + "\"/>\n    </testcase>\n";
          break;
        case Result::skipped:
          ++sk;
          cases += ">\n      <skipped message=\"" + xml_escape(s.message) + "\"/>\n    </testcase>\n";
          break;
      }
    }
    char t[32];
    std::snprintf(t, sizeof t, "%.3f", run.duration_ms / 1000.0);
    const int n = static_cast<int>(run.steps.size());
    suites += "  <testsuite name=\"" + xml_escape(run.journey + " @ " + run.location) +
              "\" tests=\"" + std::to_string(n) + "\" failures=\"" + std::to_string(f) +
              "\" errors=\"" + std::to_string(e) + "\" skipped=\"" + std::to_string(sk) +
              "\" time=\"" + t + "\" timestamp=\"" + format_time(run.started_at) + "\">\n" +
              cases + "  </testsuite>\n";
    tests += n;
    failures += f;
    errors += e;
    skipped += sk;
    time_total += run.duration_ms / 1000.0;
  }
  char t[32];
  std::snprintf(t, sizeof t, "%.3f", time_total);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"prober\" tests=\"" +
         std::to_string(tests) + "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
         std::to_string(errors) + "\" skipped=\"" + std::to_string(skipped) + "\" time=\"" + t +
         "\">\n" + suites + "</testsuites>\n";
}

void print_table(std::ostream& out, const std::vector<record::RunResult>& runs, bool color) {
  auto paint = [&](Result r, const std::string& text) {
    if (!color) return text;
    const char* code = r == Result::good ? "32" : r == Result::bad ? "31" : r == Result::invalid ? "35" : "90";
    return "\033[" + std::string(code) + "m" + text + "\033[0m";
  };
  std::size_t wj = 7, wl = 8, ws = 4;
  for (const auto& run : runs) {
    wj = std::max(wj, run.journey.size());
    wl = std::max(wl, run.location.size());
    for (const auto& s : run.steps) ws = std::max(ws, s.name.size());
  }
  out << pad("JOURNEY", wj + 2) << pad("LOCATION", wl + 2) << pad("STEP", ws + 2)
      << pad("RESULT", 9) << pad("STATUS", 8) << pad("LATENCY", 11) << "REASON\n";
  int good = 0, bad = 0, invalid = 0;
  for (const auto& run : runs) {
    bool first = true;
    for (const auto& s : run.steps) {
      out << pad(first ? run.journey : "", wj + 2) << pad(first ? run.location : "", wl + 2)
          << pad(s.name, ws + 2) << paint(s.result, pad(std::string(record::to_string(s.result)), 9))
          << pad(s.status > 0 ? std::to_string(s.status) : "-", 8)
          << pad(s.result == Result::skipped ? "-" : fmt_ms(s.timings.total_ms), 11);
      if (s.result == Result::bad || s.result == Result::invalid)
        out << record::to_string(s.reason) << ": " << s.message;
      out << '\n';
      first = false;
    }
    (run.result == Result::good ? good : run.result == Result::bad ? bad : invalid)++;
  }
  out << '\n'
      << runs.size() << (runs.size() == 1 ? " run: " : " runs: ") << good << " good, " << bad
      << " bad, " << invalid << " invalid\n";
}

void write_file_atomic(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path tmp = target.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
    f << text;
    f.flush();
    if (!f) throw std::runtime_error(path + ": write failed: " + std::strerror(errno));
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw std::runtime_error(path + ": cannot write: " + ec.message());
  }
}

}  // namespace prober::sinks
