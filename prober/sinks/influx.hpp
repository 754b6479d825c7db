#pragma once
// InfluxDB line protocol over HTTP: InfluxDB 1.x and VictoriaMetrics (`POST /write?db=`),
// InfluxDB 2.x (`POST /api/v2/write?org=&bucket=&precision=ns`, `Authorization: Token …`).
//
// Mapping, chosen so that VictoriaMetrics' /write (which names a series
// {measurement}_{field}) ends with the same names as Prometheus: a series
// `base_suffix{labels}` (samples.hpp) becomes one line
//     base,label1=v1,label2=v2 suffix=VALUE TIMESTAMP_NS
// with the family name as measurement, the labels as tags (sorted by key; empty values left
// out) and the suffix without its underscore as the field: `total` for counters, `bucket`
// (with tag `le`), `sum` and `count` for histograms, `value` for gauges. So
// prober_step_events_total{journey="j",result="good"} is measurement prober_step_events,
// field total (InfluxQL: SELECT last("total") FROM "prober_step_events" WHERE "result"='good');
// a gauge prober_sink_queued_samples is field `value`, which VictoriaMetrics names
// prober_sink_queued_samples_value. Counters and bucket counts are integer fields (`42i`);
// sums and gauges are floats; a value that is not finite is left out (line protocol has no
// NaN or Inf). Timestamps are nanoseconds.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "prober/sinks/samples.hpp"
#include "prober/sinks/sink_config.hpp"
#include "prober/sinks/wire_sample.hpp"

namespace prober::sinks {

// Escaping of line protocol. Measurement: comma, space and backslash. Tag keys, tag values and
// field keys: comma, equals sign, space and backslash. Line protocol cannot carry a line feed
// (or carriage return) in a name: they become the two characters `\n` (`\r`). Field string
// values: double quote and backslash (a line feed is allowed inside the quotes).
std::string influx_escape_measurement(std::string_view s);
std::string influx_escape_key(std::string_view s);  // tag keys, tag values, field keys
std::string influx_escape_string_field(std::string_view s);  // without the surrounding quotes

// A field value: integer (written `42i`), float, string (quoted) or boolean.
using InfluxField = std::variant<std::int64_t, double, std::string, bool>;

// One line (no trailing line feed). Tags are written in the order given (sort them by key, as
// InfluxDB prefers); tags with an empty key or value are left out. At least one field.
std::string influx_line(std::string_view measurement,
                        const std::vector<std::pair<std::string, std::string>>& tags,
                        const std::vector<std::pair<std::string, InfluxField>>& fields,
                        std::int64_t timestamp_ns);

// Appends one WireSample (point = the line) per series of `samples`, all at `timestamp_ns`.
void influx_encode(const Samples& samples, std::int64_t timestamp_ns, std::vector<WireSample>& out);

// The body of a batch: its lines joined by line feeds.
std::string influx_body(const std::vector<WireSample>& batch);

// The write URL of an influx sink: base URL + /write?db=DATABASE (influx_v1) or
// /api/v2/write?org=ORG&bucket=BUCKET&precision=ns (influx_v2), query values percent-encoded.
std::string influx_write_url(const PushSinkConfig& config);

}  // namespace prober::sinks
