#include "prober/sinks/push_sink.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>  // before asio's headers (Boost 1.74 uses std::exchange without it)

#include <boost/asio/steady_timer.hpp>
#include <curl/curl.h>

#include "prober/sinks/influx.hpp"
#include "prober/sinks/remote_write.hpp"

namespace prober::sinks {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using std::chrono::system_clock;

std::string redact_url(const std::string& url) {
  std::string u = url.substr(0, url.find_first_of("?#"));
  const auto scheme = u.find("://");
  const std::size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  const auto path = u.find('/', host);
  const auto at = u.rfind('@', path == std::string::npos ? std::string::npos : path);
  if (at != std::string::npos && at >= host) u.erase(host, at + 1 - host);
  return u;
}

namespace {

// A warning that may repeat every second (a store down, a queue full) is logged at most once
// per `every`, with how many were held back since.
class RateLimit {
 public:
  // True when this one is to be logged; `suppressed` gets the number held back before it.
  bool allow(milliseconds every, std::uint64_t& suppressed) {
    const auto now = steady_clock::now();
    if (logged_ && now - last_ < every) {
      ++held_;
      return false;
    }
    logged_ = true;
    last_ = now;
    suppressed = held_;
    held_ = 0;
    return true;
  }

 private:
  bool logged_ = false;
  steady_clock::time_point last_;
  std::uint64_t held_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Spill segments: files NAME.seg under spill_dir, sent in the order of their 20-digit sequence
// number. A record is u32 length + series bytes + u32 length + point bytes (little-endian). A
// segment is written to .tmp and renamed, so a crash never leaves half a segment under .seg;
// a damaged tail (disk full) ends the segment where it breaks.

struct Segment {
  std::uint64_t seq = 0;
  std::size_t samples = 0;
  std::uint64_t bytes = 0;
  fs::path path;
};

constexpr std::uint64_t kFirstSeq = 1ull << 40;  // room below for segments written on stop

std::uint64_t record_bytes(const WireSample& w) { return 8 + w.series.size() + w.point.size(); }

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

bool get_u32(const std::string& in, std::size_t& pos, std::uint32_t& v) {
  if (in.size() - pos < 4) return false;
  v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[pos + i])) << (8 * i);
  pos += 4;
  return true;
}

std::string read_whole(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return data;
}

// Parses a segment; stops at a damaged tail.
std::vector<WireSample> parse_segment(const std::string& data) {
  std::vector<WireSample> out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::uint32_t n = 0;
    WireSample w;
    if (!get_u32(data, pos, n) || data.size() - pos < n) break;
    w.series = data.substr(pos, n);
    pos += n;
    if (!get_u32(data, pos, n) || data.size() - pos < n) break;
    w.point = data.substr(pos, n);
    pos += n;
    out.push_back(std::move(w));
  }
  return out;
}

std::string seg_name(std::uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.seg", static_cast<unsigned long long>(seq));
  return buf;
}

// Printable, short: a store's error body for a log line.
std::string clip(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 300)) out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::once_flag curl_once;

}  // namespace

// ---------------------------------------------------------------------------------------------
// PushSink

struct PushSink::Impl {
  Impl(PushSinkConfig c, engine::Logger& l, PushOptions o)
      : config(std::move(c)), log(l), options(o), cap(std::max<std::size_t>(1, config.queue_samples)) {}

  const PushSinkConfig config;
  engine::Logger& log;
  const PushOptions options;
  const std::size_t cap;  // samples in memory

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<WireSample> mem;          // oldest first; the front batch is the one in flight
  std::deque<WireSample> to_spill;     // newer than everything spilled; the sender writes them
  std::uint64_t to_spill_bytes = 0;
  std::size_t spilled_samples = 0;     // in segment files
  std::uint64_t spilled_bytes = 0;
  PushSinkStats counters;
  bool stopping = false;
  steady_clock::time_point deadline;
  // The same for curl's progress callback, which must not take `mu`: a request in flight when
  // the grace period ends is aborted rather than left to run into its own timeout.
  std::atomic<bool> abort_armed{false};
  std::atomic<steady_clock::rep> abort_at{0};
  system_clock::time_point last_t;
  RateLimit full_limit;

