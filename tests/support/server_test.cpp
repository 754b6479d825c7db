// Tests of the two loopback servers the rest of the suite relies on: the demo shop (in-process,
// and as prober-shop) and badserver (as a child process). Every test runs under a watchdog and
// every client operation under a deadline, so a stuck server fails the test instead of hanging.
#include "examples/shop/shop.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "tests/support/watchdog.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 client: one keep-alive connection, every operation bounded by `timeout`
// (beast::tcp_stream's own timer), errors thrown as beast::system_error.

struct Reply {
  unsigned status = 0;
  http::fields headers;
  std::string body;

  std::string header(http::field f) const { return std::string(headers[f]); }
  std::string header(const char* name) const { return std::string(headers[name]); }
  json json_body() const { return json::parse(body); }
};

class Client {
 public:
  explicit Client(unsigned short port, std::chrono::milliseconds timeout = 5s,
                  const char* source_address = nullptr)
      : stream_(ioc_), timeout_(timeout) {
    if (source_address) {
      stream_.socket().open(tcp::v4());
      stream_.socket().bind(tcp::endpoint(net::ip::make_address(source_address), 0));
    }
    stream_.expires_after(timeout_);
    run([&](auto handler) {
      stream_.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), handler);
    });
  }

  Reply request(http::verb method, const std::string& target, std::string body = {},
                std::vector<std::pair<std::string, std::string>> headers = {},
                std::uint64_t body_limit = 64 << 20) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::user_agent, "support-test/1");
    for (auto& [name, value] : headers)
      req.set(name, value);
    if (!body.empty() || method == http::verb::post) {
      req.set(http::field::content_type, "application/json");
      req.body() = std::move(body);
      req.prepare_payload();
    }
    return send(req, body_limit);
  }

  Reply get(const std::string& target) { return request(http::verb::get, target); }
  Reply post(const std::string& target, const json& body) {
    return request(http::verb::post, target, body.dump());
  }

  Reply send(http::request<http::string_body>& req, std::uint64_t body_limit = 64 << 20) {
    stream_.expires_after(timeout_);
    run([&](auto handler) { http::async_write(stream_, req, handler); });
    http::response_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    run([&](auto handler) { http::async_read(stream_, buffer_, parser, handler); });
    auto res = parser.release();
    Reply reply;
    reply.status = res.result_int();
    for (const auto& f : res)
      reply.headers.insert(f.name_string(), f.value());
    reply.body = std::move(res.body());
    return reply;
  }

 private:
  // Starts one async operation and runs the loop until it completes (or the stream's timer
  // cancels it).
  template <class Start>
  void run(Start start) {
    beast::error_code result = net::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    if (result) throw beast::system_error(result);
  }

  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::chrono::milliseconds timeout_;
};

// Milliseconds since `start`.
double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string temp_path(const std::string& stem) {
  auto dir = std::filesystem::path(::testing::TempDir());
  return (dir / (stem + "-" + std::to_string(::getpid()) + ".jsonl")).string();
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    lines.push_back(json::parse(line));
  return lines;
}

std::string current_test() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return info ? std::string(info->test_suite_name()) + "." + info->name() : "?";
}

// ---------------------------------------------------------------------------------------------
// The shop, in-process.

class ShopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_path_ = temp_path(current_test());
    std::filesystem::remove(log_path_);
    shop::Options o;
    o.log_path = log_path_;
    o.threads = 2;
    server_ = std::make_unique<shop::Server>(o);
    port_ = server_->start();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove(log_path_);
  }

  std::string login(Client& c, const std::string& user = "alice",
                    const std::string& password = "wonderland") {
    Reply r = c.post("/api/login", {{"user", user}, {"password", password}});
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.json_body().value("token", "");
  }

  support::Watchdog watchdog_{current_test(), 20s};
  std::string log_path_;
  std::unique_ptr<shop::Server> server_;
  unsigned short port_ = 0;
};

