// Tests of testproxy, the loopback forward proxy, with libcurl as the client (what the prober
// uses) and badserver as the upstream, both as child processes found through the environment
// meson sets. Each test has its own proxy and log, and runs under a watchdog; every transfer
// has a curl timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "tests/support/proc.hpp"
#include "tests/support/watchdog.hpp"

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string current_test() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(info->test_suite_name()) + "." + info->name();
}

// curl_global_init is not thread-safe: do it once, before any test (and the watchdog) runs.
class CurlEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK); }
  void TearDown() override { curl_global_cleanup(); }
};
[[maybe_unused]] const auto* const kCurlEnvironment =
    ::testing::AddGlobalTestEnvironment(new CurlEnvironment);

// ---------------------------------------------------------------------------------------------
// A libcurl easy handle. Kept between fetches, so its connection (to the proxy, or the tunnel
// through it) is reused as it would be in the prober.

struct Options {
  std::optional<std::string> body = std::nullopt;  // POST this
  std::vector<std::string> headers = {};
  bool tunnel = false;  // CURLOPT_HTTPPROXYTUNNEL: CONNECT, then the request inside
  bool head = false;
  std::size_t abort_after = 0;  // fail the transfer once this many body bytes arrived
  // How long curl waits for 100 Continue before sending the body anyway. badserver never sends
  // one, so by default do not wait curl's full second.
  long expect_timeout_ms = 200;
};

struct Fetch {
  CURLcode code = CURLE_OK;
  std::string error;
  long status = 0;
  long connect_status = 0;   // the proxy's answer to CONNECT
  long new_connections = 0;  // 0: the transfer reused a connection
  std::string headers;       // every response head, as received
  std::string body;
  std::size_t abort_after = 0;

  json echo() const { return json::parse(body); }
};

class Curl {
 public:
  explicit Curl(std::string proxy) : proxy_(std::move(proxy)), h_(curl_easy_init()) {}
  ~Curl() { curl_easy_cleanup(h_); }
  Curl(const Curl&) = delete;
  Curl& operator=(const Curl&) = delete;

  Fetch fetch(const std::string& url, const Options& o = {}) {
    Fetch f;
    f.abort_after = o.abort_after;
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_reset(h_);  // keeps the connection cache
    curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h_, CURLOPT_PROXY, proxy_.c_str());  // "" means no proxy
    curl_easy_setopt(h_, CURLOPT_NOPROXY, "");            // ignore a no_proxy from the environment
    curl_easy_setopt(h_, CURLOPT_HTTPPROXYTUNNEL, o.tunnel ? 1L : 0L);
    curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h_, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h_, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, &Curl::on_body);
    curl_easy_setopt(h_, CURLOPT_WRITEDATA, &f);
    curl_easy_setopt(h_, CURLOPT_HEADERFUNCTION, &Curl::on_header);
    curl_easy_setopt(h_, CURLOPT_HEADERDATA, &f);
    if (o.head) curl_easy_setopt(h_, CURLOPT_NOBODY, 1L);
    if (o.body) {
      curl_easy_setopt(h_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(o.body->size()));
      curl_easy_setopt(h_, CURLOPT_COPYPOSTFIELDS, o.body->c_str());
      curl_easy_setopt(h_, CURLOPT_EXPECT_100_TIMEOUT_MS, o.expect_timeout_ms);
    }
    curl_slist* headers = nullptr;
    for (const auto& h : o.headers)
      headers = curl_slist_append(headers, h.c_str());
    curl_easy_setopt(h_, CURLOPT_HTTPHEADER, headers);
    f.code = curl_easy_perform(h_);
    curl_slist_free_all(headers);
    f.error = error;
    curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &f.status);
    curl_easy_getinfo(h_, CURLINFO_HTTP_CONNECTCODE, &f.connect_status);
    curl_easy_getinfo(h_, CURLINFO_NUM_CONNECTS, &f.new_connections);
    return f;
  }

 private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* f = static_cast<Fetch*>(user);
    f->body.append(data, size * n);
    if (f->abort_after != 0 && f->body.size() >= f->abort_after) return 0;  // CURLE_WRITE_ERROR
    return size * n;
  }
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    static_cast<Fetch*>(user)->headers.append(data, size * n);
    return size * n;
  }

  std::string proxy_;
  CURL* h_;
};