  // Sender thread only.
  std::deque<Segment> segments;
  std::uint64_t next_seq = kFirstSeq;
  RateLimit fail_limit, reject_limit;

  std::thread thread;

  bool spill_enabled() const { return !config.spill_dir.empty(); }
  void load_spill();
  void enqueue(std::vector<WireSample> samples);
  void run();
  bool write_segment(std::vector<WireSample>& items, std::uint64_t seq, std::uint64_t& bytes);
  enum class Outcome { sent, rejected, retry };
  Outcome post(CURL* h, const std::vector<WireSample>& batch, milliseconds timeout,
               std::string& detail);
  void finish();
};

void PushSink::Impl::load_spill() {
  std::error_code ec;
  fs::create_directories(config.spill_dir, ec);
  if (ec || !fs::is_directory(config.spill_dir))
    throw std::runtime_error("sinks." + config.name + ".spill_dir: cannot create " +
                             config.spill_dir + ": " + (ec ? ec.message() : "not a directory"));
  std::vector<Segment> found;
  for (const auto& entry : fs::directory_iterator(config.spill_dir, ec)) {
    const fs::path& p = entry.path();
    if (p.extension() == ".tmp") {  // a write that a crash interrupted
      fs::remove(p, ec);
      continue;
    }
    if (p.extension() != ".seg") continue;
    const std::string stem = p.stem().string();
    if (stem.size() != 20 || stem.find_first_not_of("0123456789") != std::string::npos) continue;
    Segment s;
    s.seq = std::stoull(stem);
    s.path = p;
    const auto items = parse_segment(read_whole(p));
    s.samples = items.size();
    for (const auto& w : items) s.bytes += record_bytes(w);
    if (s.samples == 0) {
      fs::remove(p, ec);
      continue;
    }
    found.push_back(std::move(s));
  }
  std::sort(found.begin(), found.end(), [](const Segment& a, const Segment& b) { return a.seq < b.seq; });
  for (auto& s : found) {
    spilled_samples += s.samples;
    spilled_bytes += s.bytes;
    next_seq = std::max(next_seq, s.seq + 1);
    segments.push_back(std::move(s));
  }
  if (!segments.empty())
    log.info("push sink resumes spilled samples",
             {{"sink", config.name}, {"samples", static_cast<long long>(spilled_samples)},
              {"bytes", static_cast<long long>(spilled_bytes)}, {"spill_dir", config.spill_dir}});
}

void PushSink::Impl::enqueue(std::vector<WireSample> samples) {
  std::uint64_t dropped = 0, suppressed = 0;
  bool log_it = false;
  {
    std::lock_guard lock(mu);
    for (auto& w : samples) {
      // FIFO: once anything is spilled, newer samples queue behind it on disk.
      if (spilled_samples == 0 && to_spill.empty() && mem.size() < cap) {
        mem.push_back(std::move(w));
      } else if (spill_enabled() && !stopping &&
                 spilled_bytes + to_spill_bytes + record_bytes(w) <= config.spill_bytes) {
        // Bounded by spill_bytes like the disk: the sender writes them out between requests.
        to_spill_bytes += record_bytes(w);
        to_spill.push_back(std::move(w));
      } else {
        ++dropped;
      }
    }
    counters.dropped_queue_full += dropped;
    if (dropped > 0) log_it = full_limit.allow(options.log_every, suppressed);
  }
  cv.notify_all();
  if (log_it)
    log.warn("push sink queue full, samples dropped",
             {{"sink", config.name}, {"dropped", static_cast<long long>(dropped)},
              {"queue_samples", static_cast<long long>(cap)},
              {"spill_bytes", static_cast<long long>(spill_enabled() ? config.spill_bytes : 0)},
              {"warnings_suppressed", static_cast<long long>(suppressed)}});
}

