#pragma once
// The Prometheus scrape endpoint: render the Recorder's cumulative counters and histograms in
// the text exposition format 0.0.4 or OpenMetrics 1.0.0, and serve them over HTTP/1.1 on the
// prober's own io_context (no thread: the Recorder is single-threaded, so the server renders on
// the thread that owns it). Every exported family is listed in the README "Metrics".

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "prober/engine/scheduler.hpp"
#include "prober/record/recorder.hpp"
#include "prober/sinks/samples.hpp"

namespace prober::sinks {

// The exposition of `recorder` (and of the scheduler's self-monitoring when `self` is not
// null). Families come in a fixed order, series sorted by their label values; counters of a
// step or journey that has been seen are exported even at 0, so rate() works from the first
// scrape. openmetrics: OpenMetrics 1.0.0 (counter families named without `_total` in the
// metadata, `le` as floats, `# EOF`); otherwise text format 0.0.4.
// `push`: the push sinks' stats (PushSinks::stats()), exported as prober_sink_* families.
std::string render_metrics(const record::Recorder& recorder, const engine::SchedulerStats* self,
                           bool openmetrics, const std::vector<PushSinkStats>& push = {});
// The same from collected samples (collect_samples in samples.hpp).
std::string render_metrics(const Samples& samples, bool openmetrics);

// Label values and HELP text as the formats want them: backslash, double quote (label values
// only) and line feed escaped.
std::string escape_label_value(std::string_view value);

inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// GET /metrics (OpenMetrics when the Accept header names application/openmetrics-text),
// GET /healthz ("ok"), anything else 404. HTTP/1.1 with keep-alive.
//
// A client gets `read_timeout` to send a whole request (and, kept alive, to start the next
// one), at most 8 KiB of headers and no body to speak of, so a slowloris client or a stuck
// scraper cannot hold a connection; at most 64 connections at once.
//
// Threading: constructed, used and destroyed on the io_context's thread; `render` is called
// on that thread. Throws std::runtime_error naming the address when `listen` is not
// "IP:port" / "[IPv6]:port" or cannot be bound. Port 0 binds an ephemeral port (see port()).
class MetricsServer {
 public:
  MetricsServer(boost::asio::io_context& io, std::string listen,
                std::function<std::string(bool openmetrics)> render,
                std::chrono::milliseconds read_timeout = std::chrono::seconds(10));
  ~MetricsServer();  // stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  std::uint16_t port() const { return port_; }
  // Closes the acceptor and every connection; idempotent. Pending handlers complete with
  // operation_aborted and touch nothing of this object.
  void stop();

  struct State;  // shared with the connections, which may outlive this object briefly

 private:
  std::shared_ptr<State> state_;
  std::uint16_t port_ = 0;
};

}  // namespace prober::sinks
