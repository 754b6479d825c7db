#pragma once
// Fuzz input -> journeys::Response, for the targets that feed checks and captures. The input
// reads like a raw HTTP answer so seeds are easy to write by hand:
//
//   200 12.5 1767225600          status [total latency in ms [TLS certificate not_after, unix]]
//   Content-Type: application/json
//   Set-Cookie: sid=abc          "Name: value" per line ("\r\n" works too)
//                                an empty line ends the headers
//   {"items": []}                everything after it is the body, byte for byte
//
// Numbers are clamped to what the transport can really hand over (finite, non-negative
// latencies; a certificate date within years 0-9999), so a finding is a bug, not an artefact
// of a Response no transfer could produce.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "journeys/response.hpp"

namespace fuzz {

// The next line of in (without "\n" or "\r\n"); consumes it.
inline std::string_view next_line(std::string_view& in) {
  const std::size_t nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

inline std::string_view next_word(std::string_view& in) {
  const std::size_t start = std::min(in.find_first_not_of(' '), in.size());
  in.remove_prefix(start);
  const std::size_t end = std::min(in.find(' '), in.size());
  std::string_view word = in.substr(0, end);
  in.remove_prefix(end);
  return word;
}

inline journeys::Response response_from(std::string_view in) {
  journeys::Response r;
  r.http_version = "1.1";
  r.effective_url = "http://127.0.0.1:9/";

  std::string_view first = next_line(in);
  const std::string_view status = next_word(first);
  int code = 0;
  std::from_chars(status.data(), status.data() + status.size(), code);
  r.status = std::clamp(code, 0, 999);

  const std::string_view total = next_word(first);
  double ms = 0;
  std::from_chars(total.data(), total.data() + total.size(), ms);
  if (!std::isfinite(ms) || ms < 0) ms = 0;
  ms = std::min(ms, 1e9);
  // Phases in the proportions of a real first request; first_byte and total are cumulative.
  r.timings = {ms / 8, ms / 8, ms / 4, ms / 2, ms};

  const std::string_view not_after = next_word(first);
  std::int64_t t = 0;
  if (std::from_chars(not_after.data(), not_after.data() + not_after.size(), t).ec ==
      std::errc{}) {
    r.tls.used = true;
    r.tls.not_after_unix = std::clamp<std::int64_t>(t, -62167219200, 253402300799);
    r.tls.subject = "CN=fuzz";
    r.tls.issuer = "CN=fuzz ca";
  }

  while (!in.empty()) {
    const std::string_view line = next_line(in);
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon), value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      value.remove_prefix(std::min(value.find_first_not_of(' '), value.size()));
    }
    r.headers.push_back({std::string(name), std::string(value)});
  }
  r.body = std::string(in);
  return r;
}

}  // namespace fuzz