// A loopback port nobody listens on (bound, then closed; nothing else here binds port 0 that
// could get it back within the test).
unsigned short closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A loopback upstream for what badserver cannot do: answer `Expect: 100-continue`. On its own
// thread, one connection at a time: POST /refuse gets an early 417 (the body is never read);
// any other path gets 100 Continue, then, once the Content-Length body is in, 200 "got N".
class ContinueServer {
 public:
  ContinueServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ContinueServer() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }
  ContinueServer(const ContinueServer&) = delete;
  ContinueServer& operator=(const ContinueServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    for (int c; (c = ::accept(fd_, nullptr, nullptr)) >= 0; ::close(c))
      answer(c);
  }
  static void send_all(int c, const std::string& s) {
    for (std::size_t off = 0; off < s.size();) {
      ssize_t n = ::send(c, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }
  static void answer(int c) {
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
    }
    if (in.starts_with("POST /refuse ")) {
      send_all(c, "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    send_all(c, "HTTP/1.1 100 Continue\r\n\r\n");
    std::size_t at = in.find("Content-Length: ");
    std::size_t want = at == std::string::npos ? 0 : std::stoul(in.substr(at + 16));
    std::size_t got = in.size() - (in.find("\r\n\r\n") + 4);
    while (got < want) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      got += static_cast<std::size_t>(n);
    }
    std::string body = "got " + std::to_string(got);
    send_all(
        c, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }

  int fd_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
};

std::optional<std::string> exe_from_env(const char* var) {
  const char* path = std::getenv(var);
  if (!path || !*path) return std::nullopt;
  return std::string(path);
}

// ---------------------------------------------------------------------------------------------

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto proxy = exe_from_env("TESTPROXY"), bad = exe_from_env("BADSERVER");
    if (!proxy || !bad) GTEST_SKIP() << "TESTPROXY/BADSERVER are not set (run through meson test)";
    proxy_exe_ = *proxy;
    upstream_ =
        std::make_unique<testing_support::Server>(std::vector<std::string>{*bad, "--port", "0"});
    log_ = tmp_.path() + "/proxy.jsonl";
    proxy_ = std::make_unique<testing_support::Server>(
        std::vector<std::string>{*proxy, "--port", "0", "--log", log_});
  }

  // "http://127.0.0.1:PORT" of badserver, and "127.0.0.1:PORT".
  std::string origin() const { return upstream_->url(); }
  std::string authority() const { return origin().substr(std::string("http://").size()); }
  std::string port() const { return origin().substr(origin().rfind(':') + 1); }
  Curl curl() const { return Curl(proxy_->url()); }

  // The proxy's log so far; each line must be a JSON object.
  std::vector<json> log() const {
    std::vector<json> out;
    std::istringstream in(testing_support::read_file(log_));
    for (std::string line; std::getline(in, line);) {
      EXPECT_NO_THROW(out.push_back(json::parse(line))) << line;
    }
    return out;
  }

  support::Watchdog watchdog_{current_test(), 20s};
  testing_support::TempDir tmp_;
  std::string proxy_exe_, log_;
  std::unique_ptr<testing_support::Server> upstream_, proxy_;
};

