#include "prober/transport/http.hpp"
#include "prober/transport/lookup_check.hpp"
#include "prober/transport/rx_stamp.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cassert>
#include <optional>
#include <cerrno>
#include <cstring>
#include <new>
#include <string_view>
#include <system_error>
#include <ctime>
#include <utility>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

namespace prober::transport {

namespace {

// curl_global_init is not thread-safe and must run before any other curl call.
struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};
void ensure_curl_global() { static CurlGlobal once; }

// "Jan  5 09:21:00 2027 GMT" (curl's certinfo "Expire date") -> unix seconds.
std::optional<std::int64_t> parse_cert_time(const char* text) {
  std::tm tm{};
  const char* end = strptime(text, "%b %d %H:%M:%S %Y", &tm);
  if (end == nullptr) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

Failure classify(CURLcode code, long os_errno, bool body_overflow) {
  if (body_overflow) return Failure::body_too_large;
  // The prober's own resource exhaustion is never the target's fault.
  if (os_errno == EMFILE || os_errno == ENFILE || os_errno == ENOBUFS || os_errno == ENOMEM ||
      os_errno == EADDRNOTAVAIL)
    return Failure::local_resource;
  switch (code) {
    case CURLE_OK: return Failure::none;
    case CURLE_OPERATION_TIMEDOUT: return Failure::timeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return Failure::dns;
    case CURLE_COULDNT_CONNECT: return Failure::connect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:  // refined by classify_certificate
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH: return Failure::tls_handshake;
    case CURLE_TOO_MANY_REDIRECTS: return Failure::redirect;
    case CURLE_FILESIZE_EXCEEDED: return Failure::body_too_large;
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_BAD_CONTENT_ENCODING: return Failure::recv;
    case CURLE_SEND_ERROR: return Failure::send;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return Failure::protocol;
    case CURLE_OUT_OF_MEMORY: return Failure::local_resource;
    default: return Failure::internal;
  }
}

// Why a certificate was rejected. curl checks the host name itself, before it stores OpenSSL's
// verify result, so on a mismatch that result is stale (left from an earlier transfer of the
// pooled handle, or curl's placeholder 1): the message decides, as in curl 7.88's
// "SSL: no alternative certificate subject name matches target host name '…'" and
// "SSL: certificate subject name '…' does not match target host name '…'". Otherwise
// OpenSSL's verify result (X509_V_ERR_*; numbered here so the transport does not include
// OpenSSL, the numbers are part of its ABI) names what was wrong with the chain.
Failure classify_certificate(long verify_result, std::string_view message) {
  if (message.find("target host name") != std::string_view::npos) return Failure::tls_hostname;
  switch (verify_result) {
    case 9:   // X509_V_ERR_CERT_NOT_YET_VALID
    case 10:  // X509_V_ERR_CERT_HAS_EXPIRED
      return Failure::tls_expired;
    case 2:   // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
    case 18:  // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    case 19:  // X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    case 20:  // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    case 21:  // X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
    case 27:  // X509_V_ERR_CERT_UNTRUSTED
    case 28:  // X509_V_ERR_CERT_REJECTED
      return Failure::tls_untrusted;
    case 62:  // X509_V_ERR_HOSTNAME_MISMATCH
    case 64:  // X509_V_ERR_IP_ADDRESS_MISMATCH
      return Failure::tls_hostname;
    default:  // revoked, bad signature, unsupported purpose...: rejected, for another reason
      return Failure::tls_handshake;
  }
}

double now_unix_ms() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return unix_ms(now);
}

// How long the data waiting on fd has waited, in ms: since the oldest part arrived (when
// that was), and since the newest part did — the prober's own share of a transfer's time when
// this wake completes it. nullopt when nothing is waiting or it is unstamped. One peek.
struct Waited {
  double arrived_unix_ms, lag_ms, newest_wait_ms;
};
std::optional<Waited> read_lag(int fd) {
  const ReceiveTimes times = peek_receive_times(fd);
  if (!times.oldest) return std::nullopt;
  const double now = now_unix_ms();
  const double oldest = unix_ms(*times.oldest);
  // A clock stepped back: 0.
  return Waited{oldest, std::max(0.0, now - oldest), std::max(0.0, now - unix_ms(*times.newest))};
}

// How long ago the connection's last ACK arrived, in ms: on the first write wake of a
// connecting socket that ACK is the SYN-ACK, so this is how long the established connection
// waited for the loop. The kernel counts it in jiffies (4 ms at HZ=250): one jiffy less is a
// lower bound, so a busy-but-fine loop is not blamed for rounding. 0 when unknown.
double connect_lag(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  return std::max(0.0, static_cast<double>(info.tcpi_last_ack_recv) - 4.0);
}

}  // namespace

journeys::Timings phase_timings(const CurlClocks& c, bool kept_connection) {
  auto ms = [](std::int64_t us) { return static_cast<double>(us) / 1000.0; };
  journeys::Timings t;
  if (kept_connection) {
    // From the moment curl picked the kept connection (its name-lookup clock, on reuse). Not
    // from its pretransfer clock: curl reads that after the request's send() returned, and on
    // loopback send() itself delivers into the server's socket — the request's own transit.
    const std::int64_t from = c.name_looked_up;
    t.first_byte_ms = c.first_byte > 0 ? ms(std::max<std::int64_t>(0, c.first_byte - from)) : 0;
    t.total_ms = ms(std::max<std::int64_t>(0, c.done - from));
    return t;
  }
  t.dns_ms = ms(c.name_looked_up);
  t.connect_ms = c.connected > 0 ? ms(c.connected - c.name_looked_up) : 0;
  t.tls_ms = c.tls_done > 0 && c.tls_done >= c.connected ? ms(c.tls_done - c.connected) : 0;
  t.first_byte_ms = ms(c.first_byte);
  t.total_ms = ms(c.done);
  return t;
}

