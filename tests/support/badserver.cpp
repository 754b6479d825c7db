// badserver: a loopback HTTP/1.1 server that misbehaves on purpose, at the byte level, so the
// transport's error paths run against a real socket. Raw Boost.Asio on one thread, one coroutine
// per connection; a correct HTTP library would refuse to do most of this.
//
//   badserver [--host 127.0.0.1] [--port 0] [--log FILE] [--answers FILE]
//
// Prints `listening on http://HOST:PORT` once accepting, serves until SIGTERM/SIGINT, exits 0.
// With --log, one JSON line per request as it arrives:
//   {"t_ms": unix ms, "method", "path": path+query, "remote": peer ip, "ua", "headers": {...}}
// With --answers, one JSON line per /slow answer as it is sent: {"answered": path+query,
// "held_ms": from the kernel's receive time of the request's first bytes to the start of the
// answer's write, "late_ms": held_ms minus the ?ms asked for} — the target's truth for
// fidelity tests.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>
#if BADSERVER_HAVE_ZLIB
#include <sys/socket.h>
#include <time.h>
#include <zlib.h>

#include "prober/transport/rx_stamp.hpp"
#endif

namespace {

namespace net = boost::asio;
using net::awaitable;
using net::use_awaitable;
using tcp = net::ip::tcp;
using json = nlohmann::json;

constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kMaxBody = 8 * 1024 * 1024;
constexpr std::string_view kJson = "application/json";
constexpr const char* kOk = R"({"ok":true})";

struct Request {
  std::string method, target, path, query, version;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
  std::map<std::string, std::string> args;                   // the decoded query
  std::string body;
  double arrived_ms = 0;  // kernel receive time of its first bytes (unix ms), with --log

  const std::string* header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return &v;
    return nullptr;
  }
  std::string arg(const std::string& name) const {
    auto it = args.find(name);
    return it == args.end() ? std::string() : it->second;
  }
  bool keep_alive() const {
    const std::string* c = header("connection");
    std::string v = c ? *c : "";
    std::transform(v.begin(), v.end(), v.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    return version == "HTTP/1.1" ? v.find("close") == std::string::npos
                                 : v.find("keep-alive") != std::string::npos;
  }
};

struct State {
  std::ofstream log;
  std::ofstream answers;
  std::uint64_t requests = 0;
  std::string gzip_bomb;  // built on first use
};

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return std::string(s);
}

