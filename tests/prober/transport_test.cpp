#include "prober/transport/http.hpp"

#include <cerrno>
#include <cstdlib>

#include <fcntl.h>
#include <unistd.h>
#include <memory>
#include <optional>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "prober/cli/malloc_tuning.hpp"
#include "tests/support/fd_exhaustion.hpp"
#include "tests/support/proc.hpp"

namespace {

using prober::transport::Client;
using prober::transport::CurlClocks;
using prober::transport::Failure;
using prober::transport::HttpRequest;
using prober::transport::HttpResult;
using prober::transport::phase_timings;
using prober::transport::Session;
using testing::HasSubstr;

class Transport : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* path = std::getenv("BADSERVER");
    ASSERT_NE(path, nullptr) << "BADSERVER is not set (run through meson test)";
    server_ = new testing_support::Server({path, "--port", "0"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  HttpRequest get(const std::string& path) {
    HttpRequest r;
    r.url = server_->url() + path;
    r.timeout = std::chrono::seconds(10);
    return r;
  }

  // Runs one request to completion on a fresh loop (with a watchdog).
  HttpResult perform(Session& session, const HttpRequest& req) {
    std::optional<HttpResult> out;
    client_.start(session, req, [&](HttpResult r) { out = std::move(r); });
    run_loop();
    EXPECT_TRUE(out.has_value()) << "no completion";
    return out ? std::move(*out) : HttpResult{};
  }

  void run_loop() {
    boost::asio::steady_timer watchdog(io_, std::chrono::seconds(30));
    bool fired = false;
    watchdog.async_wait([&](auto ec) {
      if (!ec) {
        fired = true;
        io_.stop();
      }
    });
    // The watchdog keeps run() alive; stop it once no transfer is left.
    std::function<void()> poll;
    boost::asio::steady_timer poller(io_);
    poll = [&] {
      if (client_.in_flight() == 0) {
        watchdog.cancel();
        return;
      }
      poller.expires_after(std::chrono::milliseconds(2));
      poller.async_wait([&](auto) { poll(); });
    };
    poll();
    io_.restart();
    io_.run();
    ASSERT_FALSE(fired) << "watchdog: the loop was stuck";
  }

  static testing_support::Server* server_;
  boost::asio::io_context io_;
  Client client_{io_};
};

testing_support::Server* Transport::server_ = nullptr;

TEST_F(Transport, GetReturnsStatusHeadersBodyAndTimings) {
  Session s;
  HttpResult r = perform(s, get("/ok"));
  ASSERT_EQ(r.failure, Failure::none) << r.message;
  EXPECT_EQ(r.response.status, 200);
  ASSERT_NE(r.response.header("content-type"), nullptr);
  EXPECT_THAT(*r.response.header("Content-Type"), HasSubstr("application/json"));
  EXPECT_EQ(r.response.body, R"({"ok":true})");
  EXPECT_GT(r.response.timings.total_ms, 0);
  EXPECT_GE(r.response.timings.total_ms, r.response.timings.first_byte_ms);
  EXPECT_FALSE(r.response.tls.used);
}

TEST_F(Transport, AKeptConnectionHasNoLookupConnectOrHandshake) {
  Session s;
  HttpResult first = perform(s, get("/slow?ms=30"));
  ASSERT_EQ(first.failure, Failure::none) << first.message;
  EXPECT_GT(first.response.timings.connect_ms, 0);  // a new connection
  HttpResult kept = perform(s, get("/slow?ms=30"));
  ASSERT_EQ(kept.failure, Failure::none) << kept.message;
  // curl's name-lookup clock reads the moment it picked the kept connection (at least 1 us):
  // no lookup happened.
  EXPECT_EQ(kept.response.timings.dns_ms, 0);
  EXPECT_EQ(kept.response.timings.connect_ms, 0);
  EXPECT_EQ(kept.response.timings.tls_ms, 0);
  EXPECT_GE(kept.response.timings.first_byte_ms, 29.0);
  EXPECT_GE(kept.response.timings.total_ms, kept.response.timings.first_byte_ms);
}

TEST(PhaseTimings, ANewConnectionsPhasesFromCurlsClocks) {
  // us from the start: lookup done at 100, connected at 400, handshake at 1,400, request out
  // at 1,450, first byte at 31,450, done at 31,500.
  const CurlClocks c{100, 400, 1'400, 1'450, 31'450, 31'500};
  const journeys::Timings t = phase_timings(c, /*kept_connection=*/false);
  EXPECT_DOUBLE_EQ(t.dns_ms, 0.1);
  EXPECT_DOUBLE_EQ(t.connect_ms, 0.3);
  EXPECT_DOUBLE_EQ(t.tls_ms, 1.0);
  EXPECT_DOUBLE_EQ(t.first_byte_ms, 31.45);
  EXPECT_DOUBLE_EQ(t.total_ms, 31.5);
  // Plain HTTP: no handshake clock.
  EXPECT_DOUBLE_EQ(phase_timings({100, 400, 0, 450, 30'450, 30'500}, false).tls_ms, 0);
}

TEST(PhaseTimings, AKeptConnectionTimesFromWhenCurlHadIt) {
  // The loop was descheduled for 2.9 ms between the transfer's start and curl picking the
  // kept connection (its name-lookup clock); the request was out (pretransfer) 50 us later.
  const CurlClocks c{2'900, 0, 0, 2'950, 32'950, 33'000};
  const journeys::Timings t = phase_timings(c, /*kept_connection=*/true);
  EXPECT_EQ(t.dns_ms, 0);
  EXPECT_EQ(t.connect_ms, 0);
  EXPECT_EQ(t.tls_ms, 0);
  // Building and sending the request stay in: curl's pretransfer clock reads after send().
  EXPECT_DOUBLE_EQ(t.first_byte_ms, 30.05);
  EXPECT_DOUBLE_EQ(t.total_ms, 30.1);
  // No answer's first byte (a timeout after sending): no first byte; the total runs on.
  const journeys::Timings timed_out = phase_timings({20, 0, 0, 40, 0, 5'000'020}, true);
  EXPECT_EQ(timed_out.first_byte_ms, 0);
  EXPECT_DOUBLE_EQ(timed_out.total_ms, 5'000.0);
}

TEST_F(Transport, SendsMethodHeadersAndBody) {
  Session s;
  HttpRequest req = get("/echo?x=1");
  req.method = "PUT";
  req.body = "hello";
  req.has_body = true;
  req.headers = {{"X-Probe", "yes"}, {"Content-Type", "text/plain"}};
  HttpResult r = perform(s, req);
  ASSERT_EQ(r.failure, Failure::none) << r.message;
  auto echo = nlohmann::json::parse(r.response.body);
  EXPECT_EQ(echo["method"], "PUT");
  EXPECT_EQ(echo["body"], "hello");
  EXPECT_EQ(echo["headers"]["x-probe"], "yes");
  EXPECT_FALSE(echo["headers"].contains("expect"));
}

TEST_F(Transport, CookiesLiveInTheSessionOnly) {
  Session a, b;
  ASSERT_EQ(perform(a, get("/set-cookie?name=sid&value=42")).failure, Failure::none);
  auto with = nlohmann::json::parse(perform(a, get("/echo")).response.body);
  EXPECT_THAT(with["headers"].value("cookie", ""), HasSubstr("sid=42"));
  auto without = nlohmann::json::parse(perform(b, get("/echo")).response.body);
  EXPECT_FALSE(without["headers"].contains("cookie"));
}

// A finished run's curl handle goes back to the pool and serves the next run: its cookies
// must not (EasyPool::release clears them).
TEST_F(Transport, APooledHandleForgetsTheLastRunsCookies) {
  {
    Session first;
    ASSERT_EQ(perform(first, get("/set-cookie?name=sid&value=42")).failure, Failure::none);
  }
  Session next;  // takes the handle `first` released
  auto echoed = nlohmann::json::parse(perform(next, get("/echo")).response.body);
  EXPECT_FALSE(echoed["headers"].contains("cookie")) << echoed.dump();
  ASSERT_EQ(perform(next, get("/set-cookie?name=sid&value=7")).failure, Failure::none);
  auto again = nlohmann::json::parse(perform(next, get("/echo")).response.body);
  EXPECT_THAT(again["headers"].value("cookie", ""), HasSubstr("sid=7"));  // engine still on
}

TEST_F(Transport, FinalResponseHeadersAfterRedirects) {
  Session s;
  HttpRequest req = get("/redirect/2");
  req.max_redirects = 5;
  HttpResult r = perform(s, req);
  ASSERT_EQ(r.failure, Failure::none) << r.message;
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.response.redirects, 2);
  EXPECT_EQ(r.response.header("location"), nullptr);
}

struct FailureCase {
  const char* path;
  int timeout_ms;
  std::size_t max_body;
  int max_redirects;
  Failure expected;
};

class TransportFailures : public Transport, public testing::WithParamInterface<FailureCase> {};

TEST_P(TransportFailures, AreClassified) {
  const FailureCase& c = GetParam();
  Session s;
  HttpRequest req = get(c.path);
  req.timeout = std::chrono::milliseconds(c.timeout_ms);
  req.max_body_bytes = c.max_body;
  req.max_redirects = c.max_redirects;
  HttpResult r = perform(s, req);
  EXPECT_EQ(r.failure, c.expected) << prober::transport::to_string(r.failure) << ": " << r.message;
  EXPECT_FALSE(r.message.empty());
  EXPECT_LE(r.response.body.size(), c.max_body);
}

INSTANTIATE_TEST_SUITE_P(
    Loopback, TransportFailures,
    testing::Values(FailureCase{"/never", 200, 1 << 20, 0, Failure::timeout},
                    FailureCase{"/slowloris", 300, 1 << 20, 0, Failure::timeout},
                    FailureCase{"/big?bytes=100000", 10000, 1000, 0, Failure::body_too_large},
                    FailureCase{"/endless", 10000, 50000, 0, Failure::body_too_large},
                    FailureCase{"/reset", 10000, 1 << 20, 0, Failure::recv},
                    FailureCase{"/close-early", 10000, 1 << 20, 0, Failure::recv},
                    FailureCase{"/redirect-loop", 10000, 1 << 20, 3, Failure::redirect}));

TEST_F(Transport, ManyConcurrentTransfersAllComplete) {
  constexpr int kN = 200;
  std::vector<std::unique_ptr<Session>> sessions;
  int done = 0, ok = 0;
  for (int i = 0; i < kN; ++i) {
    sessions.push_back(std::make_unique<Session>());
    // Answers 1 s later: start() also reads what has arrived for transfers already in flight
    // (Client::start), so on a slow machine a shorter delay let the first ones finish while
    // the last were starting.
    client_.start(*sessions.back(), get("/slow?ms=1000"), [&](HttpResult r) {
      ++done;
      if (r.failure == Failure::none && r.response.status == 200) ++ok;
    });
  }
  EXPECT_EQ(client_.in_flight(), static_cast<std::size_t>(kN));
  // At most kMaxShardTransfers per curl multi handle (curl walks a handle's whole connection
  // cache for each request): 200 in flight need 4.
  EXPECT_EQ(client_.multi_handles(), (kN + Client::kMaxShardTransfers - 1) / Client::kMaxShardTransfers);
  run_loop();
  EXPECT_EQ(done, kN);
  EXPECT_EQ(ok, kN);
}

// A burst of transfers leaves its connections in curl's cache for the next burst. (curl's
// default cache holds 4 per transfer in flight *at the moment one ends*: as the last of a
// burst finished, it closed all but a few, and every burst paid new connects — 509 connects
// for 6,400 requests of 64 journeys in the throughput benchmark.)
TEST_F(Transport, ABurstReusesTheConnectionsOfThePreviousBurst) {
  constexpr int kN = 32;
  int reused_in_second = 0;
  for (int burst = 0; burst < 2; ++burst) {
    std::vector<std::unique_ptr<Session>> sessions;
    int done = 0;
    for (int i = 0; i < kN; ++i) {
      sessions.push_back(std::make_unique<Session>());
      client_.start(*sessions.back(), get("/slow?ms=30"), [&, burst](HttpResult r) {
        ++done;
        EXPECT_EQ(r.failure, Failure::none) << r.message;
        if (burst == 1 && r.response.timings.connect_ms == 0) ++reused_in_second;
      });
    }
    run_loop();
    ASSERT_EQ(done, kN);
  }
  EXPECT_EQ(reused_in_second, kN) << "the second burst opened new connections";
}

// curl frees a transfer's 16 KiB read buffer when it ends and allocates it again when the next
// begins: between its clock for the step's total (from the transfer's start) and its clocks
// for the phases (from the attempt's). glibc merges every freed small block it left in its
// fast bins at such a request; with two million of them, milliseconds, which went into
// the total and not the first byte (bench fidelity at 5,000 in flight: totals up to 9 ms
// after a one-segment answer's first byte). Where glibc serves malloc, main() turns fast bins
// off (no_fast_bins); allocator_test runs this test again on mimalloc, the binary's allocator.
TEST_F(Transport, AMergeOfFreedBlocksIsNotInAStepsTime) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator has no fast bins";
#else
#ifndef PROBER_WITH_MIMALLOC
  ASSERT_TRUE(prober::cli::no_fast_bins()) << "GLIBC_TUNABLES chooses fast bins here";
#endif
  Session s;
  ASSERT_EQ(perform(s, get("/ok")).failure, Failure::none);  // the connection, kept
  {
    std::vector<void*> blocks(2'000'000);
    for (auto& b : blocks) b = std::malloc(32);
    for (void* b : blocks) std::free(b);  // on the loop's thread, as a busy loop's transfers do
  }
  HttpResult r = perform(s, get("/ok"));
  ASSERT_EQ(r.failure, Failure::none) << r.message;
  const auto& t = r.response.timings;
  EXPECT_EQ(t.connect_ms, 0) << "not a kept connection";
  EXPECT_LT(t.total_ms - t.first_byte_ms, 1.0)
      << "first_byte " << t.first_byte_ms << " ms, total " << t.total_ms << " ms";
#endif
}

// The answer to /slow?ms=50 arrives while the loop is blocked for 300 ms: it waits in the
// kernel, and the transfer says so (the measured time is the prober's, not the target's).
TEST_F(Transport, ReportsHowLongTheAnswerWaitedForABusyLoop) {
  Session s;
  std::optional<HttpResult> out;
  client_.start(s, get("/slow?ms=50"), [&](HttpResult r) { out = std::move(r); });
  // Block once the request is out (the server holds it 50 ms) until well after the answer.
  boost::asio::steady_timer block(io_, std::chrono::milliseconds(20));
  block.async_wait([](auto) { std::this_thread::sleep_for(std::chrono::milliseconds(300)); });
  run_loop();
  ASSERT_TRUE(out.has_value());
  ASSERT_EQ(out->failure, Failure::none) << out->message;
  EXPECT_GT(out->lag_ms, 150.0);  // ~270 ms: answered at ~50, read at ~320
  EXPECT_LT(out->lag_ms, 400.0);
  // curl's clock ran to ~320 ms; the wait is the prober's and is taken out of the timings.
  EXPECT_NEAR(out->answer_wait_ms, out->lag_ms, 1.0);  // one segment: oldest = newest
  EXPECT_GE(out->response.timings.total_ms, 50.0);
  EXPECT_LT(out->response.timings.total_ms, 200.0);
  // curl saw the first byte at ~320 too: it arrived no later than the last, at ~50.
  EXPECT_LE(out->response.timings.first_byte_ms, out->response.timings.total_ms);
  EXPECT_GE(out->response.timings.first_byte_ms, 50.0);
}

// An answer in two parts, both waiting when the blocked loop gets to them: only the wait of
// the newest part is the prober's. (Taking out the head's wait would report ~0 ms — hiding the
// 100 ms the target took between head and body; taking out none, ~300 ms. The kernel may
// coalesce the two segments, stamped with the later arrival: either way ~200 ms come out.)
TEST_F(Transport, TakesOutOnlyTheWaitOfTheAnswersLastPart) {
  Session s;
  ASSERT_EQ(perform(s, get("/ok")).failure, Failure::none);  // connected: no connect in the way
  std::optional<HttpResult> out;
  client_.start(s, get("/split?ms=100"), [&](HttpResult r) { out = std::move(r); });
  // Queued behind curl's 0 ms start (posted by start()): blocks right after the request is out.
  boost::asio::post(io_, [] { std::this_thread::sleep_for(std::chrono::milliseconds(300)); });
  run_loop();
  ASSERT_TRUE(out.has_value());
  ASSERT_EQ(out->failure, Failure::none) << out->message;
  EXPECT_GT(out->lag_ms, 150.0);
  EXPECT_GT(out->answer_wait_ms, 100.0);  // the body's ~200 ms
  EXPECT_LE(out->answer_wait_ms, out->lag_ms + 0.1);
  EXPECT_GE(out->response.timings.total_ms, 100.0);  // the target's own 100 ms stay
  EXPECT_LT(out->response.timings.total_ms, 250.0);
}

// The loop is blocked while a new connection is established: the SYN-ACK waits for the
// loop (TCP_INFO's last ACK age), and that counts too — curl's clock ran meanwhile.
TEST_F(Transport, ReportsHowLongANewConnectionWaitedForABusyLoop) {
  Session s;
  HttpRequest req = get("/ok");
  req.fresh_connection = true;
  std::optional<HttpResult> out;
  client_.start(s, req, [&](HttpResult r) { out = std::move(r); });
  boost::asio::post(io_, [] { std::this_thread::sleep_for(std::chrono::milliseconds(300)); });
  run_loop();
  ASSERT_TRUE(out.has_value());
  ASSERT_EQ(out->failure, Failure::none) << out->message;
  EXPECT_GT(out->lag_ms, 150.0);
  EXPECT_GE(out->response.timings.connect_ms, 250.0);  // what curl measured includes it
}

// A 408 the server left on the idle kept connection (then closed it) is old news when the
// next request goes out: it is neither that request's answer nor a wait of the prober's.
// curl 7.88 would reuse the connection, read the stale 408 right after sending and take it
// for the answer; the client looks at its idle connections before curl picks one
// (Client::start), shuts this one down, and curl makes a new one.
TEST_F(Transport, StaleDataOnAKeptConnectionIsNeitherTheNextAnswerNorItsLag) {
  Session s;
  HttpResult first = perform(s, get("/ok-then-408?after=10"));
  ASSERT_EQ(first.failure, Failure::none) << first.message;
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the 408 arrives and waits
  HttpResult next = perform(s, get("/ok"));
  ASSERT_EQ(next.failure, Failure::none) << next.message;
  EXPECT_EQ(next.response.status, 200)
      << "the 408 left on the idle connection was taken for the answer: " << next.response.body;
  EXPECT_LT(next.lag_ms, 50.0) << "the stale 408 counted as waiting for the prober";
}

// Nothing blocks the loop: the answer is read as it arrives (a generous bound: a loaded test
// machine may still deschedule the process for a few ms).
TEST_F(Transport, AnIdleLoopReadsAnswersAsTheyArrive) {
  Session s;
  for (int i = 0; i < 3; ++i) {
    HttpResult r = perform(s, get("/slow?ms=20"));
    ASSERT_EQ(r.failure, Failure::none) << r.message;
    EXPECT_LT(r.lag_ms, 100.0);
  }
}

// A kept connection stays registered with the reactor between requests: many requests on one
// session all complete (a regression guard for the parked-socket path), then the server
// closes idle connections and a new one is made.
TEST_F(Transport, KeptConnectionsServeManyRequests) {
  Session s;
  for (int i = 0; i < 200; ++i) {
    HttpResult r = perform(s, get("/ok"));
    ASSERT_EQ(r.failure, Failure::none) << "request " << i << ": " << r.message;
    ASSERT_EQ(r.response.status, 200);
  }
  HttpResult closed = perform(s, get("/close-early"));
  EXPECT_NE(closed.failure, Failure::none);
  HttpResult after = perform(s, get("/ok"));
  EXPECT_EQ(after.failure, Failure::none) << after.message;
}

// Curl's sockets are watched level-triggered and stay watched between requests: one that the
// server closed while it sat idle in curl's pool (it reads as ready until curl closes it) is
// taken out at its first wake, not reported again on every turn while another transfer is
// waited for. A loop that kept hearing it would spin for the whole 300 ms.
TEST_F(Transport, AnIdleConnectionTheServerClosedDoesNotSpinTheLoop) {
  Session idle;
  HttpResult first = perform(idle, get("/ok-then-408?after=10"));
  ASSERT_EQ(first.failure, Failure::none) << first.message;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // its 408 and FIN arrive
  Session waiting;
  HttpRequest slow = get("/slow?ms=300");
  slow.fresh_connection = true;  // not the idle one: it must stay idle meanwhile
  timespec cpu0{}, cpu1{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
  HttpResult r = perform(waiting, slow);
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
  ASSERT_EQ(r.failure, Failure::none) << r.message;
  const double cpu_ms = (cpu1.tv_sec - cpu0.tv_sec) * 1e3 + (cpu1.tv_nsec - cpu0.tv_nsec) / 1e6;
  EXPECT_LT(cpu_ms, 150.0) << "the loop was busy while it only waited for an answer";
  // Shut down and out of the set: curl does not reuse it (see the test above).
  HttpResult again = perform(idle, get("/ok"));
  EXPECT_EQ(again.failure, Failure::none) << again.message;
  EXPECT_EQ(again.response.status, 200) << again.response.body;
}

// Once the last transfer is done the client leaves no wait behind: io_context::run returns
// (prober run --once exits) instead of sitting out curl's last timeout (here 20 s).
TEST_F(Transport, NothingInFlightLeavesTheLoopFree) {
  Session s;
  HttpRequest req = get("/ok");
  req.timeout = std::chrono::seconds(20);
  std::optional<HttpResult> out;
  client_.start(s, req, [&](HttpResult r) { out = std::move(r); });
  io_.restart();
  io_.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->failure, Failure::none) << out->message;
  EXPECT_TRUE(io_.stopped()) << "run() only returned at run_for's limit: a wait was left armed";
}

// The same with many transfers, some of which curl finishes inside a write wake (it sends,
// polls, and reads the answer at once) while a read wait is still pending on the socket it
// then parks: that wait must not outlive the transfer (the ASan build hung here).
TEST_F(Transport, ManyTransfersLeaveNoWaitBehind) {
  std::vector<std::unique_ptr<Session>> sessions;
  int done = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 50; ++i) {
      sessions.push_back(std::make_unique<Session>());
      client_.start(*sessions.back(), get(i % 2 ? "/ok" : "/slow?ms=5"), [&](HttpResult r) {
        ++done;
        EXPECT_EQ(r.failure, Failure::none) << r.message;
      });
    }
    io_.restart();
    io_.run_for(std::chrono::seconds(10));
    EXPECT_TRUE(io_.stopped()) << "round " << round << ": a wait outlived its transfer";
  }
  EXPECT_EQ(done, 150);
}