// Writes `items` as segment `seq`; on failure logs and returns false (the caller counts them).
bool PushSink::Impl::write_segment(std::vector<WireSample>& items, std::uint64_t seq,
                                   std::uint64_t& bytes) {
  std::string data;
  bytes = 0;
  for (const auto& w : items) {
    put_u32(data, static_cast<std::uint32_t>(w.series.size()));
    data += w.series;
    put_u32(data, static_cast<std::uint32_t>(w.point.size()));
    data += w.point;
    bytes += record_bytes(w);
  }
  const fs::path final_path = fs::path(config.spill_dir) / seg_name(seq);
  fs::path tmp = final_path;
  tmp.replace_extension(".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      log.error("push sink cannot write its spill file, samples dropped",
                {{"sink", config.name}, {"file", tmp.string()}, {"error", std::strerror(errno)},
                 {"samples", static_cast<long long>(items.size())}});
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, final_path, ec);
  if (ec) {
    log.error("push sink cannot write its spill file, samples dropped",
              {{"sink", config.name}, {"file", final_path.string()}, {"error", ec.message()},
               {"samples", static_cast<long long>(items.size())}});
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

namespace {

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* impl = static_cast<const PushSink::Impl*>(user);
  if (!impl->abort_armed.load(std::memory_order_relaxed)) return 0;
  return steady_clock::now().time_since_epoch().count() >= impl->abort_at.load() ? 1 : 0;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() < 4096) body->append(data, std::min(size * n, 4096 - body->size()));
  return size * n;
}

}  // namespace

PushSink::Impl::Outcome PushSink::Impl::post(CURL* h, const std::vector<WireSample>& batch,
                                             milliseconds timeout, std::string& detail) {
  std::string body, url;
  curl_slist* headers = nullptr;
  const auto header = [&headers](const std::string& line) {
    headers = curl_slist_append(headers, line.c_str());
  };
  if (config.kind == PushKind::remote_write) {
    body = remote_write_body(batch);
    url = config.url;
    header("Content-Encoding: " + std::string(kRemoteWriteEncoding));
    header("Content-Type: " + std::string(kRemoteWriteContentType));
    header("X-Prometheus-Remote-Write-Version: " + std::string(kRemoteWriteVersion));
    if (!config.bearer_token.empty()) header("Authorization: Bearer " + config.bearer_token.value);
  } else {
    body = influx_body(batch);
    url = influx_write_url(config);
    header("Content-Type: text/plain; charset=utf-8");
    if (!config.bearer_token.empty()) header("Authorization: Token " + config.bearer_token.value);
  }
  header("User-Agent: prober");
  header("Expect:");  // no 100-continue round trip for large bodies
  for (const auto& [k, v] : config.headers) header(k + ": " + v);

  std::string response;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long long>(1, timeout.count())));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<long long>(1, timeout.count())));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, this);
  if (!config.basic_user.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, config.basic_user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, config.basic_password.value.c_str());
  }
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(headers);

  if (rc != CURLE_OK) {
    // curl's message names host and port, never the user info or the headers.
    detail = error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(rc));
    return Outcome::retry;
  }
  detail = "HTTP " + std::to_string(status);
  const std::string why = clip(response);
  if (!why.empty()) detail += ": " + why;
  if (status >= 200 && status < 300) return Outcome::sent;
  if (status == 429 || status >= 500) return Outcome::retry;
  return Outcome::rejected;
}