TEST_F(ProxyTest, ForwardsInOriginFormWithViaAndWithoutHopByHopHeaders) {
  Curl c = curl();
  Fetch f = c.fetch(origin() + "/echo?x=1",
                    {.headers = {"Proxy-Connection: keep-alive", "Connection: keep-alive, X-Hop",
                                 "X-Hop: listed in Connection", "Keep-Alive: timeout=5",
                                 "TE: trailers", "X-End-To-End: kept"}});
  ASSERT_EQ(f.code, CURLE_OK) << f.error;
  EXPECT_EQ(f.status, 200);
  EXPECT_THAT(f.headers, HasSubstr("\r\nVia: 1.1 testproxy\r\n"));
  json echo = f.echo();
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_EQ(echo["path"], "/echo");  // origin-form upstream
  EXPECT_EQ(echo["query"], "x=1");
  const json& h = echo["headers"];
  EXPECT_EQ(h.value("via", ""), "1.1 testproxy");
  EXPECT_EQ(h.value("host", ""), authority());
  EXPECT_EQ(h.value("x-end-to-end", ""), "kept");
  for (const char* gone : {"proxy-connection", "x-hop", "keep-alive", "te"})
    EXPECT_FALSE(h.contains(gone)) << gone << " was forwarded: " << h.dump();

  std::vector<json> lines = log();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["method"], "GET");
  EXPECT_EQ(lines[0]["target"], origin() + "/echo?x=1");
  EXPECT_EQ(lines[0]["status"], 200);
  EXPECT_THAT(lines[0]["client"].get<std::string>(), StartsWith("127.0.0.1:"));
  EXPECT_TRUE(lines[0]["t_ms"].is_number());
}

struct BodyCase {
  const char* name;
  std::vector<std::string> headers;
  std::string body;
};

class ProxyBodyTest : public ProxyTest, public ::testing::WithParamInterface<BodyCase> {};

TEST_P(ProxyBodyTest, RelaysThePostBody) {
  const BodyCase& p = GetParam();
  Curl c = curl();
  Fetch f = c.fetch(origin() + "/echo", {.body = p.body, .headers = p.headers});
  ASSERT_EQ(f.code, CURLE_OK) << f.error;
  ASSERT_EQ(f.status, 200);
  json echo = f.echo();
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_TRUE(echo["body"] == p.body)
      << "got " << echo["body"].get<std::string>().size() << " bytes of " << p.body.size();
  std::vector<json> lines = log();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["method"], "POST");
  EXPECT_EQ(lines[0]["status"], 200);
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ProxyBodyTest,
    ::testing::Values(
        BodyCase{"ContentLength", {}, "hello=world"},
        BodyCase{"Chunked", {"Transfer-Encoding: chunked"}, "a=b&c=d"},
        BodyCase{"ThreeMiB", {}, std::string(3 << 20, 'p')},
        BodyCase{"ChunkedThreeMiB", {"Transfer-Encoding: chunked"}, std::string(3 << 20, 'q')},
        BodyCase{"Expect100", {"Expect: 100-continue"}, std::string(10000, 'e')}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(ProxyTest, KeepsTheClientConnectionAcrossRequestsHostsAndRefusals) {
  Curl c = curl();
  Fetch first = c.fetch(origin() + "/echo");
  ASSERT_EQ(first.code, CURLE_OK) << first.error;
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.new_connections, 1);

  Fetch second = c.fetch("http://localhost:" + port() + "/status/201");  // another host
  ASSERT_EQ(second.code, CURLE_OK) << second.error;
  EXPECT_EQ(second.status, 201);
  EXPECT_EQ(second.new_connections, 0);

  Fetch refused = c.fetch("http://192.0.2.1/");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.new_connections, 0);

  Fetch posted = c.fetch(origin() + "/echo", {.body = "after=all"});
  ASSERT_EQ(posted.code, CURLE_OK) << posted.error;
  EXPECT_EQ(posted.echo()["body"], "after=all");
  EXPECT_EQ(posted.new_connections, 0);

  Fetch head = c.fetch(origin() + "/big?bytes=1000", {.head = true});
  ASSERT_EQ(head.code, CURLE_OK) << head.error;
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");

  Fetch last = c.fetch(origin() + "/ok");
  ASSERT_EQ(last.code, CURLE_OK) << last.error;
  EXPECT_EQ(last.new_connections, 0);  // the HEAD answer's framing did not desync us

  std::vector<json> lines = log();
  ASSERT_EQ(lines.size(), 6u);
  for (const json& line : lines)
    EXPECT_EQ(line["client"], lines[0]["client"]) << "one client connection for all";
  EXPECT_EQ(lines[1]["target"], "http://localhost:" + port() + "/status/201");
  EXPECT_EQ(lines[1]["status"], 201);
}

