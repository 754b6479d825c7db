#pragma once
// Every exported series as plain data: one list that the scrape endpoint (/metrics), remote
// write and InfluxDB line protocol all render from, so the three carry exactly the same series.
//
// A family is named without its sample suffix ("prober_step_events" for
// prober_step_events_total); a series carries its full sample name (family + suffix: "_total",
// "_bucket", "_sum", "_count", or "" for a gauge), its labels in exposition order and its
// value. Histogram buckets carry `le` as the text format 0.0.4 writes it ("0.005", "1", "+Inf").
//
// Threading: collect_samples() reads the Recorder and SchedulerStats, so it runs on the
// io_context's thread; the result is a value any thread may use.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prober/engine/scheduler.hpp"
#include "prober/record/recorder.hpp"

namespace prober::sinks {

// Self-monitoring of one push sink (remote write or InfluxDB), a snapshot. Exported as
// prober_sink_* series labelled sink="NAME".
struct PushSinkStats {
  std::string name;                     // the [sinks.NAME] table
  std::uint64_t queued = 0;             // samples waiting: in memory and spilled to disk
  std::uint64_t sent = 0;               // samples the store accepted (2xx)
  std::uint64_t dropped_queue_full = 0; // samples dropped past the queue (and spill) bound,
                                        // or still queued when the grace period of stop ended
  std::uint64_t dropped_rejected = 0;   // samples in batches the store refused with a 4xx
  std::uint64_t send_failures = 0;      // requests that failed and were retried (network,
                                        // timeout, 5xx, 429)
  std::uint64_t spilled_bytes = 0;      // bytes now in spill_dir
};

enum class MetricType { counter, gauge, histogram };

struct Family {
  std::string name;  // without suffix
  MetricType type = MetricType::counter;
  std::string help;
};

// A sample value: counters and bucket counts are exact integers (InfluxDB gets them as
// integer fields, the text format prints them without exponent); sums and gauges are doubles.
struct SampleValue {
  bool is_integer = false;
  std::uint64_t integer = 0;
  double real = 0;
  double as_double() const { return is_integer ? static_cast<double>(integer) : real; }
};

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Series {
  std::size_t family = 0;  // index into Samples::families
  std::string suffix;      // "_total", "_bucket", "_sum", "_count" or "" (gauge)
  Labels labels;           // in exposition order (not sorted)
  SampleValue value;
};

struct Samples {
  std::vector<Family> families;  // in exposition order
  std::vector<Series> series;    // grouped by family, in family order
  std::string name(const Series& s) const { return families[s.family].name + s.suffix; }
};

// Collects the series of `recorder`, of the scheduler (`self` not null) and of the push sinks
// (`push` not empty). Families come in a fixed order and series sorted by label values;
// counters of a step or journey seen once are exported even at 0, so rate() works from the
// first sample. Push sink families are present only when `push` is not empty.
Samples collect_samples(const record::Recorder& recorder, const engine::SchedulerStats* self,
                        const std::vector<PushSinkStats>& push = {});

// Shortest text that parses back to the same double, in %g style ("0.005", "30", "1e-07"),
// as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it; "NaN", "+Inf", "-Inf".
std::string format_double(double v);

}  // namespace prober::sinks