void PushSink::Impl::run() {
  CURL* h = curl_easy_init();
  std::mt19937_64 rng(std::random_device{}());
  unsigned attempt = 0;              // failures in a row of the front batch
  steady_clock::time_point retry_at;  // no attempt before
  bool stop_seen = false;

  std::unique_lock lock(mu);
  for (;;) {
    if (stopping && !stop_seen) {
      stop_seen = true;
      retry_at = {};  // one prompt attempt when asked to stop, whatever the backoff
    }
    const auto now = steady_clock::now();
    if (stopping && now >= deadline) break;

    // Samples waiting for the disk go straight to memory once nothing older is on disk.
    while (spilled_samples == 0 && !to_spill.empty() && mem.size() < cap) {
      to_spill_bytes -= record_bytes(to_spill.front());
      mem.push_back(std::move(to_spill.front()));
      to_spill.pop_front();
    }
    if (!to_spill.empty() && (spilled_samples > 0 || mem.size() >= cap)) {
      std::deque<WireSample> items;
      items.swap(to_spill);
      const std::uint64_t pending = to_spill_bytes;
      lock.unlock();
      // Segments of at most half the memory bound, so one always fits once memory drains.
      const std::size_t per = std::max<std::size_t>(1, cap / 2);
      std::vector<Segment> written;
      std::uint64_t lost = 0;
      for (std::size_t i = 0; i < items.size(); i += per) {
        std::vector<WireSample> part(std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(i)),
                                     std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + per))));
        Segment s;
        s.seq = next_seq++;  // sender thread only
        s.samples = part.size();
        s.path = fs::path(config.spill_dir) / seg_name(s.seq);
        if (write_segment(part, s.seq, s.bytes))
          written.push_back(std::move(s));
        else
          lost += part.size();
      }
      lock.lock();
      to_spill_bytes -= pending;
      for (auto& s : written) {
        spilled_samples += s.samples;
        spilled_bytes += s.bytes;
        segments.push_back(std::move(s));
      }
      counters.dropped_queue_full += lost;
      continue;
    }
    // Refill memory from the oldest segment when it fits (always when memory is empty: a
    // segment left by a process with a larger bound may not fit otherwise).
    if (!segments.empty() && (mem.empty() || mem.size() + segments.front().samples <= cap)) {
      Segment s = segments.front();
      lock.unlock();
      auto items = parse_segment(read_whole(s.path));
      std::error_code ec;
      fs::remove(s.path, ec);
      lock.lock();
      segments.pop_front();
      spilled_samples -= s.samples;
      spilled_bytes -= s.bytes;
      counters.dropped_queue_full += s.samples - std::min(s.samples, items.size());
      for (auto& w : items) mem.push_back(std::move(w));
      continue;
    }
    if (mem.empty()) {
      if (stopping && to_spill.empty() && segments.empty()) break;  // drained
      if (stopping)
        cv.wait_until(lock, deadline);
      else
        cv.wait(lock);
      continue;
    }
    if (now < retry_at) {
      const auto until = stopping ? std::min(retry_at, deadline) : retry_at;
      cv.wait_until(lock, until);
      continue;
    }

    const std::size_t n = std::min(mem.size(), std::max<std::size_t>(1, config.batch_size));
    std::vector<WireSample> batch(mem.begin(), mem.begin() + static_cast<std::ptrdiff_t>(n));
    milliseconds timeout = config.timeout;
    if (stopping)
      timeout = std::min(timeout, std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1));
    lock.unlock();
    std::string detail;
    const Outcome outcome = post(h, batch, timeout, detail);
    lock.lock();

    if (outcome == Outcome::retry) {
      ++counters.send_failures;
      ++attempt;
      // Exponential backoff with jitter: base doubles per failure up to the maximum; the wait
      // is uniform in [base/2, base], so a fleet that lost one store does not retry in step.
      const auto shift = std::min(attempt - 1, 20u);
      const auto base = std::min<long long>(options.backoff_max.count(),
                                            options.backoff_initial.count() << shift);
      std::uniform_int_distribution<long long> jitter(base / 2, std::max<long long>(base / 2, base));
      const milliseconds wait(jitter(rng));
      retry_at = steady_clock::now() + wait;
      std::uint64_t suppressed = 0;
      if (fail_limit.allow(options.log_every, suppressed)) {
        lock.unlock();
        log.warn("push sink send failed, will retry",
                 {{"sink", config.name}, {"url", redact_url(config.url)}, {"error", detail},
                  {"samples", static_cast<long long>(n)},
                  {"retry_in_ms", static_cast<long long>(wait.count())},
                  {"warnings_suppressed", static_cast<long long>(suppressed)}});
        lock.lock();
      }
      continue;
    }
    attempt = 0;
    retry_at = {};
    mem.erase(mem.begin(), mem.begin() + static_cast<std::ptrdiff_t>(n));
    if (outcome == Outcome::sent) {
      counters.sent += n;
    } else {
      counters.dropped_rejected += n;
      std::uint64_t suppressed = 0;
      if (reject_limit.allow(options.log_every, suppressed)) {
        lock.unlock();
        log.error("push sink batch rejected by the store, samples dropped",
                  {{"sink", config.name}, {"url", redact_url(config.url)}, {"error", detail},
                   {"samples", static_cast<long long>(n)},
                   {"warnings_suppressed", static_cast<long long>(suppressed)}});
        lock.lock();
      }
    }
  }
  lock.unlock();
  curl_easy_cleanup(h);
  finish();
}

