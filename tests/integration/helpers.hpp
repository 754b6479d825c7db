#pragma once
// What the integration tests that drive the daemon share: its JSON log lines, a free loopback
// port for a listen address, and a small HTTP GET (scrape endpoints, store APIs).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace itest {

// The prober's JSON log lines (--log-format json) whose "msg" is m, in order.
std::vector<nlohmann::json> log_lines(const std::string& err, const std::string& m);

// A loopback port that was free a moment ago (the prober binds it right after). Throws
// std::runtime_error when no port can be bound.
int free_port();

struct HttpAnswer {
  long status = 0;  // 0: nothing answered
  std::string content_type;
  std::string body;
};

// GET url with a 5 s timeout, never through a proxy; `accept` sets the Accept header.
HttpAnswer http_get(const std::string& url, const std::string& accept = "");

}  // namespace itest