std::string_view to_string(Failure f) {
  switch (f) {
    case Failure::none: return "none";
    case Failure::timeout: return "timeout";
    case Failure::dns: return "dns";
    case Failure::connect: return "connect";
    case Failure::tls_handshake: return "tls_handshake";
    case Failure::tls_untrusted: return "tls_untrusted";
    case Failure::tls_expired: return "tls_expired";
    case Failure::tls_hostname: return "tls_hostname";
    case Failure::redirect: return "redirect";
    case Failure::body_too_large: return "body_too_large";
    case Failure::recv: return "recv";
    case Failure::send: return "send";
    case Failure::protocol: return "protocol";
    case Failure::local_resource: return "local_resource";
    case Failure::cancelled: return "cancelled";
    case Failure::internal: return "internal";
  }
  return "unknown";
}

// Everything one transfer needs to outlive curl_easy_perform's option pointers.
struct Session::Transfer {
  std::uint64_t id = 0;  // unique per client
  Client::Done done;
  HttpResult result;
  std::string body;  // request body: CURLOPT_POSTFIELDS points into it
  curl_slist* headers = nullptr;
  curl_slist* resolve = nullptr;
  std::size_t max_body_bytes = 0;
  std::string ca_file;  // CURLOPT_CAINFO points into it
  std::shared_ptr<const NetProfile> net;  // the proxy and IP version, for a lookup re-check
  bool body_overflow = false;
  int socket_errno = 0;  // socket()'s errno when opening a connection failed
  int watch_errno = 0;   // epoll_ctl's errno when its socket could not be watched
  double lag_ms = 0;  // the longest the kernel held something ready for it (HttpResult::lag_ms)
  double started_unix_ms = 0;  // CLOCK_REALTIME, as the kernel's receive timestamps
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    curl_slist_free_all(headers);
    curl_slist_free_all(resolve);
  }

  static size_t on_body(char* data, size_t size, size_t n, void* p) {
    auto* t = static_cast<Transfer*>(p);
    const size_t len = size * n;
    std::string& body = t->result.response.body;
    if (body.size() + len > t->max_body_bytes) {
      // Returning less than len aborts the transfer (CURLE_WRITE_ERROR); the flag tells why.
      t->body_overflow = true;
      return 0;
    }
    body.append(data, len);
    return len;
  }

  static size_t on_header(char* data, size_t size, size_t n, void* p) {
    auto* t = static_cast<Transfer*>(p);
    const size_t len = size * n;
    std::string_view line(data, len);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    auto& headers = t->result.response.headers;
    // A new status line starts a new response (after a redirect or a 100 Continue): keep
    // only the final response's headers.
    if (line.substr(0, 5) == "HTTP/") {
      headers.clear();
      return len;
    }
    if (line.empty()) return len;
    if (line.front() == ' ' || line.front() == '\t') {  // obsolete folding: continue the value
      if (!headers.empty()) headers.back().value.append(" ").append(line.substr(1));
      return len;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return len;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
    return len;
  }
};

EasyPool::~EasyPool() {
  for (CURL* e : idle_) curl_easy_cleanup(e);
}

CURL* EasyPool::acquire() {
  if (idle_.empty()) {
    CURL* e = curl_easy_init();
    if (e == nullptr) throw std::bad_alloc();  // Client::start reports it (local_resource)
    // The in-memory cookie engine, once per handle: the jar and the engine's switch
    // (state.cookie_engine) survive curl_easy_reset, and release() empties the jar without
    // turning it off. Not the usual COOKIEFILE "": curl 7.88 appends that name to a list
    // which curl_easy_reset drops without freeing (~50 bytes per step; LSan). A cookie line
    // turns the engine on without a list; this one is expired, so it is not kept. (Set on
    // every step before: 4.3 allocations a step, heaptrack.)
    curl_easy_setopt(e, CURLOPT_COOKIELIST,
                     "Set-Cookie: prober-engine=on; expires=Thu, 01 Jan 1970 00:00:00 GMT");
    return e;
  }
  CURL* e = idle_.back();
  idle_.pop_back();
  return e;
}

void EasyPool::release(CURL* easy) {
  curl_easy_setopt(easy, CURLOPT_COOKIELIST, "ALL");  // the engine stays on, empty
  idle_.push_back(easy);
}

Session::Session() { ensure_curl_global(); }

Session::~Session() {
  if (client_ != nullptr) client_->abort(*this);
  if (easy_ != nullptr) pool_->release(easy_);
}