// Refused before any connection attempt; the addresses are TEST-NET or private and never used.
class ForbiddenTest : public ProxyTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ForbiddenTest, NonLoopbackTargetsGet403) {
  Curl c = curl();
  Fetch f = c.fetch(GetParam());
  ASSERT_EQ(f.code, CURLE_OK) << f.error;
  EXPECT_EQ(f.status, 403);
  EXPECT_THAT(f.body, HasSubstr("only loopback targets"));
  std::vector<json> lines = log();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["target"], GetParam());
  EXPECT_EQ(lines[0]["status"], 403);
}

INSTANTIATE_TEST_SUITE_P(Targets, ForbiddenTest,
                         ::testing::Values("http://192.0.2.1/", "http://192.0.2.1:8080/x?y=1",
                                           "http://10.1.2.3/", "http://0.0.0.0/",
                                           "http://[2001:db8::1]:8080/", "http://example.com/",
                                           "http://127.0.0.1.example.com/"));

// The request body goes up while the answer comes down: the upstream's 100 Continue reaches
// the client at once (not after curl's 5 s wait), and an early final answer ends the exchange
// without the body, announcing that the connection closes.
TEST_F(ProxyTest, RelaysContinueAndEarlyAnswersToExpect) {
  ContinueServer upstream;
  Curl c = curl();
  const std::string body(20000, 'u');
  auto t0 = std::chrono::steady_clock::now();
  Fetch f = c.fetch(upstream.url() + "/upload",
                    {.body = body, .headers = {"Expect: 100-continue"}, .expect_timeout_ms = 5000});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  ASSERT_EQ(f.code, CURLE_OK) << f.error;
  EXPECT_THAT(f.headers, HasSubstr("HTTP/1.1 100 Continue\r\n"));
  EXPECT_EQ(f.status, 200);
  EXPECT_EQ(f.body, "got 20000");

  Fetch refused =
      c.fetch(upstream.url() + "/refuse",
              {.body = body, .headers = {"Expect: 100-continue"}, .expect_timeout_ms = 5000});
  ASSERT_EQ(refused.code, CURLE_OK) << refused.error;
  EXPECT_EQ(refused.status, 417);
  EXPECT_THAT(refused.headers, HasSubstr("\r\nConnection: close\r\n"));

  std::vector<json> lines = log();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["status"], 200);
  EXPECT_EQ(lines[1]["status"], 417);
}

TEST_F(ProxyTest, ConnectToANonLoopbackTargetGets403) {
  Curl c = curl();
  Fetch f = c.fetch("http://192.0.2.1:8080/", {.tunnel = true});
  EXPECT_NE(f.code, CURLE_OK);
  EXPECT_EQ(f.connect_status, 403);
  std::vector<json> lines = log();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["method"], "CONNECT");
  EXPECT_EQ(lines[0]["target"], "192.0.2.1:8080");
  EXPECT_EQ(lines[0]["status"], 403);
}

// Loopback, so allowed, but nobody listens: 502, not 403.
TEST_F(ProxyTest, UnreachableLoopbackUpstreamsGet502) {
  const std::string closed = std::to_string(closed_port());
  const std::vector<std::string> urls = {
      "http://127.0.0.1:" + closed + "/",
      "http://127.0.0.2:" + port() + "/ok",  // badserver: .1 only
      "http://[::1]:" + closed + "/"};
  Curl c = curl();
  for (const auto& url : urls) {
    SCOPED_TRACE(url);
    Fetch f = c.fetch(url);
    ASSERT_EQ(f.code, CURLE_OK) << f.error;
    EXPECT_EQ(f.status, 502);
    EXPECT_THAT(f.body, HasSubstr("cannot connect"));
  }
  std::vector<json> lines = log();
  ASSERT_EQ(lines.size(), urls.size());
  for (std::size_t i = 0; i < urls.size(); ++i) {
    EXPECT_EQ(lines[i]["target"], urls[i]);
    EXPECT_EQ(lines[i]["status"], 502);
  }
}

