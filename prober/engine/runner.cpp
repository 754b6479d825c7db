#include "prober/engine/runner.hpp"

#include <chrono>
#include <cstdio>
#include <random>

#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

namespace prober::engine {

namespace {

using journeys::Rendered;
using record::Reason;
using record::Result;
using Clock = std::chrono::steady_clock;

Reason reason_of_check(std::string_view r) {
  if (r == "status") return Reason::status;
  if (r == "latency") return Reason::latency;
  if (r == "header") return Reason::header;
  if (r == "body") return Reason::body;
  if (r == "json") return Reason::json;
  if (r == "tls") return Reason::tls;
  return Reason::body;
}

Reason reason_of_failure(transport::Failure f) {
  using transport::Failure;
  switch (f) {
    case Failure::none: return Reason::none;
    case Failure::timeout: return Reason::timeout;
    case Failure::dns: return Reason::dns;
    case Failure::connect: return Reason::connect;
    case Failure::tls_handshake: return Reason::tls_handshake;
    case Failure::tls_untrusted: return Reason::tls_untrusted;
    case Failure::tls_expired: return Reason::tls_expired;
    case Failure::tls_hostname: return Reason::tls_hostname;
    case Failure::redirect: return Reason::redirect;
    case Failure::body_too_large: return Reason::body_too_large;
    case Failure::recv: return Reason::recv;
    case Failure::send: return Reason::send;
    case Failure::protocol: return Reason::protocol;
    case Failure::local_resource: return Reason::local_resource;
    case Failure::cancelled: return Reason::cancelled;
    case Failure::internal: return Reason::internal;
  }
  return Reason::internal;
}

bool has_header(const std::vector<journeys::Header>& headers, std::string_view name) {
  for (const auto& h : headers)
    if (journeys::iequals(h.name, name)) return true;
  return false;
}

// What a step needs to send, rendered against the run's scope, and how it is shown.
struct Built {
  transport::HttpRequest request;
  std::string url_shown;
};

// Renders every template of the step's request. On a missing variable returns false with
// *error naming the field.
bool build_request(const journeys::Step& step, journeys::Scope& scope,
                   const Location& location, Built& out, std::string* error) {
  const journeys::Request& rq = step.request;
  transport::HttpRequest& req = out.request;
  Rendered r;
  std::string err;
  auto render = [&](const journeys::Template& t, std::string_view field) {
    if (t.render(scope, r, &err)) {
      // Whatever secret goes out may come back (an echoing server, an error page): from now
      // on the run hides it in every message.
      for (auto& v : r.secret_values) scope.add_secret_value(std::move(v));
      return true;
    }
    *error = std::string(field) + ": " + err;
    return false;
  };

  req.method = rq.method;
  if (!render(rq.url, "url")) return false;
  req.url = std::move(r.value);  // r is rendered afresh before each further use
  out.url_shown = std::move(r.shown);
  char sep = req.url.find('?') == std::string::npos ? '?' : '&';
  for (const auto& q : rq.query) {
    if (!render(q.value, "query " + q.name)) return false;
    const std::string key = journeys::url_encode(q.name);
    req.url += sep + key + "=" + journeys::url_encode(r.value);
    out.url_shown += sep + key + "=" + (r.secret ? std::string("***") : journeys::url_encode(r.value));
    sep = '&';
  }
  for (const auto& h : rq.headers) {
    if (!render(h.value, "header " + h.name)) return false;
    req.headers.push_back({h.name, std::move(r.value)});
  }
  for (const auto& h : location.headers)
    if (!has_header(req.headers, h.name)) req.headers.push_back(h);

  switch (rq.body_kind) {
    case journeys::Request::BodyKind::none:
      break;
    case journeys::Request::BodyKind::raw:
      if (!render(rq.body, "body")) return false;
      req.body = std::move(r.value);
      req.has_body = true;
      break;
    case journeys::Request::BodyKind::json: {
      nlohmann::json doc = rq.json.skeleton;
      for (const auto& slot : rq.json.slots) {
        if (!render(slot.value, "json " + slot.where.to_string())) return false;
        doc[slot.where] = r.value;
      }
      req.body = doc.dump();
      req.has_body = true;
      if (!has_header(req.headers, "Content-Type"))
        req.headers.push_back({"Content-Type", "application/json"});
      break;
    }
    case journeys::Request::BodyKind::form: {
      for (const auto& f : rq.form) {
        if (!render(f.value, "form " + f.name)) return false;
        if (!req.body.empty()) req.body += '&';
        req.body += journeys::url_encode(f.name) + "=" + journeys::url_encode(r.value);
      }
      req.has_body = true;
      if (!has_header(req.headers, "Content-Type"))
        req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
      break;
    }
  }
  req.max_redirects = step.max_redirects;
  req.max_body_bytes = step.max_body_bytes;
  req.tls_verify = step.tls_verify;
  req.ca_file = step.ca_file;
  req.net = location.net;
  return true;
}

// Judges a response: checks first (all of them, so a report lists every failure), then
// captures into the scope.
void judge(const journeys::Step& step, const journeys::Response& response,
           journeys::Scope& scope, record::StepResult& out) {
  for (const auto& check : step.checks) {
    journeys::Verdict v = check->evaluate(response, scope);
    if (v.ok()) continue;
    if (out.result == Result::good) {
      out.result = Result::bad;
      out.reason = reason_of_check(check->reason());
      out.message = scope.redact(v.str());
    }
    out.failed_checks.push_back({scope.redact(v.check), scope.redact(v.expected),
                                 scope.redact(v.actual), scope.redact(v.message),
                                 v.outcome == journeys::Outcome::error});
  }
  if (out.result != Result::good) return;
  for (const auto& capture : step.captures) {
    std::string error;
    std::optional<std::string> value = capture.extract(response, &error);
    if (!value) {
      out.result = Result::bad;
      out.reason = Reason::capture;
      out.message = scope.redact("capture '" + capture.name() + "': " + error);
      return;
    }
    scope.set(capture.name(), std::move(*value), capture.secret());
  }
}

// One step: render, send, judge. Fills sr (result good unless something fails).
boost::asio::awaitable<void> run_step(transport::Client& client, transport::Session& session,
                                      const journeys::Journey& journey, const journeys::Step& step,
                                      const Location& location, Clock::time_point deadline,
                                      std::chrono::microseconds lag_tolerance,
                                      journeys::Scope& scope, record::StepResult& sr,
                                      bool& late_but_good) {
  late_but_good = false;
  sr.result = Result::good;
  Built built;
  std::string error;
  if (!build_request(step, scope, location, built, &error)) {
    sr.result = Result::bad;
    sr.reason = Reason::template_error;
    sr.message = scope.redact(error);
    co_return;
  }
  sr.url = std::move(built.url_shown);
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto left = duration_cast<milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) {
    sr.result = Result::bad;
    sr.reason = Reason::timeout;
    sr.message = "journey timeout (" + journeys::format_duration(journey.timeout) +
                 ") reached before the step started";
    co_return;
  }
  built.request.timeout = std::min(duration_cast<milliseconds>(step.timeout), left);
  built.request.fresh_connection = !journey.reuse_connections;
  transport::HttpResult res =
      co_await client.async_perform(session, built.request, boost::asio::use_awaitable);
  sr.status = res.response.status;
  sr.timings = res.response.timings;
  if (res.response.redirects > 0) sr.final_url = scope.redact(res.response.effective_url);
  if (res.failure == transport::Failure::none) {
    judge(step, res.response, scope, sr);
  } else {
    sr.reason = reason_of_failure(res.failure);
    sr.result = record::is_invalid_reason(sr.reason) ? Result::invalid : Result::bad;
    std::string what = res.message;
    if (res.failure == transport::Failure::timeout)
      what = "no complete answer within " + journeys::format_duration(built.request.timeout) +
             " (" + what + ")";
    sr.message = scope.redact(what);
  }
  // The answer sat in the kernel while the prober was busy: its measured time is partly ours.
  // Good, slow or timed out, it is no measurement of the target; a wrong status or body is.
  const double tolerance_ms = static_cast<double>(lag_tolerance.count()) / 1000.0;
  const bool timing_decided = sr.result == Result::good || sr.reason == Reason::latency ||
                              sr.reason == Reason::timeout;
  if (res.lag_ms > tolerance_ms && timing_decided) {
    late_but_good = sr.result == Result::good;  // every check passed, captures are set
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "what the target sent waited %.1f ms for the busy prober (lag_tolerance %.1f "
                  "ms): the timings are partly the prober's own",
                  res.lag_ms, tolerance_ms);
    sr.result = Result::invalid;
    sr.reason = Reason::loop_stall;
    sr.message = buf;
    sr.failed_checks.clear();
  }
}

}  // namespace

