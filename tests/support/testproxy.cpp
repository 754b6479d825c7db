// testproxy: a loopback HTTP/1.1 forward proxy, so tests can prove that a location configured
// with `proxy = "http://127.0.0.1:PORT"` really sends its requests through a proxy. Raw
// Boost.Asio on one thread, one coroutine per client connection.
//
//   testproxy [--host 127.0.0.1] [--port 0] [--log FILE]
//
// Prints `listening on http://HOST:PORT` once accepting, serves until SIGTERM/SIGINT, exits 0;
// a bad argument exits 2 naming it.
//
// - Absolute-form requests (`GET http://127.0.0.1:8080/p?q HTTP/1.1`) go upstream in origin-form
//   (`GET /p?q HTTP/1.1`) with Host taken from the URL, the hop-by-hop headers dropped
//   (Connection and the names it lists, Proxy-Connection, Proxy-Authorization, Keep-Alive, TE,
//   Trailer, Upgrade) and `Via: 1.1 testproxy` added; the body is relayed by its framing
//   (Content-Length or chunked, bytes as they come, never buffered whole), and so is the answer
//   (Content-Length, chunked or until-close), so one client connection carries any number of
//   requests, to any mix of hosts. Each request gets a fresh upstream connection, sent with
//   `Connection: close` (an upstream echo shows it), so a stale pooled one never fakes a 502.
// - With `Expect: 100-continue` the body goes up while the answer comes down: the upstream's
//   100 reaches the client at once, and an early final answer ends the exchange (and the client
//   connection, announced with `Connection: close`) without waiting for the body.
// - A body cut short upstream resets the client connection, so the client sees an error even
//   for an answer framed by the end of the connection.
// - `CONNECT host:port` answers `200 Connection Established`, then tunnels bytes both ways.
// - Targets must be loopback: a numeric 127.0.0.0/8 or ::1 address, or "localhost" (taken as
//   127.0.0.1, then ::1; no name is ever resolved). Anything else gets 403 without a connection
//   attempt, so a test can never reach the network. An unreachable upstream gets 502.
//
// With --log, one JSON line per request, flushed before the answer is relayed:
//   {"t_ms": unix ms at arrival, "method", "target": the absolute URL, or host:port for CONNECT,
//    "client": "ip:port" of the client connection, "status": upstream status or our 4xx/502}
// "client" includes the port so a test can tell whether two requests shared a connection.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

// GCC 12 false positive: Asio's awaitable frames come from a recycling allocator whose operator
// new inlines to ::operator new(size + 1); GCC then pairs that pointer with the frame's class
// operator delete on a coroutine ramp's cleanup path and calls it mismatched. Where it fires
// depends on inlining (-O1, -O2 with sanitizers...), so no code shape avoids it everywhere.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

namespace net = boost::asio;
using net::awaitable;
using net::use_awaitable;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using boost::system::error_code;

constexpr std::size_t kMaxHead = 64 * 1024;  // request or response head, and one chunk line
constexpr std::size_t kMaxDrain = 16 * 1024 * 1024;
constexpr std::string_view kVia = "1.1 testproxy";

// A connection and the bytes read from it but not yet consumed.
struct Peer {
  explicit Peer(tcp::socket s) : sock(std::move(s)) {}
  tcp::socket sock;
  std::string buf;
};

// How a body copy ended: `src` means reading failed (peer gone, or EOF before the end), `dst`
// means writing failed, `malformed` a chunked framing error.
enum class Io { ok, src, dst, malformed };

// A request or response head. Field names keep their case; lookups ignore it.
struct Head {
  std::string start;  // the request line or status line
  std::vector<std::pair<std::string, std::string>> fields;

  std::vector<const std::string*> all(std::string_view name) const;
  // Whether a comma-separated field (Connection, Transfer-Encoding...) lists `token`.
  bool lists(std::string_view name, std::string_view token) const;
};

struct State {
  std::ofstream log;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// The trimmed, non-empty elements of a comma-separated list.
std::vector<std::string_view> split_list(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::size_t pos = 0; pos <= s.size();) {
    std::size_t comma = std::min(s.find(',', pos), s.size());
    std::string_view item = trim(s.substr(pos, comma - pos));
    if (!item.empty()) out.push_back(item);
    pos = comma + 1;
  }
  return out;
}