TEST_F(ProxyTest, ConnectTunnelCarriesPlainHttp) {
  Curl c = curl();
  Fetch f = c.fetch(origin() + "/echo", {.tunnel = true});
  ASSERT_EQ(f.code, CURLE_OK) << f.error;
  EXPECT_EQ(f.connect_status, 200);
  EXPECT_EQ(f.status, 200);
  EXPECT_THAT(f.headers, HasSubstr("200 Connection Established"));
  // Opaque bytes: the request inside the tunnel is not rewritten.
  EXPECT_FALSE(f.echo()["headers"].contains("via"));

  Fetch again = c.fetch(origin() + "/echo", {.body = "through=tunnel", .tunnel = true});
  ASSERT_EQ(again.code, CURLE_OK) << again.error;
  EXPECT_EQ(again.echo()["body"], "through=tunnel");
  EXPECT_EQ(again.new_connections, 0);  // the same tunnel

  std::vector<json> lines = log();
  ASSERT_EQ(lines.size(), 1u);  // one CONNECT; what goes through the tunnel is not seen
  EXPECT_EQ(lines[0]["method"], "CONNECT");
  EXPECT_EQ(lines[0]["target"], authority());
  EXPECT_EQ(lines[0]["status"], 200);
}

TEST_F(ProxyTest, StreamsAnswersAndPassesTruncationOn) {
  Curl c = curl();
  Fetch big = c.fetch(origin() + "/big?bytes=5000000");
  ASSERT_EQ(big.code, CURLE_OK) << big.error;
  EXPECT_EQ(big.body.size(), 5000000u);

  // An endless chunked answer arrives piece by piece (nothing buffers it whole); the client
  // hanging up ends it.
  Fetch endless = c.fetch(origin() + "/endless", {.abort_after = 256 * 1024});
  EXPECT_EQ(endless.code, CURLE_WRITE_ERROR) << endless.error;
  EXPECT_GE(endless.body.size(), 256u * 1024);

  // A body cut short upstream must reach the client as an error, never as a whole answer.
  for (const char* path : {"/close-early", "/reset"}) {
    Fetch cut = c.fetch(origin() + path);
    EXPECT_NE(cut.code, CURLE_OK) << path;
    EXPECT_LT(cut.body.size(), 100000u) << path;
  }

  Fetch ok = c.fetch(origin() + "/ok");  // and the proxy is still fine
  ASSERT_EQ(ok.code, CURLE_OK) << ok.error;
  EXPECT_EQ(ok.status, 200);
}

TEST_F(ProxyTest, OriginFormRequestsAreNotProxied) {
  Curl direct("");  // straight to the proxy, as if it were a server
  Fetch f = direct.fetch(proxy_->url() + "/echo");
  ASSERT_EQ(f.code, CURLE_OK) << f.error;
  EXPECT_EQ(f.status, 400);
  EXPECT_THAT(f.body, HasSubstr("absolute http:// URL"));
}

TEST_F(ProxyTest, ExitsZeroOnSigterm) {
  EXPECT_EQ(proxy_->stop(), 0);
}

TEST(ProxyCliTest, BadArgumentsExitTwoNamingTheArgument) {
  auto exe = exe_from_env("TESTPROXY");
  if (!exe) GTEST_SKIP() << "TESTPROXY is not set (run through meson test)";
  support::Watchdog watchdog(current_test(), 20s);
  const std::vector<std::vector<std::string>> cases = {
      {"--port", "http"}, {"--port", "70000"}, {"--host", "nowhere.invalid"},
      {"--bogus", "1"},   {"--log"},           {"--log", "/nonexistent/dir/proxy.jsonl"}};
  for (const auto& args : cases) {
    SCOPED_TRACE(args[0]);
    std::vector<std::string> argv = {*exe};
    argv.insert(argv.end(), args.begin(), args.end());
    support::Child child(argv, /*capture_stderr=*/true);
    EXPECT_EQ(child.wait(10s), std::optional<int>(2));
    EXPECT_THAT(child.read_stderr(5s), HasSubstr(args[0]));
    EXPECT_FALSE(child.read_line(1s).has_value());  // no banner
  }
}

}  // namespace