TEST_F(ShopTest, HealthAndCatalog) {
  Client c(port_);
  Reply health = c.get("/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.json_body(), json({{"ok", true}}));
  EXPECT_EQ(health.header(http::field::content_type), "application/json");

  Reply products = c.get("/api/products");
  ASSERT_EQ(products.status, 200u);
  const json items = products.json_body().at("items");
  ASSERT_GE(items.size(), 4u);
  ASSERT_LE(items.size(), 6u);
  EXPECT_EQ(items[0],
            json({{"id", "p-100"}, {"name", "Trail shoes"}, {"price", 89.5}, {"stock", 12}}));
  for (const auto& item : items) {
    EXPECT_TRUE(item.at("id").is_string());
    EXPECT_TRUE(item.at("price").is_number());
    Reply one = c.get("/api/products/" + item["id"].get<std::string>());  // same connection
    EXPECT_EQ(one.status, 200u);
    EXPECT_EQ(one.json_body(), item);
  }
}

TEST_F(ShopTest, LoginThenMe) {
  struct Case {
    const char* user;
    const char* password;
    unsigned status;
  };
  const Case cases[] = {{"alice", "wonderland", 200},
                        {"alice", "demo", 200},
                        {"bob", "demo", 200},
                        {"alice", "nope", 401},
                        {"bob", "wonderland", 401}};
  Client c(port_);
  for (const auto& tc : cases) {
    SCOPED_TRACE(std::string(tc.user) + "/" + tc.password);
    Reply r = c.post("/api/login", {{"user", tc.user}, {"password", tc.password}});
    ASSERT_EQ(r.status, tc.status) << r.body;
    if (tc.status != 200) {
      EXPECT_TRUE(r.json_body().contains("error"));
      continue;
    }
    std::string token = r.json_body().at("token");
    EXPECT_EQ(r.json_body().at("user"), tc.user);
    EXPECT_EQ(token.rfind("t-", 0), 0u);
    EXPECT_EQ(r.header(http::field::set_cookie), "session=" + token + "; Path=/; HttpOnly");

    Reply me = c.request(http::verb::get, "/api/me", {}, {{"Authorization", "Bearer " + token}});
    EXPECT_EQ(me.status, 200u);
    EXPECT_EQ(me.json_body(), json({{"user", tc.user}}));
  }
  EXPECT_EQ(c.get("/api/me").status, 401u);
  EXPECT_EQ(c.request(http::verb::get, "/api/me", {}, {{"Authorization", "Bearer t-bogus"}}).status,
            401u);
  EXPECT_EQ(c.request(http::verb::get, "/api/me", {}, {{"Authorization", "Basic YTpi"}}).status,
            401u);
}

TEST_F(ShopTest, BrowseCartPurchase) {
  Client c(port_);
  json first = c.get("/api/products").json_body()["items"][0];
  Reply cart = c.post("/api/cart", {{"product", first["id"]}, {"quantity", 2}});
  ASSERT_EQ(cart.status, 201u) << cart.body;
  std::string cart_id = cart.json_body().at("cart_id");
  EXPECT_EQ(cart_id.rfind("c-", 0), 0u);
  EXPECT_DOUBLE_EQ(cart.json_body().at("total").get<double>(), 2 * first["price"].get<double>());
  EXPECT_EQ(cart.header(http::field::location), "/api/cart/" + cart_id);

  // A second line into the same cart.
  Reply more = c.post("/api/cart", {{"product", "p-102"}, {"cart_id", cart_id}});
  ASSERT_EQ(more.status, 201u) << more.body;
  EXPECT_EQ(more.json_body()["items"].size(), 2u);
  EXPECT_DOUBLE_EQ(more.json_body()["total"].get<double>(), 2 * 89.5 + 12.9);

  Reply got = c.get("/api/cart/" + cart_id);
  ASSERT_EQ(got.status, 200u);
  EXPECT_EQ(got.json_body(), more.json_body());

  Reply order = c.post("/api/completePurchase", {{"cart_id", cart_id}});
  ASSERT_EQ(order.status, 200u) << order.body;
  EXPECT_EQ(order.json_body().at("status"), "confirmed");
  EXPECT_EQ(order.json_body().at("order_id").get<std::string>().rfind("o-", 0), 0u);
  EXPECT_DOUBLE_EQ(order.json_body().at("total").get<double>(), 191.9);

  // A bought cart is gone: no double purchase.
  EXPECT_EQ(c.get("/api/cart/" + cart_id).status, 404u);
  EXPECT_EQ(c.post("/api/completePurchase", {{"cart_id", cart_id}}).status, 404u);
}

TEST_F(ShopTest, OneClickPurchase) {
  Client c(port_);
  Reply order = c.post("/api/completePurchase", {{"product", "p-101"}});
  ASSERT_EQ(order.status, 200u) << order.body;
  EXPECT_EQ(order.json_body().at("status"), "confirmed");
  EXPECT_DOUBLE_EQ(order.json_body().at("total").get<double>(), 129.0);
}

TEST_F(ShopTest, BadRequestsAnswerJsonErrors) {
  struct Case {
    http::verb method;
    const char* target;
    const char* body;
    unsigned status;
  };
  const Case cases[] = {
      {http::verb::post, "/api/cart", "{\"product\": ", 400},  // malformed JSON
      {http::verb::post, "/api/cart", "[1, 2]", 400},          // not an object
      {http::verb::post, "/api/cart", R"({"product":"p-999"})", 400},
      {http::verb::post, "/api/cart", R"({"product":"p-100","quantity":0})", 400},
      {http::verb::post, "/api/cart", R"({"product":"p-100","quantity":1.5})", 400},
      {http::verb::post, "/api/cart", R"({"product":"p-101","quantity":6})", 400},  // > stock
      {http::verb::post, "/api/cart", R"({"product":"p-100","cart_id":"c-nope"})", 404},
      {http::verb::post, "/api/login", "not json", 400},
      {http::verb::post, "/api/login", R"({"user":"alice"})", 400},
      {http::verb::post, "/api/completePurchase", R"({"cart_id":"c-nope"})", 404},
      {http::verb::post, "/api/completePurchase", R"({"product":"p-999"})", 400},
      {http::verb::post, "/api/completePurchase", "{}", 400},
      {http::verb::get, "/api/cart/c-nope", "", 404},
      {http::verb::get, "/api/products/p-999", "", 404},
      {http::verb::get, "/nope", "", 404},
      {http::verb::delete_, "/api/cart", "", 405},
      {http::verb::get, "/api/login", "", 405},
  };
  Client c(port_);
  for (const auto& tc : cases) {
    SCOPED_TRACE(std::string(http::to_string(tc.method)) + " " + tc.target + " " + tc.body);
    Reply r = c.request(tc.method, tc.target, tc.body);
    EXPECT_EQ(r.status, tc.status) << r.body;
    EXPECT_EQ(r.header(http::field::content_type), "application/json");
    EXPECT_TRUE(r.json_body().at("error").is_string()) << r.body;
  }
  EXPECT_EQ(c.request(http::verb::post, "/api/cart", "{bad").json_body()["error"],
            "malformed JSON body");
}

TEST_F(ShopTest, ErrorFaultAnswersInjectedStatus) {
  Client c(port_);
  server_->set_fault("completePurchase", {0, 1.0, 503});
  Reply r = c.post("/api/completePurchase", {{"product", "p-100"}});
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.json_body(), json({{"error", "injected fault"}}));
  EXPECT_EQ(c.get("/api/products").status, 200u);  // other routes untouched

  server_->set_fault("*", {0, 1.0, 500});  // every route without its own fault
  EXPECT_EQ(c.get("/healthz").status, 500u);
  EXPECT_EQ(c.post("/api/completePurchase", {{"product", "p-100"}}).status, 503u);
  EXPECT_EQ(c.get("/nope").status, 404u);  // not a route: never faulted

  server_->set_fault("*", {});
  server_->set_fault("completePurchase", {});
  EXPECT_EQ(c.get("/healthz").status, 200u);
  EXPECT_EQ(c.post("/api/completePurchase", {{"product", "p-100"}}).status, 200u);

  EXPECT_THROW(server_->set_fault("checkout", {}), std::invalid_argument);
  EXPECT_THROW(server_->set_fault("me", {0, 2.0, 503}), std::invalid_argument);
}