// After the deadline: keep what is left on disk when there is a spill_dir (memory first, under
// lower sequence numbers than every segment, so the next start sends it in order), else count
// it as dropped.
void PushSink::Impl::finish() {
  std::unique_lock lock(mu);
  std::vector<WireSample> front(std::make_move_iterator(mem.begin()), std::make_move_iterator(mem.end()));
  mem.clear();
  std::vector<WireSample> back(std::make_move_iterator(to_spill.begin()),
                              std::make_move_iterator(to_spill.end()));
  to_spill.clear();
  to_spill_bytes = 0;
  lock.unlock();

  std::uint64_t kept = 0, lost = 0;
  if (spill_enabled()) {
    const std::uint64_t first = segments.empty() ? next_seq : segments.front().seq;
    std::uint64_t bytes = 0;
    std::uint64_t room = config.spill_bytes > spilled_bytes ? config.spill_bytes - spilled_bytes : 0;
    const auto keep = [&](std::vector<WireSample>& items, std::uint64_t seq) {
      if (items.empty()) return;
      std::uint64_t need = 0;
      for (const auto& w : items) need += record_bytes(w);
      if (need <= room && write_segment(items, seq, bytes)) {
        room -= bytes;
        kept += items.size();
        lock.lock();
        spilled_samples += items.size();
        spilled_bytes += bytes;
        lock.unlock();
      } else {
        lost += items.size();
      }
    };
    keep(front, first - 1);
    keep(back, next_seq++);
  } else {
    lost = front.size() + back.size();
  }
  lock.lock();
  counters.dropped_queue_full += lost;
  const std::uint64_t on_disk = spilled_samples;
  lock.unlock();
  if (lost > 0)
    log.error("push sink stopped with samples unsent, dropped",
              {{"sink", config.name}, {"dropped", static_cast<long long>(lost)}});
  if (on_disk > 0)
    log.warn("push sink stopped with samples unsent, kept in spill_dir for the next start",
             {{"sink", config.name}, {"samples", static_cast<long long>(on_disk)},
              {"newly_kept", static_cast<long long>(kept)}, {"spill_dir", config.spill_dir}});
}

PushSink::PushSink(PushSinkConfig config, engine::Logger& log, PushOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), log, options)) {
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->counters.name = impl_->config.name;
  if (impl_->spill_enabled()) impl_->load_spill();
}

PushSink::~PushSink() {
  if (impl_->thread.joinable()) {
    stop(steady_clock::now());
    join();
  }
}

void PushSink::start() {
  if (impl_->thread.joinable()) return;
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void PushSink::add(const Samples& samples, system_clock::time_point t) {
  {
    std::lock_guard lock(impl_->mu);
    // Remote write stamps samples in whole milliseconds: compare there, or two samples taken
    // within one millisecond (the last flush and the final sample at stop) share a timestamp
    // with different values, and Prometheus rejects the batch ("duplicate sample for
    // timestamp").
    t = std::chrono::floor<milliseconds>(t);
    if (t <= impl_->last_t) t = impl_->last_t + milliseconds(1);
    impl_->last_t = t;
  }
  std::vector<WireSample> out;
  out.reserve(samples.series.size());
  const auto since_epoch = t.time_since_epoch();
  if (impl_->config.kind == PushKind::remote_write)
    remote_write_encode(samples, std::chrono::duration_cast<milliseconds>(since_epoch).count(), out);
  else
    influx_encode(samples, std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count(), out);
  impl_->enqueue(std::move(out));
}

void PushSink::enqueue(std::vector<WireSample> samples) { impl_->enqueue(std::move(samples)); }

void PushSink::stop(steady_clock::time_point deadline) {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->stopping) {
      impl_->stopping = true;
      impl_->deadline = deadline;
    } else {
      impl_->deadline = std::min(impl_->deadline, deadline);
    }
    impl_->abort_at = impl_->deadline.time_since_epoch().count();
    impl_->abort_armed = true;
  }
  impl_->cv.notify_all();
}

