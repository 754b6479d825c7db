// bench-delayserver: an HTTP/1.1 target that answers after exactly D ms, for the fidelity and
// scale benchmarks (bench/bench.py).
//
//   GET /delay/<ms>[/anything]   answers {"id":42,"ok":true} after <ms> milliseconds (a
//                                decimal: /delay/0.5 is 500 us); any other path answers at once
//
// Why a server of our own: nginx cannot delay, and a thread pool would add its own jitter.
// Here one thread runs one io_context; each request arms one steady_timer for its deadline,
// so the only error is how late that timer fires, and that is measured: for every answer the
// server records excess = (when the answer was handed to the kernel) - (request arrived + D),
// where "arrived" is the kernel's receive timestamp of the request (SO_TIMESTAMPNS): a request
// that waited for this busy loop to read it counts as the target's lateness, as it would for
// any server. The benchmark reports that excess next to the prober's error, as the target's
// own share.
//
// Usage: bench-delayserver [--log FILE]
// Listens on 127.0.0.1, a free port, printed as "port N" on stdout. On SIGTERM or SIGINT it
// stops, prints "excess_us p50=.. p99=.. max=.. count=N" on stdout, and with --log writes one
// line per request: "<arrival, ns since the Unix epoch> <excess ns> <path>" (arrival = the
// kernel's receive time of the request, on the system clock: scale compares it with the
// prober's slot times; the parse time when unstamped).
#include <utility>  // before asio (Boost 1.74 uses std::exchange)

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "prober/transport/rx_stamp.hpp"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using SysClock = std::chrono::system_clock;

struct Record {
  std::int64_t arrival_ns;  // system clock
  std::int64_t excess_ns;
  std::string path;
};

struct Stats {
  bool keep_paths = false;
  std::vector<Record> records;
};

