#include "prober/sinks/influx.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace prober::sinks {

namespace {

std::string escape(std::string_view s, std::string_view specials) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      if (c == '\\' || specials.find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
  }
  return out;
}

void append_field(std::string& out, const InfluxField& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    out += std::to_string(*i);
    out += 'i';
  } else if (const auto* d = std::get_if<double>(&v)) {
    out += format_double(*d);
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    out += '"';
    out += influx_escape_string_field(*s);
    out += '"';
  } else {
    out += std::get<bool>(v) ? "true" : "false";
  }
}

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (unreserved(c)) {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

}  // namespace

std::string influx_escape_measurement(std::string_view s) { return escape(s, ", "); }
std::string influx_escape_key(std::string_view s) { return escape(s, ",= "); }

std::string influx_escape_string_field(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string influx_line(std::string_view measurement,
                        const std::vector<std::pair<std::string, std::string>>& tags,
                        const std::vector<std::pair<std::string, InfluxField>>& fields,
                        std::int64_t timestamp_ns) {
  std::string line = influx_escape_measurement(measurement);
  for (const auto& [k, v] : tags) {
    if (k.empty() || v.empty()) continue;
    line += ',';
    line += influx_escape_key(k);
    line += '=';
    line += influx_escape_key(v);
  }
  char sep = ' ';
  for (const auto& [k, v] : fields) {
    line += sep;
    sep = ',';
    line += influx_escape_key(k);
    line += '=';
    append_field(line, v);
  }
  line += ' ';
  line += std::to_string(timestamp_ns);
  return line;
}

void influx_encode(const Samples& samples, std::int64_t timestamp_ns, std::vector<WireSample>& out) {
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<std::pair<std::string, InfluxField>> fields(1);
  for (const Series& s : samples.series) {
    const SampleValue& v = s.value;
    if (!v.is_integer && !std::isfinite(v.real)) continue;
    tags.assign(s.labels.begin(), s.labels.end());
    std::sort(tags.begin(), tags.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    fields[0].first = s.suffix.empty() ? "value" : s.suffix.substr(1);
    if (v.is_integer) {
      // int64 in line protocol; a counter past 2^63 is not going to happen, but clamp.
      constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
      fields[0].second = static_cast<std::int64_t>(std::min(v.integer, kMax));
    } else {
      fields[0].second = v.real;
    }
    out.push_back({{}, influx_line(samples.families[s.family].name, tags, fields, timestamp_ns)});
  }
}

std::string influx_body(const std::vector<WireSample>& batch) {
  std::string body;
  for (const WireSample& w : batch) {
    body += w.point;
    body += '\n';
  }
  return body;
}

std::string influx_write_url(const PushSinkConfig& config) {
  std::string base = config.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (config.kind == PushKind::influx_v2)
    return base + "/api/v2/write?org=" + percent_encode(config.org) +
           "&bucket=" + percent_encode(config.bucket) + "&precision=ns";
  return base + "/write?db=" + percent_encode(config.database);
}

}  // namespace prober::sinks
