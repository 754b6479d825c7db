#pragma once
// Events: the outcome of each step of each run. Plain data; the SLI arithmetic, sinks and
// reports all read these.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "journeys/response.hpp"

namespace prober::record {

enum class Result {
  good,
  bad,      // the target answered wrongly, slowly, or not at all
  skipped,  // an earlier step of the run failed
  invalid,  // the prober itself spoiled the measurement: not counted in the SLI
};

// The bounded, documented reason set. Labels in metrics use these names and nothing else.
enum class Reason {
  none,
  // the response failed a check
  status,
  latency,
  header,
  body,
  json,
  tls,  // certificate check (days left)
  // the exchange failed
  capture,         // a capture found nothing
  timeout,         // step or journey deadline
  dns,             // the name did not resolve
  connect,         // refused, unreachable
  tls_handshake,   // handshake failed, or the certificate was rejected for another reason
  tls_untrusted,   // the certificate chain does not lead to a trusted CA (e.g. self-signed)
  tls_expired,     // a certificate has expired (or is not valid yet)
  tls_hostname,    // the certificate does not name the URL's host
  redirect,        // too many redirects, or one to a scheme other than http/https
  body_too_large,  // more than max_body_bytes
  recv,            // reset or closed mid-answer
  send,            // could not send the request
  protocol,        // not HTTP, malformed answer
  template_error,  // a template could not be rendered at run time
  // invalid: the prober's own fault
  late_start,      // started later than its slot by more than the threshold
  loop_stall,      // the event loop stalled while it was in flight: timings are suspect
  local_resource,  // out of file descriptors, memory, ports
  cancelled,       // shut down before it finished
  internal,        // a bug or an unexpected local error
  maintenance,     // started inside a declared maintenance window whose policy excludes it
};

// RFC 3339 UTC with milliseconds: "2026-11-28T10:00:00.123Z".
std::string format_time(std::chrono::system_clock::time_point t);

std::string_view to_string(Result r);
std::string_view to_string(Reason r);
bool is_invalid_reason(Reason r);

struct FailedCheck {
  std::string check;
  std::string expected;
  std::string actual;
  std::string message;              // for a check that could not be evaluated
  bool could_not_evaluate = false;
};

// A retry of a bad step: diagnostics ("was it transient?"), never the step's event.
struct Attempt {
  Result result = Result::good;
  Reason reason = Reason::none;
  std::string message;
  int status = 0;
  double total_ms = 0;
};

struct StepResult {
  std::string name;
  Result result = Result::skipped;
  Reason reason = Reason::none;
  std::string message;  // one line for people, secrets redacted
  std::string method;
  std::string url;      // as shown: secrets redacted
  std::string final_url;  // where the answer came from, after redirects; "" if none followed
  int status = 0;
  journeys::Timings timings;
  std::vector<FailedCheck> failed_checks;
  std::vector<Attempt> retries;  // only when the step has retries and the first attempt was bad
};

struct RunResult {
  std::string journey;
  std::string cuj;
  std::string location;
  std::string run_id;
  Result result = Result::good;  // good if every step is good; else the first non-good step's
  Reason reason = Reason::none;
  std::string failed_step;  // first step that was not good, "" if none
  std::chrono::system_clock::time_point started_at;
  double duration_ms = 0;
  std::vector<StepResult> steps;
  std::string maintenance;  // title of the maintenance window it started in, "" if none
};

}  // namespace prober::record