std::vector<const std::string*> Head::all(std::string_view name) const {
  std::vector<const std::string*> out;
  for (const auto& [n, v] : fields)
    if (iequals(n, name)) out.push_back(&v);
  return out;
}

bool Head::lists(std::string_view name, std::string_view token) const {
  for (const std::string* v : all(name))
    for (std::string_view item : split_list(*v))
      if (iequals(item, token)) return true;
  return false;
}

template <typename Int>
std::optional<Int> to_int(std::string_view s, int base = 10) {
  Int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

double unix_ms_now() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return static_cast<double>(us.count()) / 1000.0;
}

std::string endpoint_name(const tcp::endpoint& e) {
  std::string ip = e.address().to_string();
  if (e.address().is_v6()) ip = "[" + ip + "]";
  return ip + ":" + std::to_string(e.port());
}

// ---------------------------------------------------------------------------------------------
// Reading and copying. Every function here reports errors in its result instead of throwing,
// because the caller must know which side failed to decide between 502 and hanging up.

enum class HeadResult { ok, closed, too_big, malformed };

// Reads one head (up to the blank line) from `p`. `closed`: EOF or an error, with or without
// part of a head.
awaitable<HeadResult> read_head(Peer& p, Head& h) {
  // Tolerate empty lines before a request (RFC 9112 2.2): some clients send a CRLF after a body.
  error_code ec;
  for (;;) {
    std::size_t n = co_await net::async_read_until(p.sock, net::dynamic_buffer(p.buf, kMaxHead),
                                                   "\r\n", net::redirect_error(use_awaitable, ec));
    if (ec == net::error::not_found) co_return HeadResult::too_big;
    if (ec) co_return HeadResult::closed;
    if (n != 2) break;
    p.buf.erase(0, 2);
  }
  std::size_t n =
      co_await net::async_read_until(p.sock, net::dynamic_buffer(p.buf, kMaxHead), "\r\n\r\n",
                                     net::redirect_error(use_awaitable, ec));
  if (ec == net::error::not_found) co_return HeadResult::too_big;
  if (ec) co_return HeadResult::closed;
  std::string_view text = std::string_view(p.buf).substr(0, n - 2);  // keep the last line's CRLF
  h = Head{};
  for (bool first = true; !text.empty(); first = false) {
    std::size_t eol = text.find("\r\n");
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol + 2);
    if (first) {
      h.start = std::string(line);
      continue;
    }
    // A name, a colon, no whitespace before it; obsolete line folding is refused (RFC 9112 5.2).
    std::size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos || line.front() == ' ' ||
        line.front() == '\t' || line.substr(0, colon).find_first_of(" \t") != std::string::npos)
      co_return HeadResult::malformed;
    h.fields.emplace_back(std::string(line.substr(0, colon)),
                          std::string(trim(line.substr(colon + 1))));
  }
  p.buf.erase(0, n);
  co_return HeadResult::ok;
}

// Reads one line (without its CRLF) into `line`.
awaitable<bool> read_line(Peer& p, std::string& line) {
  error_code ec;
  std::size_t n = co_await net::async_read_until(p.sock, net::dynamic_buffer(p.buf, kMaxHead),
                                                 "\r\n", net::redirect_error(use_awaitable, ec));
  if (ec) co_return false;
  line = p.buf.substr(0, n - 2);
  p.buf.erase(0, n);
  co_return true;
}

awaitable<bool> write_all(tcp::socket& s, std::string_view bytes) {
  error_code ec;
  co_await net::async_write(s, net::buffer(bytes.data(), bytes.size()),
                            net::redirect_error(use_awaitable, ec));
  co_return !ec;
}

// `stop`, when given, is checked after every operation: a copy running next to another
// coroutine is stopped by setting it and cancelling both sockets. Cancelling alone is not
// enough, since an operation may have completed (its handler queued) before the cancel.
bool stopped(const bool* stop) {
  return stop && *stop;
}