// A socket curl asked us to watch: curl reads, writes and closes it; the client only waits
// for what curl wants of it, in its epoll set (Client::watch).
struct Client::Socket {
  int fd = -1;
  // Tells this socket's events from those of a later socket with the same number, within
  // one batch of events (curl may close one and open another while acting on the first).
  std::uint32_t tag = 0;
  int want = 0;                  // CURL_POLL_IN / OUT / INOUT, 0 when curl wants nothing
  std::uint32_t registered = 0;  // its events in the epoll set; 0 when not in it
  bool timestamps = false;  // opened by SocketCallbacks::open, with SO_TIMESTAMPNS on
  CURL* easy = nullptr;     // the transfer that last asked to watch it
  MultiShard* shard = nullptr;  // the multi handle whose connection it is
  bool connected = false;   // its first write wake (the connect's completion) was seen
  // Carries plain HTTP/1.x (an http: URL; curl speaks HTTP/2 only over TLS here): nothing
  // may arrive on it between exchanges. Over TLS, records may (a TLS 1.3 session ticket
  // after the handshake, HTTP/2's PING or SETTINGS) and the connection is still good.
  bool plain_http = false;
};

// One curl multi handle and its timer (see Client::shards_).
struct MultiShard {
  MultiShard(Client* c, boost::asio::io_context& io) : client(c), timer(io) {}
  Client* client;
  CURLM* multi = nullptr;
  // curl's one timeout. Re-arming an Asio timer costs a timerfd_settime whenever it becomes
  // the earliest; curl moves its timeout on almost every call. So the timer only ever moves
  // earlier: `due` is what curl asked for last, `armed` when `timer` fires; a timer that
  // fires before `due` re-arms for it instead of calling curl.
  boost::asio::steady_timer timer;
  std::optional<std::chrono::steady_clock::time_point> due;
  std::optional<std::chrono::steady_clock::time_point> armed;
  bool zero_timer_pending = false;  // curl asks for "0 ms" once per added handle: post once
  std::size_t in_flight = 0;        // sessions with a transfer on it
};

// curl's socket open and close, so that the client knows which fds stay valid until it is
// told (see Client::curl_sockets_). Set on every easy handle (curl_easy_reset clears them);
// curl keeps them with the connection, which may outlive the transfer that opened it.
struct SocketCallbacks {
  // clientp: the Session whose transfer connects (set per transfer).
  static curl_socket_t open(void* clientp, curlsocktype, curl_sockaddr* a) {
    auto* session = static_cast<Session*>(clientp);
    Client* self = session->client_;
    // What curl does without the callback, plus close-on-exec.
    const curl_socket_t fd = ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd == CURL_SOCKET_BAD) {
      // curl 7.88 reports this as "Couldn't connect to server" with CURLINFO_OS_ERRNO 0:
      // keep socket()'s errno, so EMFILE reads as local_resource, not as the target's failure.
      if (session->transfer_) session->transfer_->socket_errno = errno;
      return fd;
    }
    // The kernel stamps every received segment (CLOCK_REALTIME): read_lag() compares.
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    if (session->transfer_) session->transfer_->socket_errno = 0;  // an earlier attempt's is moot
    if (*self->alive_) self->curl_sockets_.insert(fd);
    return fd;
  }

  static int close(void* clientp, curl_socket_t fd) {
    auto* self = static_cast<Client*>(clientp);
    if (*self->alive_) {
      self->curl_sockets_.erase(fd);
      auto it = self->sockets_.find(fd);
      if (it != self->sockets_.end()) {
        // A transfer that timed out while its answer sat unread (the prober was too busy to
        // read it in time) is closed here, before its result is collected: note how long
        // the answer waited, so the timeout is judged the prober's (HttpResult::lag_ms).
        if (it->second.timestamps && it->second.easy != nullptr)
          if (const auto w = read_lag(fd)) self->note_lag(it->second.easy, w->lag_ms, w->arrived_unix_ms);
        self->set_want(it->second, 0);
        self->unwatch(it->second);  // before the number can be reused
        self->sockets_.erase(it);
      }
    }
    return ::close(fd);
  }
};

Client::Client(boost::asio::io_context& io, std::size_t clients)
    : io_(io), lookups_(std::make_unique<LookupChecks>(io)), alive_(std::make_shared<bool>(true)) {
  ensure_curl_global();
  // curl's default connection cache holds 4 connections per transfer in flight at the moment
  // one ends: after a burst, as the last transfers finish, it closes nearly all, and the next
  // burst pays new connects that a real client keeping its connections would not. Keep up to
  // half the file descriptors idle instead (shared by the process's `clients`); servers close
  // what they no longer want, and curl drops a connection that died or idled past
  // CURLOPT_MAXAGE_CONN (118 s).
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY)
    max_connects_ = static_cast<long>(std::clamp<rlim_t>(files.rlim_cur / 2, 64, 1 << 20));
  max_connects_ = std::max<long>(64, max_connects_ / static_cast<long>(std::max<std::size_t>(clients, 1)));
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  events_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, epfd_);  // owns it now
  add_shard();  // the first now: a client that cannot have one fails here, not mid-run
}

MultiShard& Client::add_shard() {
  shards_.reserve(shards_.size() + 1);  // the push_back below cannot throw (and leak `multi`)
  auto sh = std::make_unique<MultiShard>(this, io_);
  sh->multi = curl_multi_init();
  if (sh->multi == nullptr) throw std::bad_alloc();
  curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, &Client::on_socket);
  curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh.get());
  curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, &Client::on_timer);
  curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh.get());
  shards_.push_back(std::move(sh));
  // The client's idle-connection budget, shared by its handles.
  const long each = std::max<long>(static_cast<long>(kMaxShardTransfers),
                                   max_connects_ / static_cast<long>(shards_.size()));
  for (auto& h : shards_) curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, each);
  return *shards_.back();
}