// A name no resolver can look up, refused before any query leaves the host (a DNS label is
// at most 63 bytes): the lookup fails at once, without network traffic.
std::string unresolvable_host() { return std::string(64, 'a') + ".test"; }
// The test server's URL with its address replaced by that name.
std::string unresolvable_url(const std::string& server_url, const std::string& path) {
  const auto at = server_url.find("127.0.0.1");
  return server_url.substr(0, at) + unresolvable_host() + server_url.substr(at + 9) + path;
}

TEST_F(Transport, AHostThatDoesNotResolveIsDnssFailureLookedUpAgain) {
  Session s;
  HttpRequest req = get("/ok");
  req.url = unresolvable_url(server_->url(), "/ok");
  HttpResult r = perform(s, req);
  EXPECT_EQ(r.failure, Failure::dns) << r.message;
  EXPECT_THAT(r.message, HasSubstr("Could not resolve host"));
  EXPECT_THAT(r.message, HasSubstr("looked up again: Name or service not known"));
  EXPECT_EQ(perform(s, get("/ok")).response.status, 200);  // the session goes on
}

// The prober out of file descriptors cannot start a name lookup (curl's resolver needs a
// socketpair): its failure (invalid), not DNS's. With none or one descriptor left, nothing can
// leave the host whatever the name.
TEST_F(Transport, OutOfFileDescriptorsANameLookupIsTheProbersFailure) {
  Session warm;
  ASSERT_EQ(perform(warm, get("/ok")).response.status, 200);
  for (int spare = 0; spare <= 1; ++spare) {
    std::optional<HttpResult> out;
    Session s;
    {
      testing_support::FdExhaustion full;
      ASSERT_EQ(full.error(), EMFILE);
      full.release(spare);
      client_.start(s, [&] {
        HttpRequest req = get("/ok");
        req.url = unresolvable_url(server_->url(), "/ok");
        return req;
      }(), [&](HttpResult r) { out = std::move(r); });
      run_loop();
    }
    ASSERT_TRUE(out) << spare;
    EXPECT_EQ(out->failure, Failure::local_resource) << spare << ": " << out->message;
    EXPECT_THAT(out->message, HasSubstr("could not start a name lookup")) << spare;
  }
  Session after;
  EXPECT_EQ(perform(after, get("/ok")).response.status, 200);
}

