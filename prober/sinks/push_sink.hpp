#pragma once
// Push sinks: Prometheus remote write 1.0 and InfluxDB line protocol over HTTP.
//
// Every flush_interval of a sink, the io_context's thread samples the Recorder (the same series
// as /metrics, see samples.hpp), encodes them for that sink and appends them to the sink's
// bounded queue; a sender thread per sink (its own libcurl easy handle, never on the event loop)
// takes batches of batch_size samples from the front and POSTs them:
//   * 2xx: the batch is sent.
//   * network error, timeout, 5xx, 429: the same batch is retried after an exponential backoff
//     (0.5 s doubling to 30 s, with full jitter), for as long as it takes; the queue keeps filling
//     meanwhile.
//   * any other 4xx: the store refuses the data; retrying would block the queue forever, so the
//     batch is dropped, counted as rejected and logged (at most once a minute per sink).
// The queue holds queue_samples samples in memory; past that, with spill_dir set, samples go to
// segment files there (oldest sent first) up to spill_bytes; past every bound the newest samples
// are dropped, counted (queue_full) and logged (rate-limited). Spilled segments left by an
// earlier process are sent first on start.
//
// Credentials (bearer token, basic auth password, InfluxDB token) go only into the request
// headers: no log line and no error message carries them, nor a URL's query string.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "prober/engine/log.hpp"
#include "prober/engine/scheduler.hpp"
#include "prober/record/recorder.hpp"
#include "prober/sinks/samples.hpp"  // PushSinkStats
#include "prober/sinks/sink_config.hpp"
#include "prober/sinks/wire_sample.hpp"

namespace prober::sinks {

// Knobs the tests shorten; the daemon uses the defaults.
struct PushOptions {
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds log_every{60000};  // rate limit of repeated warnings per sink
};

// One sink: its queue (memory, then spill files) and its sender thread.
class PushSink {
 public:
  // Creates spill_dir (and picks up segments an earlier process left there); throws
  // std::runtime_error naming the sink and the folder when it cannot.
  PushSink(PushSinkConfig config, engine::Logger& log, PushOptions options = {});
  ~PushSink();  // stop(now) and join() if still running
  PushSink(const PushSink&) = delete;
  PushSink& operator=(const PushSink&) = delete;

  void start();  // starts the sender thread
  // Any thread (the io thread in the daemon): encodes `samples` for this sink's wire format at
  // time `t` (made strictly later than the previous call's, so no two samples of a series
  // share a timestamp) and enqueues them.
  void add(const Samples& samples, std::chrono::system_clock::time_point t);
  // Any thread: appends to the queue; past the bounds the newest are dropped and counted.
  void enqueue(std::vector<WireSample> samples);
  // Asks the sender to drain until `deadline`, then quit: what is still queued then is kept in
  // spill_dir (up to spill_bytes) when there is one, else counted as dropped (queue_full); both
  // are logged. Returns at once; join() waits.
  void stop(std::chrono::steady_clock::time_point deadline);
  void join();
  PushSinkStats stats() const;  // thread-safe
  const PushSinkConfig& config() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The URL without user info and query (for logs and messages): "http://host:port/path".
std::string redact_url(const std::string& url);

class PushSinks {
 public:
  // On the io_context's thread. Nothing runs before start(). `recorder`, `self` (may be null),
  // `log` and `io` must outlive this object. Throws std::runtime_error naming the sink when a
  // spill_dir cannot be created.
  PushSinks(boost::asio::io_context& io, std::vector<PushSinkConfig> sinks,
            const record::Recorder& recorder, const engine::SchedulerStats* self,
            engine::Logger& log, PushOptions options = {});
  ~PushSinks();  // stop(0) if not stopped
  PushSinks(const PushSinks&) = delete;
  PushSinks& operator=(const PushSinks&) = delete;

  // On the io thread: starts the sender threads and the flush timers (first sample after one
  // flush_interval).
  void start();
  // On the io thread after the scheduler stopped: takes one last sample, then blocks up to
  // `grace` while the senders drain their queues; what is still queued then is counted as
  // dropped (queue_full) and logged. Idempotent.
  void stop(std::chrono::milliseconds grace);
  // Thread-safe; for /metrics (collect_samples / render_metrics) and the final log.
  std::vector<PushSinkStats> stats() const;
  bool empty() const { return sinks_.empty(); }

 private:
  void arm(std::size_t i);
  void sample(std::size_t i);
  void sample_all();

  boost::asio::io_context& io_;
  const record::Recorder& recorder_;
  const engine::SchedulerStats* self_;
  engine::Logger& log_;
  std::vector<std::unique_ptr<PushSink>> sinks_;
  struct Timers;
  std::unique_ptr<Timers> timers_;
  bool started_ = false, stopped_ = false;
};

}  // namespace prober::sinks