MultiShard& Client::pick_shard() {
  MultiShard* best = nullptr;
  for (auto& sh : shards_)
    if (best == nullptr || sh->in_flight < best->in_flight) best = sh.get();
  if (best->in_flight < kMaxShardTransfers) return *best;
  try {
    return add_shard();
  } catch (const std::exception&) {
    return *best;  // no memory for another: the busiest-but-one still works
  }
}

void Client::leave(Session& session) {
  active_.erase(&session);
  session.client_ = nullptr;
  if (session.shard_ != nullptr && session.shard_owner_ == this && session.shard_->in_flight > 0)
    --session.shard_->in_flight;
}

Client::~Client() {
  *alive_ = false;
  // Detach every session still in flight: curl must forget the easy handles before the
  // multi handle goes; their completions are not called.
  while (!active_.empty()) abort(**active_.begin());
  sockets_.clear();
  // curl closes its connections here; the kernel drops them from the epoll set, which
  // events_ closes after.
  for (auto& sh : shards_) curl_multi_cleanup(sh->multi);
}

void Client::abort(Session& session) {
  if (session.client_ != this) return;
  curl_multi_remove_handle(session.shard_->multi, session.easy_);
  session.transfer_.reset();
  leave(session);
}

void Client::cancel(Session& session) {
  if (session.client_ != this || !session.transfer_) return;
  curl_multi_remove_handle(session.shard_->multi, session.easy_);
  std::unique_ptr<Session::Transfer> t = std::move(session.transfer_);
  leave(session);
  t->result.failure = Failure::cancelled;
  t->result.message = "cancelled by the prober";
  boost::asio::post(io_, [t = std::move(t), alive = alive_]() mutable {
    if (*alive) t->done(std::move(t->result));
  });
}

void Client::start(Session& session, const HttpRequest& req, Done done) {
  // Never throws: it runs inside an awaitable's initiation, where an exception is
  // std::terminate (Boost 1.74). What fails before the transfer is committed (no memory for
  // a handle, a multi handle, a list) is the prober's own failure, reported as the step's
  // result; nothing after the commit is inside the try.
  MultiShard* shard = nullptr;
  try {
    shard = start_transfer(session, req, done);
  } catch (const std::exception& e) {
    active_.erase(&session);  // start_transfer throws only before the session is in flight
    HttpResult failed;
    failed.failure = Failure::local_resource;
    failed.message = std::string("the prober could not start the request: ") + e.what();
    boost::asio::post(io_, [done = std::move(done), failed = std::move(failed), alive = alive_]() mutable {
      if (*alive) done(std::move(failed));
    });
    return;
  }
  // curl's clock for this transfer is running: begin now (resolve, connect) rather than on
  // the next turn of the loop, or a burst of starts would count its own queueing as the
  // target's connect time. Safe: start() is never called from inside a curl callback
  // (completions are posted).
  if (shard == nullptr) return;
  // What happened to curl's idle connections since the loop last looked (see on_events) must
  // be known before curl picks one to reuse. A busy loop has just looked.
  if (std::chrono::steady_clock::now() - last_events_ > std::chrono::milliseconds(1))
    on_events();
  action(*shard, CURL_SOCKET_TIMEOUT, 0);
}