TEST_F(ShopTest, PartialErrorRateIsSeededAndPlausible) {
  server_->set_fault("products", {0, 0.5, 502});
  Client c(port_);
  int failed = 0;
  for (int i = 0; i < 200; ++i) {
    unsigned status = c.get("/api/products").status;
    ASSERT_TRUE(status == 200 || status == 502) << status;
    failed += status == 502;
  }
  EXPECT_GT(failed, 60);
  EXPECT_LT(failed, 140);
}

// The delay is a timer, not a sleeping thread: with one I/O thread, a delayed request must not
// hold up another connection.
TEST_F(ShopTest, DelayFaultDelaysWithoutBlockingOthers) {
  server_.reset();
  shop::Options o;
  o.threads = 1;
  o.faults["products"] = {300, 0, 503};
  server_ = std::make_unique<shop::Server>(o);
  port_ = server_->start();

  std::atomic<double> slow_ms{0};
  std::thread slow([&] {
    try {
      auto t0 = Clock::now();
      Client c(port_);
      if (c.get("/api/products").status == 200) slow_ms = ms_since(t0);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  });
  std::this_thread::sleep_for(50ms);
  auto t0 = Clock::now();
  Client c(port_);
  EXPECT_EQ(c.get("/healthz").status, 200u);
  EXPECT_LT(ms_since(t0), 200);
  slow.join();
  EXPECT_GE(slow_ms.load(), 300);
}

TEST_F(ShopTest, RequestLogHasOneLinePerRequest) {
  double before =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  {
    Client c(port_);
    c.get("/healthz");
    c.request(http::verb::get, "/api/products?x=1", {}, {{"X-Probe-Location", "edge-a"}});
    c.post("/api/cart", {{"product", "p-100"}});
    c.get("/nope");
  }
  {
    // A second vantage point: the log tells requests from different source addresses apart.
    Client edge(port_, 5s, "127.0.0.2");
    edge.get("/healthz");
  }
  double after =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  EXPECT_EQ(server_->requests(), 5u);

  auto lines = read_jsonl(log_path_);
  ASSERT_EQ(lines.size(), 5u);
  const char* paths[] = {"/healthz", "/api/products?x=1", "/api/cart", "/nope", "/healthz"};
  const unsigned statuses[] = {200, 200, 201, 404, 200};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i].dump());
    EXPECT_EQ(lines[i].at("path"), paths[i]);
    EXPECT_EQ(lines[i].at("status"), statuses[i]);
    EXPECT_EQ(lines[i].at("ua"), "support-test/1");
    EXPECT_EQ(lines[i].at("headers").at("user-agent"), "support-test/1");
    EXPECT_GE(lines[i].at("t_ms").get<double>(), before);
    EXPECT_LE(lines[i].at("t_ms").get<double>(), after);
    EXPECT_EQ(lines[i].at("remote"), i < 4 ? "127.0.0.1" : "127.0.0.2");
  }
  EXPECT_EQ(lines[1]["headers"]["x-probe-location"], "edge-a");
  EXPECT_EQ(lines[2]["method"], "POST");
}

