#include "journeys/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace journeys {

namespace {

struct Unit {
  std::string_view name;
  std::int64_t ns;
};

// Largest first: a component's unit must come strictly later in this table than the previous
// component's ("1h30m" yes, "30m1h" and "1s2s" no).
constexpr std::array<Unit, 8> kUnits{{
    {"w", 7 * 24 * 3600 * 1'000'000'000LL},
    {"d", 24 * 3600 * 1'000'000'000LL},
    {"h", 3600 * 1'000'000'000LL},
    {"m", 60 * 1'000'000'000LL},
    {"s", 1'000'000'000LL},
    {"ms", 1'000'000LL},
    {"us", 1'000LL},
    {"ns", 1LL},
}};

constexpr std::string_view kUnitList = "ns, us, ms, s, m, h, d, w";

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
// A unit is everything up to the next number, so "5µs" reports the unit 'µs', not a gap.
bool is_unit_char(char c) {
  return !is_digit(c) && c != '.' && c != ' ';
}

// Appends "N" or "N.FFF" + unit where value = n / per exactly (trailing zeros dropped).
void append_fraction(std::string& out, std::int64_t n, std::int64_t per, std::string_view unit) {
  out += std::to_string(n / per);
  if (std::int64_t frac = n % per; frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, std::to_string(per).size() - 1 - digits.size(), '0');
    while (digits.back() == '0')
      digits.pop_back();
    out += '.' + digits;
  }
  out += unit;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Duration> {
    if (error) *error = "invalid duration '" + std::string(text) + "': " + why;
    return std::nullopt;
  };
  if (text.empty()) return fail("empty (write e.g. \"30s\")");
  if (text.front() == '-') return fail("negative durations are not allowed");
  // __int128 keeps every intermediate exact; the total is checked against int64 at each step.
  using Wide = __int128;
  constexpr Wide kMax = std::numeric_limits<Duration::rep>::max();
  Wide total = 0;
  std::size_t previous_unit = 0;  // index into kUnits + 1; 0 before the first component
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t number_start = i;
    Wide whole = 0;
    while (i < text.size() && is_digit(text[i])) {
      whole = whole * 10 + (text[i++] - '0');
      if (whole > kMax) return fail("too large");
    }
    if (i == number_start) {
      return fail("expected a number at '" + std::string(text.substr(i)) + "'");
    }
    // The fraction as numerator / 10^digits; digits past 18 are below a nanosecond anyway
    // for every unit up to weeks, so they are dropped.
    Wide frac = 0, frac_scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      const std::size_t frac_start = i;
      for (; i < text.size() && is_digit(text[i]); ++i) {
        if (i - frac_start < 18) {
          frac = frac * 10 + (text[i] - '0');
          frac_scale *= 10;
        }
      }
      if (i == frac_start) {
        return fail("expected digits after '.'");
      }
    }
    const std::string_view number = text.substr(number_start, i - number_start);

    const std::size_t before_space = i;
    while (i < text.size() && text[i] == ' ')
      ++i;
    const std::size_t unit_start = i;
    while (i < text.size() && is_unit_char(text[i]))
      ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      return fail("missing unit after '" + std::string(number) + "' (use " +
                  std::string(kUnitList) + ")");
    }
    std::size_t u = 0;
    while (u < kUnits.size() && kUnits[u].name != unit)
      ++u;
    if (u == kUnits.size()) {
      return fail("unknown unit '" + std::string(unit) + "' (use " + std::string(kUnitList) + ")");
    }
    if (unit_start != before_space) {
      return fail("unexpected space before '" + std::string(unit) + "'");
    }
    if (u + 1 <= previous_unit) {
      return fail("units must be in decreasing order, each at most once (e.g. 1m30s)");
    }
    previous_unit = u + 1;

    const Wide per = kUnits[u].ns;
    total += whole * per + frac * per / frac_scale;  // fraction truncated below 1 ns
    if (total > kMax) return fail("too large");
  }
  if (error) error->clear();
  return Duration(static_cast<Duration::rep>(total));
}

std::string format_duration(Duration d) {
  std::int64_t n = d.count();
  if (n == 0) return "0s";
  std::string out;
  if (n < 0) {
    out = "-";
    // -min has no positive counterpart; it is not a duration anyone writes.
    if (n == std::numeric_limits<std::int64_t>::min()) ++n;
    n = -n;
  }
  // Days are the largest unit used: SLO windows read as "28d", "30d", not "4w", "4w2d".
  for (std::size_t u = 1; u <= 3; ++u) {  // d, h, m
    if (std::int64_t k = n / kUnits[u].ns; k > 0) {
      out += std::to_string(k);
      out += kUnits[u].name;
      n %= kUnits[u].ns;
    }
  }
  // The rest is below a minute: "30s", "1.5s", "250ms".
  if (n == 0) return out;
  if (n >= kUnits[4].ns) {
    append_fraction(out, n, kUnits[4].ns, "s");
    return out;
  }
  // Below a second: the largest unit that fits, with a fraction if needed ("250ms", "1.5ms").
  // After a larger unit this gives "1m500ms", which reads better than "1m0.5s".
  for (std::size_t u = 5; u < kUnits.size(); ++u) {
    if (n >= kUnits[u].ns) {
      append_fraction(out, n, kUnits[u].ns, kUnits[u].name);
      break;
    }
  }
  return out;
}

}  // namespace journeys