// Copies exactly n bytes from `from` to `to`.
awaitable<Io> copy_exact(Peer& from, tcp::socket& to, std::uint64_t n, const bool* stop) {
  std::size_t now = static_cast<std::size_t>(std::min<std::uint64_t>(n, from.buf.size()));
  if (now > 0) {
    std::string_view head = std::string_view(from.buf).substr(0, now);
    if (!co_await write_all(to, head)) co_return Io::dst;
    if (stopped(stop)) co_return Io::src;
    from.buf.erase(0, now);
    n -= now;
  }
  std::array<char, 16384> data;
  while (n > 0) {
    error_code ec;
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n, data.size()));
    std::size_t got = co_await from.sock.async_read_some(net::buffer(data.data(), want),
                                                         net::redirect_error(use_awaitable, ec));
    if (ec || stopped(stop)) co_return Io::src;
    std::string_view bytes(data.data(), got);
    if (!co_await write_all(to, bytes)) co_return Io::dst;
    if (stopped(stop)) co_return Io::src;
    n -= got;
  }
  co_return Io::ok;
}

// Copies a chunked body as it is on the wire (sizes, extensions, trailers), so the receiver sees
// exactly what the sender framed.
awaitable<Io> copy_chunked(Peer& from, tcp::socket& to, const bool* stop) {
  std::string line;
  for (;;) {
    if (!co_await read_line(from, line) || stopped(stop)) co_return Io::src;
    std::string_view size_text = trim(std::string_view(line).substr(0, line.find(';')));
    auto size = to_int<std::uint64_t>(size_text, 16);
    if (!size || *size > (std::uint64_t{1} << 62)) co_return Io::malformed;
    line += "\r\n";
    if (!co_await write_all(to, line)) co_return Io::dst;
    if (stopped(stop)) co_return Io::src;
    if (*size == 0) break;
    Io io = co_await copy_exact(from, to, *size + 2, stop);  // the data and its CRLF
    if (io != Io::ok) co_return io;
  }
  for (;;) {  // trailer fields, up to the blank line
    if (!co_await read_line(from, line) || stopped(stop)) co_return Io::src;
    bool last = line.empty();
    line += "\r\n";
    if (!co_await write_all(to, line)) co_return Io::dst;
    if (stopped(stop)) co_return Io::src;
    if (last) co_return Io::ok;
  }
}

// Copies until `from` closes: a response framed by the end of the connection, or one direction
// of a tunnel. Request bodies never end this way, so there is no `stop`.
awaitable<Io> copy_until_close(Peer& from, tcp::socket& to) {
  if (!from.buf.empty()) {
    if (!co_await write_all(to, from.buf)) co_return Io::dst;
    from.buf.clear();
  }
  std::array<char, 16384> data;
  for (;;) {
    error_code ec;
    std::size_t got = co_await from.sock.async_read_some(net::buffer(data),
                                                         net::redirect_error(use_awaitable, ec));
    if (ec == net::error::eof) co_return Io::ok;
    if (ec) co_return Io::src;
    std::string_view bytes(data.data(), got);
    if (!co_await write_all(to, bytes)) co_return Io::dst;
  }
}

// How a message body is delimited (RFC 9112 6.3).
struct Framing {
  enum Kind { none, sized, chunked, until_close } kind = none;
  std::uint64_t length = 0;
};

awaitable<Io> copy_body(Peer& from, tcp::socket& to, Framing f, const bool* stop = nullptr) {
  switch (f.kind) {
    case Framing::none:
      co_return Io::ok;
    case Framing::sized:
      co_return co_await copy_exact(from, to, f.length, stop);
    case Framing::chunked:
      co_return co_await copy_chunked(from, to, stop);
    case Framing::until_close:
      break;
  }
  co_return co_await copy_until_close(from, to);
}