MultiShard* Client::start_transfer(Session& session, const HttpRequest& req, Done& done) {
  assert(!session.busy());
  if (session.easy_ == nullptr) {
    session.pool_ = pool_;
    session.easy_ = pool_->acquire();
  }
  CURL* e = session.easy_;
  // Reset keeps the handle's cookies, connection and DNS caches: exactly the per-run state
  // we want to keep between steps; every option is set again below.
  curl_easy_reset(e);
  auto t = std::make_unique<Session::Transfer>();
  t->id = ++next_transfer_;
  t->net = req.net;
  t->started_unix_ms = now_unix_ms();
  t->max_body_bytes = req.max_body_bytes;
  // A typical answer has 5 to 15 header lines: one allocation instead of the vector's growth
  // (1, 2, 4, 8, 16) on every step.
  t->result.response.headers.reserve(16);

  curl_easy_setopt(e, CURLOPT_PRIVATE, &session);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &SocketCallbacks::open);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &session);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &SocketCallbacks::close);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
  curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
  // Only HTTP(S), whatever a templated URL says at run time: never file://, ftp://, ...
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  // gzip/deflate/br/zstd. on_body sees the decoded bytes, so max_body_bytes bounds the
  // inflated size (a few KiB of gzip may inflate to GiBs); MAXFILESIZE below only judges the
  // advertised (encoded) Content-Length.
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long long>(1, req.timeout.count())));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Session::Transfer::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Session::Transfer::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(req.max_body_bytes));
  curl_easy_setopt(e, CURLOPT_USERAGENT, "prober/0.1");
  if (req.max_redirects > 0) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(req.max_redirects));
    // A redirect to ftp:, file:, ... fails the step (reason redirect) instead of being followed.
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  }
  if (!req.tls_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!req.ca_file.empty()) {
    t->ca_file = req.ca_file;
    curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file.c_str());
    curl_easy_setopt(e, CURLOPT_CAPATH, nullptr);  // only this file, not the system's folder
  }
  curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
  if (req.fresh_connection) {
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  }

  // Method and body.
  if (req.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET" || req.has_body) {
    if (req.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.has_body || req.method == "POST") {
      t->body = req.body;
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
    }
  }

  // Headers. "Expect:" stops curl from waiting up to 1 s for a 100 Continue on large bodies,
  // which would be measured as the target's latency.
  t->headers = curl_slist_append(t->headers, "Expect:");
  for (const auto& h : req.headers) {
    std::string line = h.name + (h.value.empty() ? ";" : ": " + h.value);
    t->headers = curl_slist_append(t->headers, line.c_str());
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);

  // The location's vantage point. Only the location says whether there is a proxy: "" turns
  // off curl's use of http_proxy/https_proxy/all_proxy from the environment, which would
  // silently measure another path than the one configured.
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  if (req.net) {
    const NetProfile& n = *req.net;
    if (!n.source_address.empty())
      curl_easy_setopt(e, CURLOPT_INTERFACE, ("host!" + n.source_address).c_str());
    else if (!n.interface.empty())
      curl_easy_setopt(e, CURLOPT_INTERFACE, ("if!" + n.interface).c_str());
    if (!n.proxy.empty()) curl_easy_setopt(e, CURLOPT_PROXY, n.proxy.c_str());
    for (const auto& r : n.resolve) t->resolve = curl_slist_append(t->resolve, r.c_str());
    if (t->resolve != nullptr) curl_easy_setopt(e, CURLOPT_RESOLVE, t->resolve);
    if (n.ip_version == 4) curl_easy_setopt(e, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V4);
    if (n.ip_version == 6) curl_easy_setopt(e, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V6);
  }

  if (session.shard_ == nullptr || session.shard_owner_ != this) {
    session.shard_ = &pick_shard();
    session.shard_owner_ = this;
  }
  MultiShard& shard = *session.shard_;
  active_.insert(&session);  // the last that may throw (bad_alloc): `done` is still start()'s
  t->done = std::move(done);
  session.transfer_ = std::move(t);
  session.client_ = this;
  ++shard.in_flight;
  CURLMcode rc = curl_multi_add_handle(shard.multi, e);
  if (rc != CURLM_OK) {
    HttpResult failed;
    failed.failure = Failure::internal;
    failed.message = curl_multi_strerror(rc);
    Done d = std::move(session.transfer_->done);
    session.transfer_.reset();
    leave(session);
    boost::asio::post(io_, [d = std::move(d), failed = std::move(failed), alive = alive_]() mutable {
      if (*alive) d(std::move(failed));
    });
    return nullptr;
  }
  return &shard;
}

int Client::on_socket(CURL* easy, int fd, int what, void* clientp, void*) {
  auto* shard = static_cast<MultiShard*>(clientp);
  Client* self = shard->client;
  if (!*self->alive_) return 0;  // curl_multi_cleanup in ~Client: nothing is watched any more
  if (what == CURL_POLL_REMOVE) {
    auto it = self->sockets_.find(fd);
    if (it == self->sockets_.end()) return 0;
    self->set_want(it->second, 0);
    // A connection going back to curl's pool (or about to be closed through
    // on_close_socket) stays in the epoll set: its next request costs no epoll_ctl (see
    // watch()). A socket curl closes itself (the resolver's) leaves it now, while the fd
    // number still means this socket.
    if (self->curl_sockets_.contains(fd)) return 0;
    self->unwatch(it->second);
    self->sockets_.erase(it);
    return 0;
  }
  auto [it, added] = self->sockets_.try_emplace(fd);
  Socket& s = it->second;
  if (added) {
    s.fd = fd;
    s.tag = ++self->next_socket_tag_;
    s.timestamps = self->curl_sockets_.contains(fd);
    // A connection speaks what it was opened for: the URL its first transfer is connecting to
    // (after any redirect; through a proxy, an https: URL is TLS in a tunnel).
    char* url = nullptr;
    s.plain_http = curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK &&
                   url != nullptr &&
                   journeys::iequals(std::string_view(url).substr(0, 7), "http://");
  }
  s.easy = easy;
  s.shard = shard;
  self->set_want(s, what);
  if (!self->watch(s)) {
    const int error = errno;
    self->set_want(s, 0);
    self->watch_failed(*shard, easy, fd, error);
    return 0;
  }
  self->wait_events();
  return 0;
}

void Client::set_want(Socket& s, int what) {
  if ((s.want != 0) != (what != 0)) {
    if (what != 0) ++wanted_;
    else if (--wanted_ == 0 && events_waiting_) {
      // Nothing to wait for: let io_context::run return (prober run --once) rather than
      // wait until a server closes an idle connection. No syscall.
      boost::system::error_code ignored;
      events_->cancel(ignored);
    }
  }
  s.want = what;
}

