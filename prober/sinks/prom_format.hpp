#pragma once
// Numbers as the Prometheus exposition writes them, shared by the scrape endpoint (which
// renders them) and the alert-rule generator (which must select the very same `le` label
// values). Header-only, no dependencies: prober/report uses it without linking the endpoint.
//
// tests/prober/rules_test.cpp checks these against render_metrics' output for every default
// bucket bound, in both formats, so the two cannot drift apart unnoticed.

#include <array>
#include <charconv>
#include <cmath>
#include <string>

namespace prober::sinks {

// Shortest text that parses back to the same double, in %g style ("0.005", "30", "1e-07"), as
// Go's strconv.FormatFloat(v, 'g', -1, 64) writes it for Prometheus' own clients.
inline std::string prom_format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::array<char, 64> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::general);
  return std::string(buf.data(), r.ptr);
}

// A histogram bucket's `le` value. OpenMetrics wants floats there ("1.0", not "1"), text
// format 0.0.4 writes the shortest form ("1").
inline std::string prom_format_le(double bound, bool openmetrics) {
  std::string s = prom_format_double(bound);
  if (openmetrics && s.find_first_of(".eEnI") == std::string::npos) s += ".0";
  return s;
}

}  // namespace prober::sinks