// The Content-Length of `h`: nullopt if absent, -1 if invalid (several different values count
// as invalid: a classic request-smuggling vector).
std::optional<long long> content_length(const Head& h) {
  std::optional<long long> out;
  for (const std::string* v : h.all("content-length"))
    for (std::string_view item : split_list(*v)) {
      auto n = to_int<long long>(item);
      if (!n || *n < 0 || (out && *out != *n)) return -1;
      out = n;
    }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running one coroutine next to another and joining it. Boost 1.74 has no awaitable operators,
// so the spawned coroutine's completion handler records the result and cancels a timer the
// joiner waits on. One thread: no locking.

template <typename T>
struct Join {
  explicit Join(const net::any_io_executor& ex) : timer(ex, net::steady_timer::time_point::max()) {}
  net::steady_timer timer;
  bool done = false;
  std::optional<T> result;  // empty if the coroutine threw

  void spawn(awaitable<T> a) {
    net::co_spawn(timer.get_executor(), std::move(a), [this](std::exception_ptr e, T r) {
      if (!e) result = std::move(r);
      done = true;
      timer.cancel();
    });
  }
  // Every path that spawned must come here before the Join (and what the coroutine refers to)
  // goes out of scope.
  awaitable<void> wait() {
    while (!done) {
      error_code ec;
      co_await timer.async_wait(net::redirect_error(use_awaitable, ec));
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Targets.

struct Target {
  std::string host;       // without brackets
  std::string authority;  // as written in the request, for Host
  unsigned short port = 0;
  std::string path;  // origin-form: path and query
};

// "host", "host:port", "[v6]" or "[v6]:port".
bool parse_authority(std::string_view a, unsigned short default_port, Target& t) {
  std::string_view port_text;
  if (a.starts_with('[')) {
    std::size_t close = a.find(']');
    if (close == std::string_view::npos) return false;
    t.host = std::string(a.substr(1, close - 1));
    std::string_view rest = a.substr(close + 1);
    if (!rest.empty() && (!rest.starts_with(':') || rest.size() == 1)) return false;
    if (!rest.empty()) port_text = rest.substr(1);
  } else {
    std::size_t colon = a.find(':');
    t.host = std::string(a.substr(0, colon));
    if (colon != std::string_view::npos) port_text = a.substr(colon + 1);
    // An IPv6 address needs its brackets; a bare one would be read as host:port.
    if (colon != std::string_view::npos &&
        (port_text.empty() || port_text.find(':') != std::string_view::npos))
      return false;
  }
  if (t.host.empty() || t.host.find_first_of(" @/\\") != std::string::npos) return false;
  if (port_text.empty()) {
    if (default_port == 0) return false;
    t.port = default_port;
  } else {
    auto port = to_int<unsigned>(port_text);
    if (!port || *port == 0 || *port > 65535) return false;
    t.port = static_cast<unsigned short>(*port);
  }
  t.authority = std::string(a);
  return true;
}

// "http://authority/path?query" → Target; false for anything else (origin-form, https://...).
bool parse_absolute(std::string_view url, Target& t) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size() || !iequals(url.substr(0, kScheme.size()), kScheme)) return false;
  url.remove_prefix(kScheme.size());
  std::size_t end = std::min(url.find_first_of("/?#"), url.size());
  if (!parse_authority(url.substr(0, end), 80, t)) return false;
  std::string_view rest = url.substr(end);
  rest = rest.substr(0, rest.find('#'));  // a fragment never goes on the wire
  t.path = rest.starts_with('/') ? std::string(rest) : "/" + std::string(rest);
  return true;
}

// The addresses to try for a loopback target; empty if the target is not loopback. Names other
// than localhost are refused rather than resolved: a resolver is exactly how a test would leak.
std::vector<tcp::endpoint> loopback_endpoints(const Target& t) {
  if (iequals(t.host, "localhost"))
    return {tcp::endpoint(net::ip::address_v4::loopback(), t.port),
            tcp::endpoint(net::ip::address_v6::loopback(), t.port)};
  error_code ec;
  net::ip::address a = net::ip::make_address(t.host, ec);
  if (ec) return {};
  bool loopback = a.is_loopback();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    loopback =
        net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).is_loopback();  // ::ffff:127/104
  if (!loopback) return {};
  return {tcp::endpoint(a, t.port)};
}

// A relay writes small pieces (a chunk-size line, then its data): with Nagle's algorithm and
// delayed ACKs each chunk would wait ~40 ms for the previous one to be acknowledged.
void no_delay(tcp::socket& s) {
  error_code ignored;
  s.set_option(tcp::no_delay(true), ignored);
}

// Connects to the first endpoint that answers. No timeout: on loopback a connect is accepted or
// refused at once.
awaitable<error_code> connect_any(tcp::socket& s, const std::vector<tcp::endpoint>& endpoints) {
  error_code ec;
  co_await net::async_connect(s, endpoints, net::redirect_error(use_awaitable, ec));
  if (!ec) no_delay(s);
  co_return ec;
}

// ---------------------------------------------------------------------------------------------
// Answers of our own, and the log.

std::string reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 431:
      return "Request Header Fields Too Large";
    case 502:
      return "Bad Gateway";
    default:
      return "Error";
  }
}