// Level-triggered, so data curl left unread is reported again, and a socket stays in the set
// between requests: on a kept connection every request wants its answer (EPOLLIN) again, so
// EPOLLIN stays registered when curl stops wanting it; if such an idle connection becomes
// readable (the server closed it, or sent what nobody asked for) on_events() takes it out,
// and shuts a plain-HTTP one down so that curl does not reuse it. EPOLLOUT is registered only
// while wanted: a connected socket is nearly always writable.
bool Client::watch(Socket& s, bool keep_input) {
  std::uint32_t events =
      (s.want & CURL_POLL_IN ? EPOLLIN : 0u) | (s.want & CURL_POLL_OUT ? EPOLLOUT : 0u);
  if (keep_input && s.want != 0) events |= s.registered & EPOLLIN;
  if (events == s.registered) return true;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = static_cast<std::uint64_t>(s.tag) << 32 | static_cast<std::uint32_t>(s.fd);
  int op = s.registered == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
  int rc = ::epoll_ctl(epfd_, op, s.fd, &ev);
  // The kernel dropped a closed descriptor that curl's next socket reuses the number of, or
  // the set still holds a number we took for new: do what was meant.
  if (rc != 0 && op == EPOLL_CTL_MOD && errno == ENOENT)
    rc = ::epoll_ctl(epfd_, op = EPOLL_CTL_ADD, s.fd, &ev);
  else if (rc != 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
    rc = ::epoll_ctl(epfd_, op = EPOLL_CTL_MOD, s.fd, &ev);
  if (rc != 0 && op == EPOLL_CTL_DEL) rc = 0;  // not in the set: as wanted
  if (rc != 0) return false;
  s.registered = events;
  return true;
}

void Client::unwatch(Socket& s) {
  if (s.registered == 0) return;
  epoll_event ev{};
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, s.fd, &ev);  // fails only if it is not in the set
  s.registered = 0;
}

void Client::watch_failed(MultiShard& shard, CURL* easy, int fd, int error) {
  // Never re-enter curl from its callback: on the next turn, the transfer is told its socket
  // failed, and ends (the errno makes it the prober's failure, local_resource).
  Session* session = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&session));
  if (session != nullptr && session->easy_ == easy && session->transfer_)
    session->transfer_->watch_errno = error;
  boost::asio::post(io_, [this, &shard, fd, alive = alive_] {
    if (*alive) action(shard, fd, CURL_CSELECT_ERR);
  });
}

void Client::wait_events() {
  if (events_waiting_ || wanted_ == 0) return;
  events_waiting_ = true;
  events_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                      [this, alive = alive_](const boost::system::error_code& ec) {
                        if (!*alive) return;
                        events_waiting_ = false;
                        if (!ec) on_events();
                        wait_events();  // also after a cancel: curl may want something again
                      });
}

void Client::on_events() {
  constexpr int kBatch = 256;  // more ready: the next wait completes at once
  epoll_event events[kBatch];
  const int n = ::epoll_wait(epfd_, events, kBatch, 0);
  last_events_ = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
    const auto tag = static_cast<std::uint32_t>(events[i].data.u64 >> 32);
    auto it = sockets_.find(fd);
    if (it == sockets_.end() || it->second.tag != tag) continue;  // closed meanwhile
    Socket& s = it->second;
    const std::uint32_t got = events[i].events;
    if (s.want == 0) {
      // An idle kept connection became readable. Plain HTTP: the server closed it, or sent
      // what nobody asked for (a parting "408 Request Timeout" before it closes); either way
      // it cannot carry another exchange, and curl 7.88 would reuse it: send the next
      // request and take the stale bytes for its answer. Shut down, it is useless to curl
      // too: its liveness check finds it dead, or its send fails and curl retries the
      // request on a new connection. (Over TLS, curl reads what came when it next uses it.)
      if (s.plain_http) ::shutdown(fd, SHUT_RDWR);
      unwatch(s);
      continue;
    }
    // Errors and hang-ups are for curl to find in the direction it waits on (its read or
    // write fails), as asio's waits reported them.
    const bool broken = (got & (EPOLLERR | EPOLLHUP)) != 0;
    int ready = 0;
    if ((s.want & CURL_POLL_IN) && ((got & EPOLLIN) || broken)) ready |= CURL_CSELECT_IN;
    if ((s.want & CURL_POLL_OUT) && ((got & EPOLLOUT) || broken)) ready |= CURL_CSELECT_OUT;
    if ((got & EPOLLIN) && !(s.want & CURL_POLL_IN) && !watch(s, /*keep_input=*/false)) {
      const int error = errno;  // input curl does not want stays level-ready: it must go
      set_want(s, 0);
      watch_failed(*s.shard, s.easy, fd, error);
      continue;
    }
    if (ready == 0) continue;
    if (s.timestamps && s.easy != nullptr) {
      // How long the kernel had this ready before the loop got to it: the age of the data
      // waiting (reads), or of the SYN-ACK on the first write wake (the connect).
      if (ready & CURL_CSELECT_IN) {
        if (const auto w = read_lag(fd)) {
          note_lag(s.easy, w->lag_ms, w->arrived_unix_ms);
          read_wake_ = {s.easy, w->newest_wait_ms};
        }
      } else if (!s.connected) {
        s.connected = true;
        note_lag(s.easy, connect_lag(fd), 0);
      }
    }
    action(*s.shard, fd, ready);  // may close s, or open another socket
    read_wake_ = {};
  }
}

