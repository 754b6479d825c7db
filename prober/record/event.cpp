#include "prober/record/event.hpp"

#include <cstdio>
#include <ctime>

namespace prober::record {

std::string format_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string_view to_string(Result r) {
  switch (r) {
    case Result::good: return "good";
    case Result::bad: return "bad";
    case Result::skipped: return "skipped";
    case Result::invalid: return "invalid";
  }
  return "unknown";
}

std::string_view to_string(Reason r) {
  switch (r) {
    case Reason::none: return "";
    case Reason::status: return "status";
    case Reason::latency: return "latency";
    case Reason::header: return "header";
    case Reason::body: return "body";
    case Reason::json: return "json";
    case Reason::tls: return "tls";
    case Reason::capture: return "capture";
    case Reason::timeout: return "timeout";
    case Reason::dns: return "dns";
    case Reason::connect: return "connect";
    case Reason::tls_handshake: return "tls_handshake";
    case Reason::tls_untrusted: return "tls_untrusted";
    case Reason::tls_expired: return "tls_expired";
    case Reason::tls_hostname: return "tls_hostname";
    case Reason::redirect: return "redirect";
    case Reason::body_too_large: return "body_too_large";
    case Reason::recv: return "recv";
    case Reason::send: return "send";
    case Reason::protocol: return "protocol";
    case Reason::template_error: return "template";
    case Reason::late_start: return "late_start";
    case Reason::loop_stall: return "loop_stall";
    case Reason::local_resource: return "local_resource";
    case Reason::cancelled: return "cancelled";
    case Reason::internal: return "internal";
    case Reason::maintenance: return "maintenance";
  }
  return "unknown";
}

bool is_invalid_reason(Reason r) {
  return r == Reason::late_start || r == Reason::loop_stall || r == Reason::local_resource || r == Reason::cancelled ||
         r == Reason::internal || r == Reason::maintenance;
}

}  // namespace prober::record
