#pragma once
// Prometheus remote write 1.0: a WriteRequest (remote_write.proto) serialized as protobuf,
// compressed with snappy's block format, POSTed with the headers below. Each exported series
// (samples.hpp) becomes one TimeSeries whose labels are sorted by name with `__name__` (the
// sample name, e.g. prober_step_events_total) among them; labels with an empty value are left
// out, as Prometheus treats them as absent.
//
// The encoding is written by hand (a few varints; no protobuf runtime in the daemon); the tests
// check it against protoc's generated classes.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "prober/sinks/samples.hpp"
#include "prober/sinks/wire_sample.hpp"

namespace prober::sinks {

inline constexpr std::string_view kRemoteWriteContentType = "application/x-protobuf";
inline constexpr std::string_view kRemoteWriteEncoding = "snappy";
inline constexpr std::string_view kRemoteWriteVersion = "0.1.0";

// Appends one WireSample per series of `samples`, all at `timestamp_ms` (Unix milliseconds):
// series = the TimeSeries' serialized labels, point = its serialized Sample field.
void remote_write_encode(const Samples& samples, std::int64_t timestamp_ms,
                         std::vector<WireSample>& out);

// The serialized WriteRequest of a batch, uncompressed: samples of one series (equal `series`)
// are grouped into one TimeSeries in the order they come (the queue's order: time order);
// series in order of first appearance.
std::string remote_write_request(const std::vector<WireSample>& batch);

// What is POSTed: snappy block format of remote_write_request(batch).
std::string remote_write_body(const std::vector<WireSample>& batch);

}  // namespace prober::sinks