std::string own_response(int status, std::string_view message, bool keep_alive) {
  std::string body = "testproxy: " + std::string(message) + "\n";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  out += "Via: " + std::string(kVia) +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  return out + "\r\n" + body;
}

void log_request(State& st, double t_ms, std::string_view method, std::string_view target,
                 const std::string& client, int status) {
  if (!st.log.is_open()) return;
  json line = {{"t_ms", t_ms},
               {"method", method},
               {"target", target},
               {"client", client},
               {"status", status}};
  st.log << line.dump(-1, ' ', false, json::error_handler_t::replace) << '\n' << std::flush;
}

// The names that describe one connection, never to be forwarded (RFC 9110 7.6.1), plus the
// ones the Connection field lists.
bool hop_by_hop(const Head& h, std::string_view name) {
  static constexpr std::array<std::string_view, 9> kNames = {
      "connection",          "proxy-connection",   "keep-alive",    "te", "trailer", "upgrade",
      "proxy-authorization", "proxy-authenticate", "http2-settings"};
  for (std::string_view n : kNames)
    if (iequals(name, n)) return true;
  return h.lists("connection", name);
}

// Whether the client wants its connection kept after this exchange. HTTP/1.0 clients always get
// a close: they may not understand chunked answers, and keep-alive for them is opt-in anyway.
bool client_keeps_alive(const Head& req, std::string_view version) {
  return version == "HTTP/1.1" && !req.lists("connection", "close") &&
         !req.lists("proxy-connection", "close");
}

// Half-closes our side, then reads (and drops) what the client still sends until it closes, so
// the close cannot turn into an RST that destroys our last answer in flight.
awaitable<void> close_gracefully(Peer& p) {
  error_code ec;
  p.sock.shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 16384> sink;
  for (std::size_t total = 0; !ec && total < kMaxDrain;)
    total +=
        co_await p.sock.async_read_some(net::buffer(sink), net::redirect_error(use_awaitable, ec));
  p.sock.close(ec);
}

// ---------------------------------------------------------------------------------------------
// One exchange.

struct Request {
  Head head;
  std::string method, target, version;
  std::string client;  // "ip:port"
  double t_ms = 0;
};

// Sends one of our own answers; returns whether the connection may carry another request
// (only if the request had no body: we never read it, and with Expect: 100-continue the client
// may still be waiting to send it).
awaitable<bool> refuse(State& st, Peer& client, const Request& r, int status,
                       std::string_view message, bool has_body) {
  log_request(st, r.t_ms, r.method, r.target, r.client, status);
  bool keep = !has_body && client_keeps_alive(r.head, r.version);
  std::string out = own_response(status, message, keep);
  bool sent = co_await write_all(client.sock, out);
  bool more = sent && keep;
  co_return more;
}

// One direction of a tunnel. A clean EOF is passed on as a half-close; an error ends both
// directions (shutdown wakes the other direction's pending read).
awaitable<bool> pipe(Peer& from, Peer& to) {
  Io io = co_await copy_until_close(from, to.sock);
  error_code ignored;
  if (io == Io::ok) {
    to.sock.shutdown(tcp::socket::shutdown_send, ignored);
  } else {
    from.sock.shutdown(tcp::socket::shutdown_both, ignored);
    to.sock.shutdown(tcp::socket::shutdown_both, ignored);
  }
  co_return io == Io::ok;
}

// `CONNECT host:port`: 200, then bytes both ways until both sides have closed. Returns whether
// the client connection may carry another request (only after a refusal).
awaitable<bool> tunnel(State& st, Peer& client, const Request& r) {
  Target t;
  if (!parse_authority(r.target, 0, t)) {
    co_await refuse(st, client, r, 400, "CONNECT wants host:port", true);
    co_return false;
  }
  std::vector<tcp::endpoint> endpoints = loopback_endpoints(t);
  if (endpoints.empty()) {
    std::string msg = "only loopback targets are allowed, not " + t.host;
    co_return co_await refuse(st, client, r, 403, msg, false);
  }
  Peer upstream(tcp::socket(client.sock.get_executor()));
  if (error_code ec = co_await connect_any(upstream.sock, endpoints)) {
    std::string msg = "cannot connect to " + r.target + ": " + ec.message();
    co_return co_await refuse(st, client, r, 502, msg, false);
  }
  log_request(st, r.t_ms, r.method, r.target, r.client, 200);
  static const std::string kEstablished = "HTTP/1.1 200 Connection Established\r\n\r\n";
  if (!co_await write_all(client.sock, kEstablished)) co_return false;
  // Bytes the client sent after the CONNECT head are in client.buf; the pipe sends them first.
  Join<bool> up(client.sock.get_executor());
  up.spawn(pipe(client, upstream));
  co_await pipe(upstream, client);
  co_await up.wait();
  co_return false;
}