void PushSink::join() {
  if (impl_->thread.joinable()) impl_->thread.join();
}

PushSinkStats PushSink::stats() const {
  std::lock_guard lock(impl_->mu);
  PushSinkStats s = impl_->counters;
  s.queued = impl_->mem.size() + impl_->to_spill.size() + impl_->spilled_samples;
  s.spilled_bytes = impl_->spilled_bytes;
  return s;
}

const PushSinkConfig& PushSink::config() const { return impl_->config; }

// ---------------------------------------------------------------------------------------------
// PushSinks

struct PushSinks::Timers {
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timers;
  std::vector<steady_clock::time_point> next;
};

PushSinks::PushSinks(boost::asio::io_context& io, std::vector<PushSinkConfig> sinks,
                     const record::Recorder& recorder, const engine::SchedulerStats* self,
                     engine::Logger& log, PushOptions options)
    : io_(io), recorder_(recorder), self_(self), log_(log), timers_(std::make_unique<Timers>()) {
  for (auto& c : sinks) {
    sinks_.push_back(std::make_unique<PushSink>(std::move(c), log, options));
    timers_->timers.push_back(std::make_unique<boost::asio::steady_timer>(io_));
    timers_->next.emplace_back();
  }
}

PushSinks::~PushSinks() {
  if (!stopped_) stop(milliseconds(0));
}

void PushSinks::start() {
  if (started_) return;
  started_ = true;
  for (std::size_t i = 0; i < sinks_.size(); ++i) {
    const auto& c = sinks_[i]->config();
    const char* kind = c.kind == PushKind::remote_write ? "remote_write"
                       : c.kind == PushKind::influx_v1  ? "influxdb v1"
                                                        : "influxdb v2";
    log_.info("push sink started",
              {{"sink", c.name}, {"type", std::string(kind)}, {"url", redact_url(c.url)},
               {"flush_interval_ms", static_cast<long long>(c.flush_interval.count())}});
    sinks_[i]->start();
    timers_->next[i] = steady_clock::now();
    arm(i);
  }
}

void PushSinks::arm(std::size_t i) {
  const auto interval = std::max(milliseconds(1), sinks_[i]->config().flush_interval);
  timers_->next[i] += interval;
  const auto now = steady_clock::now();
  if (timers_->next[i] < now) timers_->next[i] = now + interval;  // after a stall: no burst
  auto& t = *timers_->timers[i];
  t.expires_at(timers_->next[i]);
  t.async_wait([this, i](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: `this` may be gone
    sample(i);
    arm(i);
  });
}

void PushSinks::sample(std::size_t i) {
  sinks_[i]->add(collect_samples(recorder_, self_, stats()), system_clock::now());
}

void PushSinks::sample_all() {
  const Samples s = collect_samples(recorder_, self_, stats());
  const auto now = system_clock::now();
  for (auto& sink : sinks_) sink->add(s, now);
}

void PushSinks::stop(milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  for (auto& t : timers_->timers) t->cancel();
  if (started_) sample_all();  // the last counts, so stores end with what the prober saw
  if (!started_) return;
  // One deadline for all: the sinks drain in parallel.
  const auto deadline = steady_clock::now() + grace;
  for (auto& s : sinks_) s->stop(deadline);
  for (auto& s : sinks_) s->join();
  for (const auto& st : stats())
    log_.info("push sink stopped",
              {{"sink", st.name}, {"sent", static_cast<long long>(st.sent)},
               {"queued", static_cast<long long>(st.queued)},
               {"dropped_queue_full", static_cast<long long>(st.dropped_queue_full)},
               {"dropped_rejected", static_cast<long long>(st.dropped_rejected)},
               {"send_failures", static_cast<long long>(st.send_failures)}});
}

std::vector<PushSinkStats> PushSinks::stats() const {
  std::vector<PushSinkStats> out;
  out.reserve(sinks_.size());
  for (const auto& s : sinks_) out.push_back(s->stats());
  return out;
}

}  // namespace prober::sinks
