#pragma once
// HTTP over libcurl's multi interface, driven by one Boost.Asio io_context.
//
// Threading: a Client and its Sessions belong to the thread that runs the io_context; every
// method must be called there, and every completion is invoked there (posted, never from
// inside a curl callback).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "journeys/response.hpp"

typedef void CURL;
typedef void CURLM;

namespace prober::transport {

// A location's network profile.
struct NetProfile {
  std::string source_address;        // bind to this local address ("127.0.0.2")
  std::string interface;             // or this interface ("eth1")
  std::string proxy;                 // "http://127.0.0.1:3128"
  std::vector<std::string> resolve;  // curl --resolve entries: "shop.example:443:127.0.0.1"
  int ip_version = 0;                // 0 any, 4 or 6
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<journeys::Header> headers;
  std::string body;
  bool has_body = false;
  std::chrono::milliseconds timeout{30000};
  int max_redirects = 0;  // 0: do not follow
  std::size_t max_body_bytes = 1024 * 1024;
  bool tls_verify = true;
  std::string ca_file;  // trust only the CAs in this PEM file (CURLOPT_CAINFO); "" = system's
  bool fresh_connection = false;  // a new connection, closed after use (measures connect+TLS)
  std::shared_ptr<const NetProfile> net;
};

enum class Failure {
  none,
  timeout,
  dns,
  connect,
  tls_handshake,   // the handshake failed (no common protocol, not TLS, ...)
  tls_untrusted,   // the chain does not lead to a trusted CA (self-signed, unknown issuer)
  tls_expired,     // a certificate is outside its validity period (expired or not yet valid)
  tls_hostname,    // the certificate does not name the host of the URL
  redirect,        // too many redirects, or a redirect to a scheme other than http/https
  body_too_large,
  recv,
  send,
  protocol,
  local_resource,  // EMFILE, ENOMEM...: the prober's fault, not the target's
  cancelled,       // Client::cancel: the prober gave up (shutdown)
  internal,
};

struct HttpResult {
  Failure failure = Failure::none;
  std::string message;  // curl's explanation when failure != none
  journeys::Response response;  // filled as far as the exchange got (timings always)
  // The longest the kernel held something ready for this transfer before the busy prober got
  // to it: answer data waiting to be read (its receive timestamp, at each read wake and when
  // curl closed the connection), or an established connection waiting to be used (time since
  // the SYN-ACK, ms resolution). curl's clock runs meanwhile: of that, the wait of the
  // answer's end is taken out of the timings (answer_wait_ms); earlier waits (a connection's,
  // the first part of an answer read in an earlier wake) stay in. 0 when nothing waited (or
  // unknown). The runner judges a transfer with more than lag_tolerance invalid all the same.
  double lag_ms = 0;
  // Taken out of response.timings.total_ms (first_byte_ms is kept within the total): how
  // long the newest part of the answer waited in the kernel for the busy loop before the
  // read that completed the transfer (its receive timestamp). 0 when none, and for a
  // transfer that failed (no whole answer: its time stays curl's).
  double answer_wait_ms = 0;
};

class Client;
class LookupChecks;
struct MultiShard;

// Idle curl easy handles, reused across runs: a fresh handle page-faults tens of KiB of
// buffers on its first transfer, which at a burst of hundreds of starts shows up as the
// prober's own latency. Shared by the client and the sessions holding its handles, so either
// may go first.
class EasyPool {
 public:
  ~EasyPool();
  CURL* acquire();
  // Clears the handle's cookies (runs never see each other's) and keeps it for the next run.
  void release(CURL* easy);

 private:
  std::vector<CURL*> idle_;
};

// One run's HTTP state: a curl easy handle whose cookie jar lives as long as the session, so
// steps of one run share cookies and runs never see each other's. At most one request at a
// time. Destroying a session with a request in flight aborts it without calling back.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  bool busy() const { return transfer_ != nullptr; }

 private:
  friend class Client;
  friend struct SocketCallbacks;
  struct Transfer;
  CURL* easy_ = nullptr;  // from pool_, on the first request
  std::shared_ptr<EasyPool> pool_;
  Client* client_ = nullptr;  // set while a transfer is in flight
  // The curl multi handle its transfers go to (a run keeps to one: its connections are there),
  // and the client it belongs to.
  MultiShard* shard_ = nullptr;
  const Client* shard_owner_ = nullptr;
  std::unique_ptr<Transfer> transfer_;
};

class Client {
 public:
  // `clients`: how many clients this process runs (one per event loop); they share its budget
  // of idle connections (half the file descriptor limit).
  explicit Client(boost::asio::io_context& io, std::size_t clients = 1);
  // Aborts every transfer in flight; their completions are never called.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  using Done = std::function<void(HttpResult)>;
  // Starts request on session (which must not be busy). done is called exactly once, on the
  // io_context, unless the session or the client is destroyed first.
  void start(Session& session, const HttpRequest& request, Done done);

  template <typename Token>
  auto async_perform(Session& session, const HttpRequest& request, Token&& token) {
    return boost::asio::async_initiate<Token, void(HttpResult)>(
        [this, &session, &request](auto handler) {
          start(session, request,
                [h = std::make_shared<decltype(handler)>(std::move(handler))](
                    HttpResult r) mutable { (*h)(std::move(r)); });
        },
        token);
  }

  // Ends the session's transfer now: its completion is called (posted) with
  // Failure::cancelled. No-op when the session has nothing in flight.
  void cancel(Session& session);

  std::size_t in_flight() const { return active_.size(); }
  std::size_t multi_handles() const { return shards_.size(); }