TEST_F(ShopTest, ManyConcurrentKeepAliveClients) {
  constexpr int kClients = 24, kEach = 10;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&] {
      try {
        Client c(port_);
        for (int j = 0; j < kEach; ++j)
          ok += c.get("/api/products/p-103").status == 200;
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(ok.load(), kClients * kEach);
  EXPECT_EQ(server_->requests(), static_cast<std::uint64_t>(kClients * kEach));
}

TEST_F(ShopTest, SameSeedSameIds) {
  auto first_cart = [](std::uint64_t seed) {
    shop::Options o;
    o.seed = seed;
    shop::Server s(o);
    Client c(s.start());
    return c.post("/api/cart", {{"product", "p-100"}}).json_body().at("cart_id").get<std::string>();
  };
  EXPECT_EQ(first_cart(7), first_cart(7));
  EXPECT_NE(first_cart(7), first_cart(8));
}

TEST_F(ShopTest, StopClosesConnectionsAndIsIdempotent) {
  Client open(port_);
  EXPECT_EQ(open.get("/healthz").status, 200u);
  server_->stop();
  server_->stop();
  EXPECT_THROW(open.get("/healthz"), beast::system_error);  // closed, not left hanging
  EXPECT_THROW(Client(port_, 1s), beast::system_error);     // refused
  EXPECT_THROW(server_->start(), std::logic_error);
}

TEST(ShopOptions, RejectsUnknownRoutesAndZeroThreads) {
  shop::Options o;
  o.faults["checkout"] = {};
  EXPECT_THROW(shop::Server{o}, std::invalid_argument);
  shop::Options zero;
  zero.threads = 0;
  EXPECT_THROW(shop::Server{zero}, std::invalid_argument);
  EXPECT_TRUE(shop::is_route("*"));
  EXPECT_TRUE(shop::is_route("completePurchase"));
  EXPECT_FALSE(shop::is_route("checkout"));
}

// ---------------------------------------------------------------------------------------------
// The helpers themselves.

TEST(SupportHelpers, PortFromBanner) {
  struct Case {
    const char* line;
    unsigned short port;
  };
  const Case cases[] = {
      {"listening on http://127.0.0.1:8080", 8080}, {"listening on http://[::1]:443", 443},
      {"listening on http://127.0.0.1:", 0},        {"listening on http://127.0.0.1:80x", 0},
      {"listening on http://127.0.0.1:70000", 0},   {"hello", 0}};
  for (const auto& tc : cases)
    EXPECT_EQ(support::port_from_banner(tc.line), tc.port) << tc.line;
}

TEST(SupportHelpers, ChildReportsExitCodesAndSignals) {
  support::Watchdog watchdog(current_test(), 20s);
  EXPECT_THROW(support::Child({"/nonexistent/binary"}), std::system_error);
  support::Child echo({"/bin/sh", "-c", "echo one; echo two; exit 7"});
  EXPECT_EQ(echo.read_line(5s), std::optional<std::string>("one"));
  EXPECT_EQ(echo.read_line(5s), std::optional<std::string>("two"));
  EXPECT_EQ(echo.wait(5s), std::optional<int>(7));
  support::Child sleeper({"/bin/sleep", "30"});
  EXPECT_FALSE(sleeper.read_line(50ms).has_value());  // the deadline, not EOF
  EXPECT_EQ(sleeper.terminate(), 128 + SIGTERM);
}

TEST(SupportHelpersDeathTest, WatchdogEndsAStuckTest) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        support::Watchdog watchdog("stuck", 50ms);
        std::this_thread::sleep_for(10s);
      },
      ::testing::ExitedWithCode(3), "watchdog: stuck still running");
}