void RunControl::cancel() {
  cancelled_ = true;
  if (client_ != nullptr && session_ != nullptr) client_->cancel(*session_);
}

std::string new_run_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

boost::asio::awaitable<record::RunResult> run_journey(transport::Client& client,
                                                      journeys::JourneyPtr journey,
                                                      const Location& location,
                                                      std::string run_id,
                                                      std::shared_ptr<RunControl> control) {
  record::RunResult run;
  run.journey = journey->name;
  run.cuj = journey->cuj;
  run.location = location.name;
  run.run_id = std::move(run_id);
  run.started_at = std::chrono::system_clock::now();
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + journey->timeout;

  journeys::Scope scope;
  scope.set("journey", journey->name);
  scope.set("location", location.name);
  scope.set("run_id", run.run_id);

  // Vars are evaluated in order; a var failing to render would be a loader bug (vars only
  // see earlier vars), but it is reported, not asserted, as the run's own fault.
  std::string setup_error;
  for (const auto& var : journey->vars) {
    Rendered r;
    std::string err;
    if (!var.value.render(scope, r, &err)) {
      setup_error = "var '" + var.name + "': " + err;
      break;
    }
    scope.set(var.name, r.value, var.secret || r.secret);
    for (auto& v : r.secret_values) scope.add_secret_value(std::move(v));
  }

  transport::Session session;
  if (!control) control = std::make_shared<RunControl>();
  control->client_ = &client;
  control->session_ = &session;
  bool stopped = false;
  bool late_but_good = false, again_late_but_good = false;
  run.steps.reserve(journey->steps.size());  // every step gets a result, run or skipped
  for (const auto& step : journey->steps) {
    record::StepResult& sr = run.steps.emplace_back();
    sr.name = step.name;
    sr.method = step.request.method;
    late_but_good = false;
    if (stopped) {
      sr.result = Result::skipped;
      sr.message = "not run: step '" + run.failed_step + "' failed";
      continue;
    }
    if (control->cancelled()) {
      sr.result = Result::invalid;
      sr.reason = Reason::cancelled;
      sr.message = "cancelled by the prober before the step started";
    } else if (!setup_error.empty()) {
      sr.result = Result::invalid;
      sr.reason = Reason::template_error;
      sr.message = scope.redact(setup_error);
    } else {
      co_await run_step(client, session, *journey, step, location, deadline,
                        control->lag_tolerance, scope, sr, late_but_good);
      // Retries are diagnostics: the first attempt already decided the event.
      for (int i = 0; sr.result == Result::bad && i < step.retries && !control->cancelled(); ++i) {
        record::StepResult again;
        again.name = step.name;
        co_await run_step(client, session, *journey, step, location, deadline,
                          control->lag_tolerance, scope, again, again_late_but_good);
        sr.retries.push_back({again.result, again.reason, again.message, again.status,
                              again.timings.total_ms});
        if (again.result == Result::good) break;
      }
    }
    if (sr.result != Result::good && late_but_good) {
      // Correct, but read late: its time is no measurement, yet the journey goes on (the
      // later steps measure their own); the run is invalid unless a later step is bad.
      if (run.result == Result::good) {
        run.result = Result::invalid;
        run.reason = sr.reason;
        run.failed_step = sr.name;
      }
    } else if (sr.result != Result::good) {
      stopped = true;
      run.result = sr.result;
      run.reason = sr.reason;
      run.failed_step = sr.name;
    }
  }
  control->session_ = nullptr;
  run.duration_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  co_return run;
}

}  // namespace prober::engine