int Client::on_timer(CURLM*, long timeout_ms, void* clientp) {
  auto* shard = static_cast<MultiShard*>(clientp);
  Client* self = shard->client;
  if (!*self->alive_) return 0;
  if (timeout_ms < 0) {  // delete the timer (a pending wait would keep io_context::run going)
    shard->due.reset();
    shard->armed.reset();
    shard->timer.cancel();
    return 0;
  }
  if (timeout_ms == 0) {
    // "Call socket_action as soon as possible": on the next turn of the loop (never
    // re-entering curl from inside its own callback), posted rather than a 0 ms timer (two
    // timerfd_settime calls per request otherwise). One post serves every such call until it
    // runs. It replaces the previous timeout; curl sets the next one when it runs.
    shard->due.reset();
    if (shard->zero_timer_pending) return 0;
    shard->zero_timer_pending = true;
    boost::asio::post(self->io_, [self, shard, alive = self->alive_] {
      if (!*alive) return;
      shard->zero_timer_pending = false;
      self->action(*shard, CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
  }
  const auto at = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  shard->due = at;
  if (!shard->armed || at < *shard->armed) self->arm_timer(*shard, at);
  return 0;
}

void Client::arm_timer(MultiShard& shard, std::chrono::steady_clock::time_point at) {
  shard.armed = at;
  shard.timer.expires_at(at);  // cancels the wait for the later time, if any
  shard.timer.async_wait([this, &shard, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;  // re-armed (operation_aborted) or the client is gone
    shard.armed.reset();
    if (!shard.due) return;  // curl deleted its timeout meanwhile
    if (*shard.due > std::chrono::steady_clock::now()) {  // curl moved it later: wait on
      arm_timer(shard, *shard.due);
      return;
    }
    shard.due.reset();
    action(shard, CURL_SOCKET_TIMEOUT, 0);
  });
}

void Client::note_lag(CURL* easy, double lag_ms, double arrived_unix_ms) {
  if (lag_ms <= 0) return;
  Session* session = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&session));
  // The handle may since serve another session (pooled): only its current transfer counts.
  if (session == nullptr || session->easy_ != easy || !session->transfer_) return;
  // Data that arrived before the transfer began is not its answer (e.g. a 408 a server sent on
  // an idle kept connection, found when curl closes it as dead before reusing it).
  if (arrived_unix_ms > 0 && arrived_unix_ms < session->transfer_->started_unix_ms) return;
  session->transfer_->lag_ms = std::max(session->transfer_->lag_ms, lag_ms);
}

void Client::action(MultiShard& shard, int fd, int events) {
  int running = 0;
  curl_multi_socket_action(shard.multi, fd, events, &running);
  collect_done(shard);
}

void Client::collect_done(MultiShard& shard) {
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(shard.multi, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* e = msg->easy_handle;
    const CURLcode code = msg->data.result;
    Session* session = nullptr;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, reinterpret_cast<char**>(&session));
    curl_multi_remove_handle(shard.multi, e);
    if (session == nullptr || !session->transfer_) continue;
    Session::Transfer* t = session->transfer_.get();

    HttpResult& r = t->result;
    journeys::Response& resp = r.response;
    long status = 0, os_errno = 0, redirects = 0, version = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &redirects);
    curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version);
    resp.status = static_cast<int>(status);
    resp.redirects = static_cast<int>(redirects);
    resp.http_version = version == CURL_HTTP_VERSION_2_0   ? "2"
                        : version == CURL_HTTP_VERSION_3   ? "3"
                        : version == CURL_HTTP_VERSION_1_0 ? "1.0"
                                                           : "1.1";
    char* url = nullptr;
    if (curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url) resp.effective_url = url;

    CurlClocks clocks;
    auto clock = [e](CURLINFO info) {
      curl_off_t us = 0;
      curl_easy_getinfo(e, info, &us);
      return static_cast<std::int64_t>(us);
    };
    clocks.name_looked_up = clock(CURLINFO_NAMELOOKUP_TIME_T);
    clocks.connected = clock(CURLINFO_CONNECT_TIME_T);
    clocks.tls_done = clock(CURLINFO_APPCONNECT_TIME_T);
    clocks.request_sent = clock(CURLINFO_PRETRANSFER_TIME_T);
    clocks.first_byte = clock(CURLINFO_STARTTRANSFER_TIME_T);
    clocks.done = clock(CURLINFO_TOTAL_TIME_T);
    long connects = 0;
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
    // Sent without a new connection (a failed connect opened none either, but sent nothing).
    resp.timings = phase_timings(clocks, connects == 0 && redirects == 0 && clocks.request_sent > 0);
    // A whole answer, completed in a read wake of its own socket: its end sat in the kernel
    // while the loop was busy elsewhere, and curl's clock ran on. That wait is the prober's,
    // not the target's: take it out (never below the moment the request went out). The first
    // byte arrived no later than the last: clamped to the total, it is exact for an answer
    // read in one wake and never early otherwise. (A failed transfer has no answer's end:
    // its time stays curl's.)
    if (code == CURLE_OK && e == read_wake_.easy && read_wake_.newest_wait_ms > 0) {
      const double since_sent = static_cast<double>(clocks.done - clocks.request_sent) / 1000.0;
      const double wait = std::min(read_wake_.newest_wait_ms, since_sent);
      if (wait > 0) {
        resp.timings.total_ms -= wait;
        resp.timings.first_byte_ms = std::min(resp.timings.first_byte_ms, resp.timings.total_ms);
        r.answer_wait_ms = wait;
      }
    }

    // The leaf certificate's expiry, when this transfer did a handshake.
    curl_certinfo* certs = nullptr;
    if (curl_easy_getinfo(e, CURLINFO_CERTINFO, &certs) == CURLE_OK && certs &&
        certs->num_of_certs > 0) {
      resp.tls.used = true;
      for (curl_slist* f = certs->certinfo[0]; f; f = f->next) {
        std::string_view field(f->data);
        auto value = [&](std::string_view key) { return std::string(field.substr(key.size())); };
        if (field.starts_with("Expire date:")) resp.tls.not_after_unix = parse_cert_time(f->data + 12);
        else if (field.starts_with("Subject:")) resp.tls.subject = value("Subject:");
        else if (field.starts_with("Issuer:")) resp.tls.issuer = value("Issuer:");
      }
    } else if (resp.effective_url.starts_with("https:")) {
      resp.tls.used = true;
    }

    r.lag_ms = t->lag_ms;
    // socket()'s errno explains only a connect curl calls failed with no errno of its own.
    const bool no_socket = code == CURLE_COULDNT_CONNECT && os_errno == 0 && t->socket_errno != 0;
    r.failure = classify(code, no_socket ? t->socket_errno : os_errno, t->body_overflow);
    if (t->watch_errno != 0) r.failure = Failure::local_resource;
    const std::string curl_message = t->error[0] != '\0' ? t->error : curl_easy_strerror(code);
    if (code == CURLE_PEER_FAILED_VERIFICATION && r.failure == Failure::tls_handshake) {
      long verify_result = 0;
      curl_easy_getinfo(e, CURLINFO_SSL_VERIFYRESULT, &verify_result);
      r.failure = classify_certificate(verify_result, curl_message);
    }
    // Following a redirect to ftp:, file:, ...: curl refuses the scheme, and the effective
    // URL is already the refused one. Report it as the redirect it is, naming where it pointed.
    if (code == CURLE_UNSUPPORTED_PROTOCOL && resp.redirects > 0) {
      r.failure = Failure::redirect;
      r.message = "redirect to " + resp.effective_url +
                  " refused: only http and https are followed";
    } else if (r.failure == Failure::body_too_large) {
      r.message = "body exceeds max_body_bytes (" + std::to_string(t->max_body_bytes) + ")";
    } else if (r.failure == Failure::redirect) {
      r.message = curl_message + "; stopped at " + resp.effective_url;
    } else if (t->watch_errno != 0) {
      r.message = std::string("the prober could not watch its socket (") +
                  std::strerror(t->watch_errno) + "); curl: " + curl_message;
    } else if (r.failure == Failure::local_resource && no_socket) {
      r.message = std::string("the prober could not open a socket (") + std::strerror(t->socket_errno) +
                  "); curl: " + curl_message;
    } else if (r.failure != Failure::none) {
      r.message = curl_message;
    }
    if (r.failure == Failure::dns && check_lookup(*session, e, code == CURLE_COULDNT_RESOLVE_PROXY))
      continue;  // the session stays in flight until the check answers
    complete(*session);
  }
}