// What relaying the answer came to.
struct Relayed {
  bool answered = false;        // some of the answer reached the client: too late for a 502
  bool complete = false;        // the whole answer reached the client
  bool close = false;           // we told the client its connection closes after this answer
  bool upstream_broke = false;  // the answer's body was cut short upstream
  std::string error;
};

// Reads the answer from upstream and relays it: interim 1xx answers, then the final head (logged
// first) and its body. `body_done` says whether the request body has been sent in full: if not
// by the time the final head arrives, the client connection cannot be kept (we do not know
// where its body ends), and the head says so.
awaitable<Relayed> relay_response(State& st, Peer& client, Peer& upstream, const Request& r,
                                  bool keep_alive, const bool& body_done) {
  Relayed out;
  for (;;) {
    Head h;
    HeadResult hr = co_await read_head(upstream, h);
    if (hr != HeadResult::ok) {
      out.error = hr == HeadResult::closed ? "upstream closed without a complete answer"
                                           : "upstream sent a malformed or oversized head";
      co_return out;
    }
    // "HTTP/1.1 200 OK"; the reason may be empty or missing.
    std::string_view line = h.start;
    std::size_t sp = line.find(' ');
    std::string_view code_text = sp == std::string_view::npos ? "" : line.substr(sp + 1, 3);
    auto code = to_int<int>(code_text);
    if (!line.starts_with("HTTP/1.") || !code || *code < 100 || *code > 999 ||
        (line.size() > sp + 4 && line[sp + 4] != ' ')) {
      out.error = "upstream sent a malformed status line";
      co_return out;
    }
    std::string_view reason_text = line.size() > sp + 5 ? line.substr(sp + 5) : "";
    bool interim = *code < 200 && *code != 101;
    // HTTP/1.0 clients must not see interim answers (RFC 9110 15.2).
    if (interim && r.version != "HTTP/1.1") continue;

    Framing f;
    if (!interim) {
      auto te = h.all("transfer-encoding");
      auto cl = content_length(h);
      if (r.method == "HEAD" || *code == 204 || *code == 304) {
        f.kind = Framing::none;
      } else if (*code == 101) {
        f.kind = Framing::until_close;  // never asked for: Upgrade is not forwarded
      } else if (!te.empty()) {
        auto codings = split_list(*te.back());
        bool chunked = !codings.empty() && iequals(codings.back(), "chunked");
        f.kind = chunked ? Framing::chunked : Framing::until_close;
      } else if (cl && *cl < 0) {
        out.error = "upstream sent an invalid Content-Length";
        co_return out;
      } else if (cl) {
        f = {Framing::sized, static_cast<std::uint64_t>(*cl)};
      } else {
        f.kind = Framing::until_close;
      }
      out.close = !keep_alive || !body_done || f.kind == Framing::until_close;
      log_request(st, r.t_ms, r.method, r.target, r.client, *code);
    }

    std::string head =
        "HTTP/1.1 " + std::to_string(*code) + " " + std::string(reason_text) + "\r\n";
    for (const auto& [name, value] : h.fields)
      if (!hop_by_hop(h, name)) head += name + ": " + value + "\r\n";
    head += "Via: " + std::string(kVia) + "\r\n";
    if (out.close) head += "Connection: close\r\n";
    head += "\r\n";
    out.answered = true;
    if (!co_await write_all(client.sock, head)) {
      out.error = "client went away";
      co_return out;
    }
    if (interim) continue;
    Io io = co_await copy_body(upstream, client.sock, f);
    out.complete = io == Io::ok;
    out.upstream_broke = io == Io::src || io == Io::malformed;
    if (io != Io::ok)
      out.error = io == Io::dst ? "client went away" : "upstream body ended early or malformed";
    co_return out;
  }
}