// A location's path is its configuration: a proxy from the environment is not used (it would
// measure another path, silently).
TEST_F(Transport, AProxyFromTheEnvironmentIsNotUsed) {
  struct Env {
    Env() {
      for (const char* v : {"http_proxy", "HTTPS_PROXY", "ALL_PROXY"}) ::setenv(v, "http://127.0.0.1:1", 1);
    }
    ~Env() {
      for (const char* v : {"http_proxy", "HTTPS_PROXY", "ALL_PROXY"}) ::unsetenv(v);
    }
  } env;
  Session s;
  HttpResult r = perform(s, get("/ok"));
  EXPECT_EQ(r.failure, Failure::none) << r.message;
  EXPECT_EQ(r.response.status, 200);
}

TEST_F(Transport, DestroyingASessionMidFlightAbortsWithoutCallback) {
  auto s = std::make_unique<Session>();
  bool called = false;
  client_.start(*s, get("/never"), [&](HttpResult) { called = true; });
  boost::asio::steady_timer t(io_, std::chrono::milliseconds(50));
  t.async_wait([&](auto) { s.reset(); });
  run_loop();
  EXPECT_FALSE(called);
  EXPECT_EQ(client_.in_flight(), 0u);
  // The client still works afterwards.
  Session again;
  EXPECT_EQ(perform(again, get("/ok")).response.status, 200);
}

TEST(TransportLifetime, DestroyingTheClientMidFlightIsSafe) {
  const char* path = std::getenv("BADSERVER");
  ASSERT_NE(path, nullptr);
  testing_support::Server server({path, "--port", "0"});
  boost::asio::io_context io;
  bool called = false;
  Session s;
  {
    Client client(io);
    HttpRequest req;
    req.url = server.url() + "/never";
    client.start(s, req, [&](HttpResult) { called = true; });
    io.run_for(std::chrono::milliseconds(100));
  }
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(called);
  EXPECT_FALSE(s.busy());
}

}  // namespace