// ---------------------------------------------------------------------------------------------
// Child processes: prober-shop and badserver, found through the environment meson sets.

std::optional<std::string> exe_from_env(const char* var) {
  const char* path = std::getenv(var);
  if (!path || !*path) return std::nullopt;
  return std::string(path);
}

// Spawns `argv`, reads the banner, returns the port (0 and a test failure if there is none).
unsigned short start_server(support::Child& child) {
  auto banner = child.read_line(10s);
  EXPECT_TRUE(banner.has_value()) << "no banner within 10 s";
  unsigned short port = banner ? support::port_from_banner(*banner) : 0;
  EXPECT_NE(port, 0) << (banner ? *banner : "");
  return port;
}

class ShopProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto exe = exe_from_env("PROBER_SHOP");
    if (!exe) GTEST_SKIP() << "PROBER_SHOP is not set (run through meson test)";
    exe_ = *exe;
  }
  support::Watchdog watchdog_{current_test(), 20s};
  std::string exe_;
};

TEST_F(ShopProcessTest, ServesWithFaultsFromTheCommandLineAndExitsOnSigterm) {
  std::string log = temp_path(current_test());
  std::filesystem::remove(log);
  support::Child child({exe_, "--port", "0", "--seed", "3", "--log", log, "--delay", "healthz=150",
                        "--error-rate", "products=1", "--error-status=products=502"});
  unsigned short port = start_server(child);
  ASSERT_NE(port, 0);
  Client c(port);
  auto t0 = Clock::now();
  EXPECT_EQ(c.get("/healthz").status, 200u);
  EXPECT_GE(ms_since(t0), 150);
  EXPECT_EQ(c.get("/api/products").status, 502u);
  EXPECT_EQ(c.get("/api/products/p-100").status, 200u);
  EXPECT_EQ(child.terminate(), 0);
  EXPECT_EQ(read_jsonl(log).size(), 3u);
  std::filesystem::remove(log);
}