  // Transfers in flight per curl multi handle before another handle is opened.
  static constexpr std::size_t kMaxShardTransfers = 64;
  boost::asio::io_context& io() { return io_; }

 private:
  friend class Session;
  struct Socket;

  // clientp: the MultiShard.
  static int on_socket(CURL* easy, int fd, int what, void* clientp, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* clientp);
  friend struct SocketCallbacks;  // curl's open/close socket callbacks (types from curl.h)
  void arm_timer(MultiShard& shard, std::chrono::steady_clock::time_point at);
  // Brings the socket's registration in epfd_ in line with what curl wants of it (false:
  // epoll_ctl failed, errno says why); keep_input: leave EPOLLIN registered though curl no
  // longer wants it (see the definition). Curl's sockets are watched by an epoll set of the
  // client's own, level-triggered, waited on as one descriptor by the io_context.
  bool watch(Socket& s, bool keep_input = true);
  void unwatch(Socket& s);  // out of epfd_ (if in it)
  void set_want(Socket& s, int what);
  // One wait for epfd_ while curl wants anything of any socket (none pending otherwise, so
  // that io_context::run can return).
  void wait_events();
  void on_events();  // epfd_ is ready: hands curl what its sockets are ready for
  // curl's socket callback could not have the socket watched: fail its transfer (posted).
  void watch_failed(MultiShard& shard, CURL* easy, int fd, int error);
  void action(MultiShard& shard, int fd, int events);
  // Into easy's transfer, if it still has one and the data (arrived_unix_ms > 0) is not older
  // than the transfer.
  void note_lag(CURL* easy, double lag_ms, double arrived_unix_ms);
  void collect_done(MultiShard& shard);
  // The multi handle for a session's first transfer: the least busy, or a new one when every
  // one has kMaxShardTransfers in flight.
  MultiShard& pick_shard();
  MultiShard& add_shard();  // throws std::bad_alloc
  // Everything of start() up to the transfer's commit; may throw before it. The handle to act
  // on, or nullptr when curl refused the transfer (its completion is posted).
  MultiShard* start_transfer(Session& session, const HttpRequest& req, Done& done);
  // The session leaves the transfers in flight (its completion is posted, or never comes).
  void leave(Session& session);
  // After curl could not resolve a host: unless it is plain that the prober could not even
  // start a lookup, looks the host up again (LookupChecks) to tell a local failure (invalid)
  // from DNS's (bad). True when the session now waits for that check; false when its result
  // is final.
  bool check_lookup(Session& session, CURL* easy, bool proxy);
  // Detaches the session's finished transfer and posts its completion.
  void complete(Session& session);
  void abort(Session& session);

  boost::asio::io_context& io_;
  // curl multi handles, each with its own connection cache. curl 7.88 looks for a connection
  // to reuse by walking every connection to the host in its cache: with a thousand in flight
  // to one host that walk was a third of the prober's CPU. Up to kMaxShardTransfers transfers
  // per handle keep it short.
  std::vector<std::unique_ptr<MultiShard>> shards_;
  long max_connects_ = 1024;  // CURLMOPT_MAXCONNECTS of all its handles together
  std::shared_ptr<EasyPool> pool_ = std::make_shared<EasyPool>();
  std::unordered_map<int, Socket> sockets_;
  // The epoll set of curl's sockets (see watch()) and the io_context's wait for it.
  std::unique_ptr<boost::asio::posix::stream_descriptor> events_;
  int epfd_ = -1;  // events_'s descriptor
  bool events_waiting_ = false;
  std::size_t wanted_ = 0;  // sockets curl wants something of (Socket::want != 0)
  std::uint32_t next_socket_tag_ = 0;  // Socket::tag
  std::chrono::steady_clock::time_point last_events_{};  // on_events' last look
  // Sockets curl opened through on_open_socket: curl closes them through on_close_socket, so
  // they stay in the epoll set between transfers on a kept connection (no epoll_ctl per
  // request). Others (the resolver's socketpair) are closed by curl itself and leave the set
  // as soon as curl stops watching them.
  std::unordered_set<int> curl_sockets_;
  std::unordered_set<Session*> active_;  // sessions with a transfer in flight
  std::unique_ptr<LookupChecks> lookups_;
  std::uint64_t next_transfer_ = 0;  // Transfer::id: tells a session's transfers apart
  std::shared_ptr<bool> alive_;  // handlers posted by this client check it before running
  // The read wake curl is acting on (cleared after): whose socket, and how long the newest
  // data on it had waited. See answer_wait_ms.
  struct ReadWake {
    CURL* easy = nullptr;
    double newest_wait_ms = 0;
  } read_wake_;
};

std::string_view to_string(Failure f);

// curl's clocks for one transfer: microseconds from its start to each moment
// (CURLINFO_*_TIME_T), cumulative as curl keeps them; 0 for a moment not reached.
struct CurlClocks {
  std::int64_t name_looked_up = 0, connected = 0, tls_done = 0, request_sent = 0,
               first_byte = 0, done = 0;
};
// The phases the prober reports (journeys::Timings). On a kept connection (the transfer sent
// its request without opening a connection, and followed no redirect) there was no name
// lookup, connect or handshake, and the exchange begins when curl has the connection: what
// came before (finding the kept connection and checking it is alive, or a busy prober's
// delay) is the prober's own time, out of first_byte and total, as README ("latency_ms")
// says.
journeys::Timings phase_timings(const CurlClocks& clocks, bool kept_connection);

}  // namespace prober::transport