void Client::complete(Session& session) {
  std::unique_ptr<Session::Transfer> t = std::move(session.transfer_);
  leave(session);
  // Never call back from here: we may be inside a loop over curl's messages.
  boost::asio::post(io_, [t = std::move(t), alive = alive_]() mutable {
    if (*alive) t->done(std::move(t->result));
  });
}

// A lookup that fails for want of a descriptor, memory or a thread fails at once; one that took
// longer went out to a name server.
constexpr double kLocalLookupMs = 20;

bool Client::check_lookup(Session& session, CURL* easy, bool proxy) {
  Session::Transfer& t = *session.transfer_;
  HttpResult& r = t.result;
  // curl 7.88 (asyn-thread.c) could not create the socketpair or the thread of its resolver:
  // the lookup never started, for lack of file descriptors, memory or threads.
  if (r.message.find("thread failed to start") != std::string::npos) {
    r.failure = Failure::local_resource;
    r.message = "the prober could not start a name lookup (out of file descriptors, memory or "
                "threads): " + r.message;
    return false;
  }
  std::string url;
  if (proxy) {
    if (t.net) url = t.net->proxy;
  } else {
    char* effective = nullptr;
    if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective)
      url = effective;
  }
  std::string host;
  if (CURLU* u = curl_url()) {
    char* h = nullptr;
    if (curl_url_set(u, CURLUPART_URL, url.c_str(), CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) ==
            CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, CURLU_PUNYCODE) == CURLUE_OK) {  // the name curl asked
      host = h;
      curl_free(h);
    }
    curl_url_cleanup(u);
  }
  if (host.empty()) return false;
  const int family = !t.net || t.net->ip_version == 0 ? AF_UNSPEC
                     : t.net->ip_version == 4         ? AF_INET
                                                      : AF_INET6;
  return lookups_->check(host, family, [this, alive = alive_, s = &session, id = t.id,
                                        host](LookupOutcome o) {
    // The session may be gone (destroyed, cancelled) or on its next transfer meanwhile:
    // `s` is only dereferenced once it is known to be still waiting for this transfer.
    if (!*alive || !active_.contains(s) || !s->transfer_ || s->transfer_->id != id) return;
    HttpResult& res = s->transfer_->result;
    // A lookup of curl's that took this long waited on a name server: it got DNS's answer, even
    // if the prober is short of descriptors by the time it looks again.
    if (failed_locally(o) && res.response.timings.total_ms < kLocalLookupMs) {
      res.failure = Failure::local_resource;
      res.message = "the prober's own resolver failed (looking " + host + " up again: " +
                    describe(o) + "); curl: " + res.message;
    } else {
      res.message += " (looked up again: " + describe(o) + ")";
    }
    complete(*s);
  });
}

}  // namespace prober::transport