TEST_F(ShopProcessTest, BadArgumentsExitTwoNamingTheArgument) {
  const std::vector<std::vector<std::string>> cases = {{"--port", "http"},
                                                       {"--threads", "0"},
                                                       {"--delay", "checkout=5"},
                                                       {"--error-rate", "me=1.5"},
                                                       {"--error-status", "me=42"},
                                                       {"--bogus", "1"},
                                                       {"--seed"}};
  for (const auto& args : cases) {
    SCOPED_TRACE(args[0]);
    std::vector<std::string> argv = {exe_};
    argv.insert(argv.end(), args.begin(), args.end());
    support::Child child(argv, /*capture_stderr=*/true);
    EXPECT_EQ(child.wait(10s), std::optional<int>(2));
    EXPECT_NE(child.read_stderr(5s).find(args[0]), std::string::npos);
    EXPECT_FALSE(child.read_line(1s).has_value());  // no banner
  }
}

// One badserver for the whole suite; each test still has its own watchdog.
class BadServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto exe = exe_from_env("BADSERVER");
    if (!exe) return;
    log_ = temp_path("badserver");
    std::filesystem::remove(log_);
    child_ = new support::Child({*exe, "--port", "0", "--log", log_});
    port_ = start_server(*child_);
  }
  static void TearDownTestSuite() {
    if (!child_) return;
    EXPECT_EQ(child_->terminate(), 0);  // SIGTERM → clean exit
    delete child_;
    child_ = nullptr;
    std::filesystem::remove(log_);
  }
  void SetUp() override {
    if (!child_) GTEST_SKIP() << "BADSERVER is not set (run through meson test)";
    ASSERT_NE(port_, 0);
  }

  support::Watchdog watchdog_{current_test(), 20s};
  static inline support::Child* child_ = nullptr;
  static inline unsigned short port_ = 0;
  static inline std::string log_;
};

TEST_F(BadServerTest, OkAndStatus) {
  Client c(port_);
  Reply ok = c.get("/ok");
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.json_body(), json({{"ok", true}}));
  for (unsigned status : {200u, 404u, 418u, 503u}) {
    Reply r = c.get("/status/" + std::to_string(status));
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.json_body().at("status"), status);
  }
  EXPECT_EQ(c.get("/status/204").body, "");
  EXPECT_EQ(c.get("/status/42").status, 400u);
  EXPECT_EQ(c.get("/nope").status, 404u);
}

TEST_F(BadServerTest, Redirects) {
  Client c(port_);
  Reply r = c.get("/redirect/2");
  EXPECT_EQ(r.status, 302u);
  EXPECT_EQ(r.header(http::field::location), "/redirect/1");
  EXPECT_EQ(c.get("/redirect/0").status, 200u);
  EXPECT_EQ(c.get("/redirect-loop").header(http::field::location), "/redirect-loop");
  EXPECT_EQ(c.get("/redirect-to?url=http%3A%2F%2F127.0.0.1%3A1%2Fx%3Fa%3Db")
                .header(http::field::location),
            "http://127.0.0.1:1/x?a=b");
}

TEST_F(BadServerTest, BigBodyHasTheAnnouncedLength) {
  Client c(port_);
  Reply r = c.get("/big?bytes=1000000");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header(http::field::content_length), "1000000");
  EXPECT_EQ(r.body.size(), 1000000u);
  EXPECT_EQ(r.body.find_first_not_of('x'), std::string::npos);
  EXPECT_EQ(c.get("/ok").status, 200u);  // and the connection is still usable
}