std::optional<long long> to_int(std::string_view s) {
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// %XX and '+' decoding for query parameters.
std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool has_crlf(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

double unix_ms_now() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return static_cast<double>(us.count()) / 1000.0;
}

// "STATUS reason" line plus headers, ending with the blank line.
std::string head(int status, std::string_view extra_headers, bool keep_alive) {
  static const std::map<int, std::string_view> kReasons = {{200, "OK"},
                                                           {201, "Created"},
                                                           {204, "No Content"},
                                                           {302, "Found"},
                                                           {304, "Not Modified"},
                                                           {400, "Bad Request"},
                                                           {404, "Not Found"},
                                                           {413, "Content Too Large"},
                                                           {500, "Internal Server Error"},
                                                           {501, "Not Implemented"},
                                                           {503, "Service Unavailable"}};
  auto it = kReasons.find(status);
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " +
                  std::string(it == kReasons.end() ? "Whatever" : it->second) + "\r\n";
  h += "Server: badserver\r\n";
  if (!keep_alive) h += "Connection: close\r\n";
  h += extra_headers;
  return h;
}

// A complete, well-formed response.
std::string respond(const Request& r, int status, std::string_view type, std::string_view body,
                    std::string extra = {}) {
  bool no_body = status == 204 || status == 304;
  if (!no_body)
    extra += "Content-Type: " + std::string(type) +
             "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  std::string out = head(status, extra, r.keep_alive()) + "\r\n";
  if (!no_body) out += body;
  return out;
}

// GCC 12 mishandles some temporaries inside a co_await expression (a conditional operand once
// freed a pointer into the frame; a braced json list did not compile), so every co_await here
// writes from a named local.
awaitable<void> send(tcp::socket& s, const std::string& bytes) {
  co_await net::async_write(s, net::buffer(bytes), use_awaitable);
}

awaitable<void> sleep_ms(long long ms) {
  net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(use_awaitable);
}

// Returns once the peer closes (or resets) the connection; discards anything it sends.
awaitable<void> wait_for_close(tcp::socket& s) {
  char sink[4096];
  boost::system::error_code ec;
  while (!ec)
    co_await s.async_read_some(net::buffer(sink), net::redirect_error(use_awaitable, ec));
}

awaitable<std::string> read_line(tcp::socket& s, std::string& buf) {
  std::size_t n =
      co_await net::async_read_until(s, net::dynamic_buffer(buf, kMaxHead), "\r\n", use_awaitable);
  std::string line = buf.substr(0, n - 2);
  buf.erase(0, n);
  co_return line;
}

awaitable<std::string> read_exactly(tcp::socket& s, std::string& buf, std::size_t n) {
  if (buf.size() < n)
    co_await net::async_read(s, net::dynamic_buffer(buf), net::transfer_exactly(n - buf.size()),
                             use_awaitable);
  std::string out = buf.substr(0, n);
  buf.erase(0, n);
  co_return out;
}

// Reads one request (head, then a Content-Length or chunked body). Throws when the peer goes
// away; returns a request with an empty method when it is malformed.
awaitable<Request> read_request(tcp::socket& s, std::string& buf) {
  Request r;
  std::string line = co_await read_line(s, buf);
  std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) co_return r;
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  r.version = line.substr(sp2 + 1);
  for (;;) {
    std::string h = co_await read_line(s, buf);
    if (h.empty()) break;
    std::size_t colon = h.find(':');
    if (colon == std::string::npos || colon == 0) co_return r;
    r.headers.emplace_back(lower(h.substr(0, colon)), trim(std::string_view(h).substr(colon + 1)));
  }
  std::size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  for (std::size_t pos = 0; pos < r.query.size();) {
    std::size_t amp = std::min(r.query.find('&', pos), r.query.size());
    std::string_view pair = std::string_view(r.query).substr(pos, amp - pos);
    std::size_t eq = pair.find('=');
    if (!pair.empty())
      r.args[url_decode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    pos = amp + 1;
  }
  if (const std::string* te = r.header("transfer-encoding");
      te && lower(*te).find("chunked") != std::string::npos) {
    for (;;) {
      std::string size_line = co_await read_line(s, buf);
      std::size_t size = 0;
      std::from_chars(size_line.data(), size_line.data() + size_line.size(), size, 16);
      if (size == 0) break;
      if (r.body.size() + size > kMaxBody) co_return Request{};
      std::string data = co_await read_exactly(s, buf, size);
      r.body += data;
      co_await read_line(s, buf);  // the CRLF after the data
    }
    for (;;) {  // trailers, up to the blank line
      std::string trailer = co_await read_line(s, buf);
      if (trailer.empty()) break;
    }
  } else if (const std::string* cl = r.header("content-length")) {
    auto n = to_int(*cl);
    if (!n || *n < 0 || static_cast<std::size_t>(*n) > kMaxBody) co_return Request{};
    r.body = co_await read_exactly(s, buf, static_cast<std::size_t>(*n));
  }
  r.method = line.substr(0, sp1);
  co_return r;
}

// Header names lowercased; repeated headers joined with ", ".
json headers_json(const Request& r) {
  json headers = json::object();
  for (const auto& [n, v] : r.headers)
    headers[n] = headers.contains(n) ? headers[n].get<std::string>() + ", " + v : v;
  return headers;
}

#if BADSERVER_HAVE_ZLIB
// 100 MiB of zeros, gzip-compressed to about 100 KiB.
std::string make_gzip_bomb() {
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 9,
               Z_DEFAULT_STRATEGY);
  std::vector<unsigned char> zeros(1 << 20), out(1 << 16);
  std::string gz;
  for (int i = 0; i < 100; ++i) {
    int flush = i == 99 ? Z_FINISH : Z_NO_FLUSH;
    z.next_in = zeros.data();
    z.avail_in = static_cast<uInt>(zeros.size());
    for (;;) {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      int rc = deflate(&z, flush);
      gz.append(reinterpret_cast<const char*>(out.data()), out.size() - z.avail_out);
      if (flush == Z_FINISH ? rc == Z_STREAM_END : z.avail_out != 0) break;
    }
  }
  deflateEnd(&z);
  return gz;
}
#endif