constexpr std::string_view kBody = R"({"id":42,"ok":true})";

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(tcp::socket s, Stats& stats) : sock_(std::move(s)), timer_(sock_.get_executor()), stats_(stats) {
    sock_.set_option(tcp::no_delay(true));
    const int on = 1;
    ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  }

  void start() { read(); }

 private:
  void read() {
    // One request at a time per connection (no pipelining): the next read starts only after
    // the answer is written.
    sock_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      // The first bytes of a request: when they reached the kernel is when it arrived.
      if (self->buf_.empty()) {
        const auto stamp = prober::transport::peek_receive_time(self->sock_.native_handle());
        self->arrival_ = stamp ? std::optional<SysClock::time_point>(SysClock::time_point(
                                     std::chrono::duration_cast<SysClock::duration>(
                                         std::chrono::seconds(stamp->tv_sec) + std::chrono::nanoseconds(stamp->tv_nsec))))
                               : std::nullopt;
      }
      const std::size_t old = self->buf_.size();
      self->buf_.resize(old + 4096);
      boost::system::error_code rec;
      const std::size_t n = self->sock_.read_some(asio::buffer(self->buf_.data() + old, 4096), rec);
      self->buf_.resize(old + n);
      if (rec == asio::error::would_block || rec == asio::error::try_again) return self->read();
      if (rec) return;
      self->parse();
    });
  }

  void parse() {
    const auto end = buf_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (buf_.size() > 65536) return;  // not HTTP: drop the connection
      read();
      return;
    }
    std::size_t total = end + 4;
    // A body (none expected from the benchmarks) is skipped by its Content-Length.
    if (auto cl = buf_.find("\r\nContent-Length:"); cl != std::string::npos && cl < end)
      total += std::strtoull(buf_.c_str() + cl + 17, nullptr, 10);
    if (buf_.size() < total) {
      read();
      return;
    }
    const auto sp1 = buf_.find(' ');
    const auto sp2 = buf_.find(' ', sp1 + 1);
    path_ = (sp1 != std::string::npos && sp2 != std::string::npos && sp2 < end)
                ? buf_.substr(sp1 + 1, sp2 - sp1 - 1)
                : std::string("/");
    close_after_ = buf_.find("onnection: close") < end;
    buf_.erase(0, total);

    double delay_ms = 0;
    if (path_.rfind("/delay/", 0) == 0) delay_ms = std::strtod(path_.c_str() + 7, nullptr);
    // From the kernel's arrival (earlier than now by however long the request waited for
    // this loop), or from now for a request that came in the same read as the one before.
    const auto sys_now = SysClock::now();
    const auto steady_now = SteadyClock::now();
    arrival_sys_ = arrival_ && *arrival_ <= sys_now ? *arrival_ : sys_now;
    arrival_.reset();
    deadline_ = steady_now - std::chrono::duration_cast<SteadyClock::duration>(sys_now - arrival_sys_) +
                std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double, std::milli>(delay_ms));
    if (delay_ms <= 0) {
      answer();
      return;
    }
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->answer();
    });
  }

  void answer() {
    out_ = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(kBody.size()) + "\r\n" + (close_after_ ? "Connection: close\r\n" : "") +
           "\r\n" + std::string(kBody);
    // Written synchronously when the socket takes it all (it does: the answer is tiny), so
    // the excess below is the moment the kernel has the answer.
    boost::system::error_code ec;
    std::size_t n = sock_.write_some(asio::buffer(out_), ec);
    const auto excess = SteadyClock::now() - deadline_;
    stats_.records.push_back({std::chrono::duration_cast<std::chrono::nanoseconds>(arrival_sys_.time_since_epoch()).count(),
                              std::chrono::duration_cast<std::chrono::nanoseconds>(excess).count(),
                              stats_.keep_paths ? path_ : std::string()});
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) return;
    if (ec) n = 0;
    if (n < out_.size()) {
      asio::async_write(sock_, asio::buffer(out_.data() + n, out_.size() - n),
                        [self = shared_from_this()](const boost::system::error_code& wec, std::size_t) {
                          if (!wec) self->next();
                        });
      return;
    }
    next();
  }

  void next() {
    if (close_after_) {
      boost::system::error_code ignored;
      sock_.shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    if (!buf_.empty()) {
      parse();
      return;
    }
    read();
  }

  tcp::socket sock_;
  asio::steady_timer timer_;
  Stats& stats_;
  std::string buf_;
  std::string out_;
  std::string path_;
  bool close_after_ = false;
  std::optional<SysClock::time_point> arrival_;  // the receive timestamp of the next request
  SysClock::time_point arrival_sys_;
  SteadyClock::time_point deadline_;
};

void accept(tcp::acceptor& acc, Stats& stats) {
  acc.async_accept([&acc, &stats](const boost::system::error_code& ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      s.non_blocking(true);
      std::make_shared<Conn>(std::move(s), stats)->start();
    }
    accept(acc, stats);  // EMFILE and the like: keep accepting what can be
  });
}

double quantile_us(std::vector<std::int64_t>& v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string log_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--log" && i + 1 < argc) {
      log_path = argv[++i];
    } else {
      std::cerr << "usage: bench-delayserver [--log FILE]\n";
      return 2;
    }
  }
  asio::io_context io(1);
  Stats stats;
  stats.keep_paths = !log_path.empty();
  stats.records.reserve(1 << 20);
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acc.listen(4096);
  std::cout << "port " << acc.local_endpoint().port() << std::endl;
  accept(acc, stats);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  io.run();

  std::vector<std::int64_t> ex;
  ex.reserve(stats.records.size());
  for (const auto& r : stats.records) ex.push_back(r.excess_ns);
  const double max_us = ex.empty() ? 0 : static_cast<double>(*std::max_element(ex.begin(), ex.end())) / 1000.0;
  const double p50 = quantile_us(ex, 0.5);
  const double p99 = quantile_us(ex, 0.99);
  std::printf("excess_us p50=%.1f p99=%.1f max=%.1f count=%zu\n", p50, p99, max_us, ex.size());
  if (!log_path.empty()) {
    std::ofstream f(log_path);
    for (const auto& r : stats.records) f << r.arrival_ns << ' ' << r.excess_ns << ' ' << r.path << '\n';
    if (!f) {
      std::cerr << "bench-delayserver: cannot write " << log_path << '\n';
      return 1;
    }
  }
  std::fflush(stdout);
  return 0;
}