TEST_F(BadServerTest, EchoShowsWhatWasSent) {
  Client c(port_);
  Reply r = c.request(http::verb::put, "/echo?a=1&b=x%20y", R"({"k":"v"})", {{"X-Trace", "abc"}});
  ASSERT_EQ(r.status, 200u);
  json j = r.json_body();
  EXPECT_EQ(j["method"], "PUT");
  EXPECT_EQ(j["path"], "/echo");
  EXPECT_EQ(j["query"], "a=1&b=x%20y");
  EXPECT_EQ(j["args"], json({{"a", "1"}, {"b", "x y"}}));
  EXPECT_EQ(j["headers"]["x-trace"], "abc");
  EXPECT_EQ(j["headers"]["user-agent"], "support-test/1");
  EXPECT_EQ(j["body"], R"({"k":"v"})");

  // A chunked request body is reassembled.
  http::request<http::string_body> req{http::verb::post, "/echo", 11};
  req.set(http::field::host, "127.0.0.1");
  req.body() = "chunked body";
  req.chunked(true);
  EXPECT_EQ(c.send(req).json_body()["body"], "chunked body");
}

TEST_F(BadServerTest, BrokenBodies) {
  Client c(port_);
  EXPECT_THROW(c.get("/invalid-json").json_body(), json::parse_error);
  Reply html = c.get("/not-json");
  EXPECT_EQ(html.header(http::field::content_type), "text/html");
  EXPECT_NE(c.get("/invalid-utf8").body.find('\xFF'), std::string::npos);
}

TEST_F(BadServerTest, TruncatedBodiesFailTheRead) {
  for (const char* path : {"/reset", "/close-early"}) {
    SCOPED_TRACE(path);
    Client c(port_);
    EXPECT_THROW(c.get(path), beast::system_error);
  }
}

TEST_F(BadServerTest, StallsHitTheClientDeadline) {
  for (const char* path : {"/never", "/slowloris"}) {
    SCOPED_TRACE(path);
    Client c(port_, 700ms);
    auto t0 = Clock::now();
    try {
      c.get(path);
      ADD_FAILURE() << "no timeout";
    } catch (const beast::system_error& e) {
      EXPECT_EQ(e.code(), beast::error::timeout) << e.code().message();
    }
    EXPECT_GE(ms_since(t0), 600);
  }
  Client c(port_);
  EXPECT_THROW(c.request(http::verb::get, "/endless", {}, {}, 1 << 20), beast::system_error);
  auto t0 = Clock::now();
  EXPECT_EQ(Client(port_).get("/slow?ms=200").status, 200u);
  EXPECT_GE(ms_since(t0), 200);
}

TEST_F(BadServerTest, CookiesHeadersAndGzip) {
  Client c(port_);
  EXPECT_EQ(c.get("/set-cookie?name=sid&value=42").header(http::field::set_cookie),
            "sid=42; Path=/");
  Reply h = c.get("/headers?X-One=1&Cache-Control=no-store");
  EXPECT_EQ(h.header("X-One"), "1");
  EXPECT_EQ(h.header(http::field::cache_control), "no-store");

  Reply gz = c.get("/gzip-bomb");
  if (gz.status == 501) GTEST_SKIP() << "badserver built without zlib";
  EXPECT_EQ(gz.header(http::field::content_encoding), "gzip");
  ASSERT_GE(gz.body.size(), 2u);
  EXPECT_LT(gz.body.size(), 1u << 20);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[1]), 0x8b);
}

TEST_F(BadServerTest, CountAndLog) {
  Client c(port_);
  auto count = [&] { return c.get("/count").json_body().at("requests").get<int>(); };
  int first = count();
  c.get("/ok?from=count-test");
  EXPECT_EQ(count(), first + 2);

  auto lines = read_jsonl(log_);
  ASSERT_GE(lines.size(), 3u);
  auto it = std::find_if(lines.begin(), lines.end(),
                         [](const json& l) { return l["path"] == "/ok?from=count-test"; });
  ASSERT_NE(it, lines.end());
  EXPECT_EQ((*it)["method"], "GET");
  EXPECT_EQ((*it)["remote"], "127.0.0.1");
  EXPECT_EQ((*it)["ua"], "support-test/1");
  EXPECT_TRUE((*it)["t_ms"].is_number());
}

}  // namespace