// Routes answered with one complete response, built without waiting; nullopt for the others.
std::optional<std::string> answer_now(const Request& r, State& st) {
  const std::string& p = r.path;
  // The happy path: checks and captures on a normal JSON answer; keep-alive reuse.
  if (p == "/ok") return respond(r, 200, kJson, kOk);
  // Status checks and retry policy: any status, e.g. /status/503.
  if (p.starts_with("/status/")) {
    auto code = to_int(std::string_view(p).substr(8));
    if (!code || *code < 200 || *code > 599)
      return respond(r, 400, kJson, R"({"error":"want /status/200..599"})");
    return respond(r, static_cast<int>(*code), kJson, json{{"status", *code}}.dump());
  }
  // JSON checks must report "invalid JSON", not crash or pass.
  if (p == "/invalid-json") return respond(r, 200, kJson, R"({"items": [1, 2,)");
  // Content-type mismatch: a JSON check on an HTML error page.
  if (p == "/not-json")
    return respond(r, 200, "text/html", "<html><body><h1>Oops</h1></body></html>");
  // The JSON parser and every sink must survive invalid UTF-8 inside a string.
  if (p == "/invalid-utf8") return respond(r, 200, kJson, "{\"name\": \"caf\xC3\x28 \xFF\xFE\"}");
  // Redirect limits: following redirects must give up instead of looping forever.
  if (p == "/redirect-loop") return respond(r, 302, kJson, "{}", "Location: /redirect-loop\r\n");
  // Redirect counting: /redirect/3 takes three hops to a 200.
  if (p.starts_with("/redirect/")) {
    auto n = to_int(std::string_view(p).substr(10));
    if (!n || *n < 0) return respond(r, 400, kJson, R"({"error":"want /redirect/N, N >= 0"})");
    if (*n == 0) return respond(r, 200, kJson, kOk);
    return respond(r, 302, kJson, "{}", "Location: /redirect/" + std::to_string(*n - 1) + "\r\n");
  }
  // Redirects to another scheme, host or port: the client's redirect policy.
  if (p == "/redirect-to") {
    std::string url = r.arg("url");
    if (url.empty() || has_crlf(url)) return respond(r, 400, kJson, R"({"error":"want ?url="})");
    return respond(r, 302, kJson, "{}", "Location: " + url + "\r\n");
  }
  // What the client really sent: templated URLs, headers, bodies, methods, user agent.
  if (p == "/echo") {
    json j = {{"method", r.method},         {"path", r.path}, {"query", r.query}, {"args", r.args},
              {"headers", headers_json(r)}, {"body", r.body}};
    return respond(r, 200, kJson, j.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  // Cookie captures and the cookie jar across steps.
  if (p == "/set-cookie") {
    std::string name = r.arg("name"), value = r.arg("value");
    if (name.empty() || has_crlf(name + value))
      return respond(r, 400, kJson, R"({"error":"want ?name=N&value=V"})");
    return respond(r, 200, kJson, kOk, "Set-Cookie: " + name + "=" + value + "; Path=/\r\n");
  }
  // Header checks and captures: every query parameter becomes a response header.
  if (p == "/headers") {
    std::string extra;
    for (const auto& [n, v] : r.args)
      if (!n.empty() && !has_crlf(n + v) && n.find(':') == std::string::npos)
        extra += n + ": " + v + "\r\n";
    return respond(r, 200, kJson, kOk, extra);
  }
  // Decompression caps: about 100 KiB on the wire, 100 MiB once inflated.
  if (p == "/gzip-bomb") {
#if BADSERVER_HAVE_ZLIB
    if (st.gzip_bomb.empty()) st.gzip_bomb = make_gzip_bomb();
    return respond(r, 200, kJson, st.gzip_bomb, "Content-Encoding: gzip\r\n");
#else
    return respond(r, 501, kJson, R"({"error":"badserver was built without zlib"})");
#endif
  }
  // How many requests arrived: retries, redirects and connection reuse show up here.
  if (p == "/count") return respond(r, 200, kJson, json{{"requests", st.requests}}.dump());
  return std::nullopt;
}

// One request → one behaviour. Returns whether the connection may serve another request.
awaitable<bool> route(tcp::socket& s, const Request& r, State& st) {
  const std::string& p = r.path;
  if (std::optional<std::string> out = answer_now(r, st)) {
    co_await send(s, *out);
    co_return r.keep_alive();
  }
  // A flapping target for soaks: request number n (the n-th line of --log) is answered good
  // (200 at once) when n % 3 == 1, slow (200 after ?ms=N, default 1000) when n % 3 == 2, and
  // failing (503) when n % 3 == 0; so the log alone says what each request got.
  if (p == "/flap") {
    const std::uint64_t phase = st.requests % 3;
    const long long ms = std::clamp(to_int(r.arg("ms")).value_or(1000), 0LL, 600'000LL);
    if (phase == 2) co_await sleep_ms(ms);
    std::string out = phase == 0 ? respond(r, 503, kJson, R"({"phase":"failing"})")
                                 : respond(r, 200, kJson, kOk);
    co_await send(s, out);
    co_return r.keep_alive();
  }
  // Per-step timeouts and latency checks: answers after ?ms=N (default 1000).
  // What some servers do to an idle kept connection: answer 200 and keep it, then ?after=N ms
  // later send an unsolicited 408 and close. The client finds it when it next reuses the
  // connection: stale data, not the answer to anything it sent then.
  if (p == "/ok-then-408") {
    co_await send(s, respond(r, 200, kJson, kOk));
    co_await sleep_ms(std::clamp(to_int(r.arg("after")).value_or(20), 0LL, 60'000LL));
    co_await send(s, respond(r, 408, kJson, R"({"error":"idle"})"));
    s.shutdown(tcp::socket::shutdown_send);
    co_await wait_for_close(s);
    co_return false;
  }
  if (p == "/slow") {
    long long ms = std::clamp(to_int(r.arg("ms")).value_or(1000), 0LL, 600'000LL);
    co_await sleep_ms(ms);
    std::string out = respond(r, 200, kJson, kOk);
    const double answering = unix_ms_now();  // before the write: after it, this loop may be late
    co_await send(s, out);
    if (st.answers.is_open() && r.arrived_ms > 0) {
      const double held = answering - r.arrived_ms;
      st.answers << json{{"answered", r.target}, {"held_ms", held}, {"late_ms", held - static_cast<double>(ms)}}
                    .dump(-1, ' ', false, json::error_handler_t::replace)
             << '\n' << std::flush;
    }
    co_return r.keep_alive();
  }
  // The head at once, the body ?ms=N later (default 100): an answer in two parts.
  if (p == "/split") {
    long long ms = std::clamp(to_int(r.arg("ms")).value_or(100), 0LL, 600'000LL);
    std::string out = respond(r, 200, kJson, kOk);
    const std::size_t body_at = out.size() - std::strlen(kOk);
    std::string first = out.substr(0, body_at), rest = out.substr(body_at);
    co_await send(s, first);
    co_await sleep_ms(ms);
    co_await send(s, rest);
    co_return r.keep_alive();
  }
  // A truncated body: the transfer must fail (recv error / partial file), never pass as whole.
  // /reset ends with RST, /close-early with an orderly FIN.
  if (p == "/reset" || p == "/close-early") {
    std::string out =
        head(200, "Content-Type: application/json\r\nContent-Length: 100000\r\n", false) + "\r\n" +
        std::string(1000, 'x');
    co_await send(s, out);
    if (p == "/reset") {
      s.set_option(net::socket_base::linger(true, 0));  // close() now sends RST, not FIN
      s.close();
    } else {
      s.shutdown(tcp::socket::shutdown_send);  // FIN; then wait, so close() cannot become RST
      co_await wait_for_close(s);
    }
    co_return false;
  }
  // Body size caps: Content-Length N of 'x', streamed (N may exceed memory). With ?chunked=1
  // the same bytes come chunked, without a Content-Length, so the client must count them.
  if (p == "/big" && r.arg("chunked") == "1") {
    auto n = to_int(r.arg("bytes"));
    if (!n || *n < 0) {
      std::string out = respond(r, 400, kJson, R"({"error":"want ?bytes=N"})");
      co_await send(s, out);
      co_return r.keep_alive();
    }
    std::string out = head(200,
                           "Content-Type: application/octet-stream\r\nTransfer-Encoding: "
                           "chunked\r\n",
                           r.keep_alive()) +
                      "\r\n";
    co_await send(s, out);
    static const std::string kChunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
    for (auto left = static_cast<std::size_t>(*n); left > 0;) {
      if (left >= 0x10000) {
        co_await send(s, kChunk);
        left -= 0x10000;
      } else {
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", left);
        std::string last = size + std::string(left, 'x') + "\r\n";
        co_await send(s, last);
        left = 0;
      }
    }
    static const std::string kEnd = "0\r\n\r\n";
    co_await send(s, kEnd);
    co_return r.keep_alive();
  }
  if (p == "/big") {
    auto n = to_int(r.arg("bytes"));
    if (!n || *n < 0) {
      std::string out = respond(r, 400, kJson, R"({"error":"want ?bytes=N"})");
      co_await send(s, out);
      co_return r.keep_alive();
    }
    std::string out =
        head(200,
             "Content-Type: application/octet-stream\r\nContent-Length: " + std::to_string(*n) +
                 "\r\n",
             r.keep_alive()) +
        "\r\n";
    co_await send(s, out);
    static const std::string kChunk(64 * 1024, 'x');
    for (auto left = static_cast<std::size_t>(*n); left > 0;) {
      std::size_t now = std::min(left, kChunk.size());
      co_await net::async_write(s, net::buffer(kChunk.data(), now), use_awaitable);
      left -= now;
    }
    co_return r.keep_alive();
  }
  // An unbounded chunked body: only the client's size cap or total timeout ends it.
  if (p == "/endless") {
    std::string out =
        head(200, "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n", false) + "\r\n";
    co_await send(s, out);
    static const std::string kChunk = "1000\r\n" + std::string(0x1000, 'x') + "\r\n";
    for (;;)
      co_await send(s, kChunk);  // throws once the client is gone
  }
  // An endless chunked body that trickles, 16 bytes every ?ms=N (default 50): no size cap is
  // ever reached, so only the step's timeout can end it.
  if (p == "/drip") {
    long long ms = std::clamp(to_int(r.arg("ms")).value_or(50), 1LL, 60'000LL);
    std::string out =
        head(200, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", false) +
        "\r\n";
    co_await send(s, out);
    static const std::string kDrop = "10\r\n" + std::string(16, ' ') + "\r\n";
    for (;;) {
      co_await send(s, kDrop);  // throws once the client is gone
      co_await sleep_ms(ms);
    }
  }
  // Header lines without end, as fast as the client reads: its header limits must hold.
  if (p == "/header-flood") {
    static const std::string kStatus = "HTTP/1.1 200 OK\r\n";
    co_await send(s, kStatus);
    std::string lines;
    for (int i = 0; i < 256; ++i)
      lines += "X-Flood-" + std::to_string(i) + ": " + std::string(200, 'f') + "\r\n";
    for (;;)
      co_await send(s, lines);  // throws once the client is gone
  }
#if BADSERVER_HAVE_ZLIB
  // A gzip bomb of any size, deflated while it is sent (chunked): ?mib=N MiB of zeros
  // (default 4096) travel as about 1 KiB per MiB. Only the client's cap on the decoded body
  // stops it early.
  if (p == "/gzip-stream") {
    long long mib = std::clamp(to_int(r.arg("mib")).value_or(4096), 1LL, 1LL << 20);
    std::string out = head(200,
                           "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
                           "Transfer-Encoding: chunked\r\n",
                           false) +
                      "\r\n";
    co_await send(s, out);
    struct Deflater {
      z_stream z{};
      Deflater() {
        deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16 /* gzip */, 9,
                     Z_DEFAULT_STRATEGY);
      }
      ~Deflater() { deflateEnd(&z); }
    } d;
    static const std::vector<unsigned char> kZeros(1 << 20);
    std::vector<unsigned char> buf(1 << 16);
    for (long long i = 0; i < mib; ++i) {
      const int flush = i + 1 == mib ? Z_FINISH : Z_NO_FLUSH;
      d.z.next_in = const_cast<unsigned char*>(kZeros.data());
      d.z.avail_in = static_cast<uInt>(kZeros.size());
      std::string chunk_data;
      for (;;) {
        d.z.next_out = buf.data();
        d.z.avail_out = static_cast<uInt>(buf.size());
        const int rc = deflate(&d.z, flush);
        chunk_data.append(reinterpret_cast<const char*>(buf.data()), buf.size() - d.z.avail_out);
        if (flush == Z_FINISH ? rc == Z_STREAM_END : d.z.avail_out != 0) break;
      }
      if (chunk_data.empty()) continue;
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", chunk_data.size());
      std::string chunk = size + chunk_data + "\r\n";
      co_await send(s, chunk);
    }
    static const std::string kEnd = "0\r\n\r\n";
    co_await send(s, kEnd);
    co_return false;
  }
#endif
  // The first byte never comes: the request timeout must fire.
  if (p == "/never") {
    co_await wait_for_close(s);
    co_return false;
  }
  // Headers that never end: a timeout must cover the header phase, not just connect.
  if (p == "/slowloris") {
    static const std::string kStatus = "HTTP/1.1 200 OK\r\n", kName = "X-Slowloris: ";
    co_await send(s, kStatus);
    for (std::size_t i = 0;; ++i) {
      co_await sleep_ms(500);
      std::string one(1, i < kName.size() ? kName[i] : 'a');
      co_await send(s, one);
    }
  }
  std::string out = respond(r, 404, kJson, R"({"error":"no such route"})");
  co_await send(s, out);
  co_return r.keep_alive();
}

void log_request(State& st, const Request& r, const std::string& remote, double t_ms) {
  if (!st.log.is_open()) return;
  const std::string* ua = r.header("user-agent");
  json line = {{"t_ms", t_ms},     {"method", r.method},  {"path", r.target},
               {"remote", remote}, {"ua", ua ? *ua : ""}, {"headers", headers_json(r)}};
  st.log << line.dump(-1, ' ', false, json::error_handler_t::replace) << '\n' << std::flush;
}

// When the oldest unread bytes on fd reached the kernel (unix ms; SO_TIMESTAMPNS), 0 if unknown.
double kernel_arrival_ms(int fd) {
  const std::optional<timespec> t = prober::transport::peek_receive_time(fd);
  return t ? prober::transport::unix_ms(*t) : 0;
}

awaitable<void> session(tcp::socket s, State& st) {
  boost::system::error_code ec;
  std::string remote = s.remote_endpoint(ec).address().to_string();
  std::string buf;
  const bool stamp = st.answers.is_open();
  if (stamp) {
    const int on = 1;
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  }
  try {
    for (;;) {
      double arrived = 0;
      if (stamp && buf.empty()) {
        co_await s.async_wait(tcp::socket::wait_read, net::redirect_error(use_awaitable, ec));
        if (ec) break;
        arrived = kernel_arrival_ms(s.native_handle());
      }
      Request r = co_await read_request(s, buf);
      r.arrived_ms = arrived;
      if (r.method.empty()) {
        std::string out = respond(r, 400, kJson, R"({"error":"malformed request"})");
        co_await send(s, out);
        break;
      }
      ++st.requests;
      log_request(st, r, remote, unix_ms_now());
      if (!co_await route(s, r, st)) break;
    }
  } catch (const std::exception&) {
    // The client went away mid-request or mid-response: nothing to do but close.
  }
}

awaitable<void> accept_loop(tcp::acceptor& acceptor, State& st) {
  for (;;) {
    boost::system::error_code ec;
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
  std::string host = "127.0.0.1", port = "0", log_path, answers_path;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if ((arg == "--host" || arg == "--port" || arg == "--log" || arg == "--answers") &&
        i + 1 < argc) {
      (arg == "--host"  ? host
       : arg == "--port" ? port
       : arg == "--log"  ? log_path
                         : answers_path) = argv[++i];
    } else {
      std::cerr << "badserver: bad argument " << arg
                << "\nusage: badserver [--host 127.0.0.1] [--port 0] [--log FILE] [--answers FILE]\n";
      return 2;
    }
  }
  try {
    State st;
    if (!answers_path.empty()) {
      st.answers.open(answers_path, std::ios::app);
      if (!st.answers) throw std::runtime_error("cannot open answers log " + answers_path);
    }
    if (!log_path.empty()) {
      st.log.open(log_path, std::ios::app);
      if (!st.log) throw std::runtime_error("cannot open log " + log_path);
    }
    net::io_context ioc;
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });

    tcp::endpoint endpoint = *tcp::resolver(ioc).resolve(host, port).begin();
    tcp::acceptor acceptor(ioc, endpoint);  // open, SO_REUSEADDR, bind, listen
    net::co_spawn(ioc, accept_loop(acceptor, st), net::detached);
    std::string shown = host.find(':') == std::string::npos ? host : "[" + host + "]";
    std::cout << "listening on http://" << shown << ':' << acceptor.local_endpoint().port()
              << std::endl;
    ioc.run();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "badserver: " << e.what() << '\n';
    return 1;
  }
}
