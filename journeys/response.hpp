#pragma once
// What a step's request got back: plain data filled by the transport, read by checks and
// captures. Nothing here knows about curl.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace journeys {

// Phase durations in milliseconds, from curl's cumulative timers:
//   dns        = name lookup
//   connect    = TCP connect (after dns)
//   tls        = TLS handshake (after connect; 0 for plain HTTP or a reused connection)
//   first_byte = time to first byte since the request started (TTFB, cumulative)
//   total      = whole exchange including the body, since the request started
// On a reused connection dns/connect/tls are 0.
struct Timings {
  double dns_ms = 0;
  double connect_ms = 0;
  double tls_ms = 0;
  double first_byte_ms = 0;
  double total_ms = 0;
};

struct TlsInfo {
  bool used = false;
  std::optional<std::int64_t> not_after_unix;  // leaf certificate expiry
  std::string subject;
  std::string issuer;
};

struct Header {
  std::string name;  // as sent by the server
  std::string value;
};

struct Response {
  int status = 0;
  std::string http_version;     // "1.1", "2"
  std::vector<Header> headers;  // of the final response, in order
  std::string body;             // at most the step's max_body_bytes (decoded)
  Timings timings;
  TlsInfo tls;
  std::string effective_url;
  int redirects = 0;

  // First header with this name (ASCII case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  // Every header with this name, in order (e.g. all Set-Cookie lines).
  std::vector<std::string_view> headers_named(std::string_view name) const;

  // The body parsed as JSON, once, on first use. nullptr when it is not JSON; then
  // json_error() says why ("invalid JSON at byte 17: ...").
  const nlohmann::json* json() const;
  const std::string& json_error() const;

  Response();
  ~Response();
  Response(Response&&) noexcept;
  Response& operator=(Response&&) noexcept;
  Response(const Response&);
  Response& operator=(const Response&);

 private:
  struct JsonCache;
  mutable std::unique_ptr<JsonCache> json_;
};

bool iequals(std::string_view a, std::string_view b);

}  // namespace journeys
