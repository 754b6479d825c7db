#pragma once
// Durations as journeys write them: "250ms", "30s", "1m30s", "2h", "28d", "1.5s".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace journeys {

using Duration = std::chrono::nanoseconds;

// Parses a duration; units ns, us, ms, s, m, h, d, w, combinable in decreasing order
// ("1h30m"). Returns nullopt (and sets *error) on anything else, including negative values.
std::optional<Duration> parse_duration(std::string_view text, std::string* error = nullptr);

// Shortest exact rendering: 1500ms -> "1.5s", 90s -> "1m30s".
std::string format_duration(Duration d);

inline double to_ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace journeys