// The request body, client to upstream, next to relay_response.
awaitable<Io> send_body(Peer& client, Peer& upstream, Framing f, const bool& stop) {
  Io io = co_await copy_body(client, upstream.sock, f, &stop);
  if (!stop && (io == Io::src || io == Io::malformed)) {
    // The client left or sent garbage: the upstream will never see the end of the request, so
    // wake the relay, which may be waiting for an answer that will not come.
    error_code ignored;
    upstream.sock.shutdown(tcp::socket::shutdown_both, ignored);
  }
  co_return io;
}

// Sends the request body up while the answer comes down, once the head has gone up. Returns
// whether the client connection may carry another request.
awaitable<bool> exchange(State& st, Peer& client, Peer& upstream, const Request& r, Framing body) {
  // The body goes up while the answer comes down: with Expect: 100-continue the client sends
  // the body only after the upstream's 100, and a server may answer before reading it all.
  bool stop = false;
  Join<Io> up(client.sock.get_executor());
  if (body.kind != Framing::none)
    up.spawn(send_body(client, upstream, body, stop));
  else
    up.done = true;
  bool keep_alive = client_keeps_alive(r.head, r.version);
  Relayed rel = co_await relay_response(st, client, upstream, r, keep_alive, up.done);
  if (!up.done) {
    stop = true;
    error_code ignored;
    client.sock.cancel(ignored);
    upstream.sock.cancel(ignored);
  }
  co_await up.wait();
  if (!rel.answered) {
    bool bad_body = up.result && *up.result == Io::malformed;
    int status = bad_body ? 400 : 502;
    std::string msg = bad_body ? "malformed chunked request body" : rel.error;
    co_await refuse(st, client, r, status, msg, true);
    co_return false;
  }
  if (rel.upstream_broke) {
    // Reset rather than close, so the client sees an error even when the answer is framed by
    // the end of the connection and a clean close would pass for its end.
    error_code ignored;
    client.sock.set_option(net::socket_base::linger(true, 0), ignored);
    client.sock.close(ignored);
  }
  co_return rel.complete && !rel.close;
}

// A plain HTTP request in absolute-form. Returns whether the client connection may carry
// another request.
awaitable<bool> forward(State& st, Peer& client, const Request& r) {
  // Request body framing first: without it we cannot even tell where the next request starts.
  Framing body;
  if (auto te = r.head.all("transfer-encoding"); !te.empty()) {
    auto codings = split_list(*te.back());
    if (codings.empty() || !iequals(codings.back(), "chunked")) {
      co_await refuse(st, client, r, 400, "request Transfer-Encoding must end in chunked", true);
      co_return false;
    }
    body.kind = Framing::chunked;
  } else if (auto cl = content_length(r.head)) {
    if (*cl < 0) {
      co_await refuse(st, client, r, 400, "invalid Content-Length", true);
      co_return false;
    }
    if (*cl > 0) body = {Framing::sized, static_cast<std::uint64_t>(*cl)};
  }
  bool has_body = body.kind != Framing::none;

  Target t;
  if (!parse_absolute(r.target, t)) {
    std::string msg = "want an absolute http:// URL (use CONNECT for https), not " + r.target;
    co_return co_await refuse(st, client, r, 400, msg, has_body);
  }
  std::vector<tcp::endpoint> endpoints = loopback_endpoints(t);
  if (endpoints.empty()) {
    std::string msg = "only loopback targets are allowed, not " + t.host;
    co_return co_await refuse(st, client, r, 403, msg, has_body);
  }
  // A fresh upstream connection per request, closed after it: a pooled one could have been
  // closed by the server in the meantime and turn into a spurious 502.
  Peer upstream(tcp::socket(client.sock.get_executor()));
  if (error_code ec = co_await connect_any(upstream.sock, endpoints)) {
    std::string msg = "cannot connect to " + t.authority + ": " + ec.message();
    co_return co_await refuse(st, client, r, 502, msg, has_body);
  }

  // Host comes from the URL (RFC 9112 3.2.2); a Content-Length next to Transfer-Encoding goes.
  std::string head = r.method + " " + t.path + " HTTP/1.1\r\nHost: " + t.authority + "\r\n";
  for (const auto& [name, value] : r.head.fields)
    if (!hop_by_hop(r.head, name) && !iequals(name, "host") &&
        !(body.kind == Framing::chunked && iequals(name, "content-length")))
      head += name + ": " + value + "\r\n";
  head += "Via: " + std::string(kVia) + "\r\nConnection: close\r\n\r\n";
  if (!co_await write_all(upstream.sock, head)) {
    std::string msg = "cannot send to " + t.authority;
    co_return co_await refuse(st, client, r, 502, msg, has_body);
  }

  co_return co_await exchange(st, client, upstream, r, body);
}

