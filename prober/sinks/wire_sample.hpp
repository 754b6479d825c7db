#pragma once
// One sample as a push sink queues it, already in its wire format: remote write keeps the
// series' serialized labels apart from the serialized point so that a batch groups the points of
// one series into one TimeSeries; InfluxDB keeps one line of line protocol in `point` and
// leaves `series` empty. Plain bytes, so the spill files store them as they are.

#include <string>

namespace prober::sinks {

struct WireSample {
  std::string series;
  std::string point;
  bool operator==(const WireSample&) const = default;
};

}  // namespace prober::sinks
