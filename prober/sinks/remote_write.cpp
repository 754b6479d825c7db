#include "prober/sinks/remote_write.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include <snappy.h>

namespace prober::sinks {

namespace {

// Protobuf wire format: a field key is (number << 3 | wire type); 0 varint, 1 fixed 64-bit,
// 2 length-delimited.
void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_key(std::string& out, unsigned field, unsigned wire_type) {
  put_varint(out, (field << 3) | wire_type);
}

void put_bytes(std::string& out, unsigned field, std::string_view bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

std::string label(std::string_view name, std::string_view value) {
  std::string l;
  put_bytes(l, 1, name);
  put_bytes(l, 2, value);
  return l;
}

// The Sample message as the TimeSeries' field 2. proto3 leaves fields at their default out;
// Prometheus decodes both forms alike, but being canonical keeps the round-trip test exact.
std::string point(double value, std::int64_t timestamp_ms) {
  std::string s;
  if (value != 0.0 || std::signbit(value)) {
    put_key(s, 1, 1);
    std::uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);  // little-endian fixed64, as the wire wants
    for (int i = 0; i < 8; ++i) s += static_cast<char>((bits >> (8 * i)) & 0xff);
  }
  if (timestamp_ms != 0) {
    put_key(s, 2, 0);
    put_varint(s, static_cast<std::uint64_t>(timestamp_ms));  // int64: two's complement varint
  }
  std::string field;
  put_bytes(field, 2, s);
  return field;
}

}  // namespace

void remote_write_encode(const Samples& samples, std::int64_t timestamp_ms,
                         std::vector<WireSample>& out) {
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  for (const Series& s : samples.series) {
    const std::string name = samples.name(s);
    labels.clear();
    labels.emplace_back("__name__", name);
    for (const auto& [k, v] : s.labels)
      if (!v.empty()) labels.emplace_back(k, v);
    std::sort(labels.begin(), labels.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    WireSample w;
    for (const auto& [k, v] : labels) put_bytes(w.series, 1, label(k, v));
    w.point = point(s.value.as_double(), timestamp_ms);
    out.push_back(std::move(w));
  }
}

std::string remote_write_request(const std::vector<WireSample>& batch) {
  // Group by series, keeping first-appearance order of series and queue order of points.
  std::unordered_map<std::string_view, std::size_t> index;
  std::vector<std::string> series;
  for (const WireSample& w : batch) {
    auto [it, added] = index.try_emplace(w.series, series.size());
    if (added) series.push_back(w.series);
    series[it->second] += w.point;
  }
  std::string out;
  for (const std::string& ts : series) put_bytes(out, 1, ts);
  return out;
}

std::string remote_write_body(const std::vector<WireSample>& batch) {
  const std::string raw = remote_write_request(batch);
  std::string compressed;
  snappy::Compress(raw.data(), raw.size(), &compressed);
  return compressed;
}

}  // namespace prober::sinks