awaitable<void> session(tcp::socket s, State& st) {
  Peer client(std::move(s));
  no_delay(client.sock);
  error_code ec;
  std::string name = endpoint_name(client.sock.remote_endpoint(ec));
  for (;;) {
    Request r;
    HeadResult hr = co_await read_head(client, r.head);
    if (hr == HeadResult::closed) break;
    r.t_ms = unix_ms_now();
    r.client = name;
    if (hr == HeadResult::too_big) {
      std::string out = own_response(431, "request head over 64 KiB", false);
      co_await write_all(client.sock, out);
      break;
    }
    // "METHOD SP target SP HTTP/1.x"
    std::string_view line = r.head.start;
    std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 != std::string_view::npos && sp2 != sp1) {
      r.method = line.substr(0, sp1);
      r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      r.version = line.substr(sp2 + 1);
    }
    if (hr == HeadResult::malformed || r.method.empty() || r.target.empty() ||
        r.target.find(' ') != std::string::npos || !r.version.starts_with("HTTP/1.")) {
      std::string out = own_response(400, "malformed request", false);
      co_await write_all(client.sock, out);
      break;
    }
    bool more = false;
    if (r.method == "CONNECT")
      more = co_await tunnel(st, client, r);
    else
      more = co_await forward(st, client, r);
    if (!more) break;
  }
  if (client.sock.is_open()) co_await close_gracefully(client);
}

awaitable<void> sleep_ms(long long ms) {
  net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(ms));
  error_code ec;
  co_await t.async_wait(net::redirect_error(use_awaitable, ec));
}

awaitable<void> accept_loop(tcp::acceptor& acceptor, State& st) {
  for (;;) {
    error_code ec;
    tcp::socket s = co_await acceptor.async_accept(net::redirect_error(use_awaitable, ec));
    if (ec == net::error::operation_aborted) co_return;
    if (ec) {  // e.g. out of file descriptors: back off instead of spinning
      co_await sleep_ms(50);
      continue;
    }
    net::co_spawn(acceptor.get_executor(), session(std::move(s), st), net::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", port = "0", log_path;
  auto usage = [](std::string_view what) {
    std::cerr << "testproxy: " << what
              << "\nusage: testproxy [--host 127.0.0.1] [--port 0] [--log FILE]\n";
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if ((arg == "--host" || arg == "--port" || arg == "--log") && i + 1 < argc) {
      (arg == "--host" ? host : arg == "--port" ? port : log_path) = argv[++i];
    } else {
      return usage("bad argument " + std::string(arg));
    }
  }
  if (auto p = to_int<unsigned>(port); !p || *p > 65535)
    return usage("bad value for --port: " + port);
  error_code bad_host;
  net::ip::address address = iequals(host, "localhost")
                                 ? net::ip::address(net::ip::address_v4::loopback())
                                 : net::ip::make_address(host, bad_host);
  if (bad_host) return usage("bad value for --host (want an IP address): " + host);
  State st;
  if (!log_path.empty()) {
    st.log.open(log_path, std::ios::app);
    if (!st.log) return usage("cannot open --log " + log_path);
  }
  try {
    net::io_context ioc;
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const error_code&, int) { ioc.stop(); });

    tcp::acceptor acceptor(ioc,
                           tcp::endpoint(address, static_cast<unsigned short>(std::stoul(port))));
    net::co_spawn(ioc, accept_loop(acceptor, st), net::detached);
    std::string shown = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    std::cout << "listening on http://" << shown << ':' << acceptor.local_endpoint().port()
              << std::endl;
    ioc.run();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "testproxy: " << e.what() << '\n';
    return 1;
  }
}
