#include "prober/transport/lookup_check.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace prober::transport {

namespace {

bool local_errno(int e) { return e == EMFILE || e == ENFILE || e == ENOMEM || e == ENOBUFS; }

using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

// What the loop and a lookup thread share. The thread posts its outcome unless the loop has
// abandoned the lookup (io == nullptr) meanwhile; the work guard keeps io.run() from returning
// while a lookup it waits for is out (`prober run --once` would end with a step unanswered).
struct Shared {
  std::mutex m;
  boost::asio::io_context* io = nullptr;
  std::optional<WorkGuard> guard;
  std::function<void(LookupOutcome)> deliver;  // runs on the loop

  void abandon() {
    std::lock_guard lock(m);
    io = nullptr;
    guard.reset();
  }
};

}  // namespace

bool failed_locally(const LookupOutcome& o) {
  if (!o.started) return true;
  if (!o.finished || o.gai == 0) return false;
  if (o.gai == EAI_MEMORY) return true;
  return local_errno(o.os_errno) || local_errno(o.socket_errno);
}

std::string describe(const LookupOutcome& o) {
  if (!o.started) return std::string("no thread could be started for it: ") + std::strerror(o.os_errno);
  if (!o.finished) return "no answer yet (it went out to a name server)";
  if (o.gai == 0) return "it resolves now";
  std::string text = o.gai == EAI_SYSTEM && o.os_errno != 0
                         ? std::string("System error: ") + std::strerror(o.os_errno)
                         : std::string(::gai_strerror(o.gai));
  if (o.gai != EAI_SYSTEM && local_errno(o.os_errno)) text += std::string(" (") + std::strerror(o.os_errno) + ")";
  if (o.socket_errno != 0)
    text += std::string("; the prober could not open a socket: ") + std::strerror(o.socket_errno);
  return text;
}

struct LookupChecks::Pending {
  explicit Pending(boost::asio::io_context& io) : timer(io) {}
  std::uint64_t id = 0;
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  std::vector<Done> waiters;
  boost::asio::steady_timer timer;
};

LookupChecks::LookupChecks(boost::asio::io_context& io, std::chrono::milliseconds patience)
    : io_(io), patience_(patience), alive_(std::make_shared<bool>(true)) {}

LookupChecks::~LookupChecks() {
  *alive_ = false;
  for (auto& [key, p] : pending_) p->shared->abandon();
}

bool LookupChecks::check(const std::string& host, int family, Done done) {
  const auto key = std::make_pair(host, family);
  if (auto it = pending_.find(key); it != pending_.end()) {
    it->second->waiters.push_back(std::move(done));
    return true;
  }
  // Threads, not pending checks: one given up on (patience) may still wait for its name server.
  if (pending_.size() >= kMaxLookups || running_->load() >= static_cast<int>(kMaxLookups))
    return false;

  auto p = std::make_shared<Pending>(io_);
  p->id = ++next_id_;
  p->waiters.push_back(std::move(done));
  pending_.emplace(key, p);
  {
    std::lock_guard lock(p->shared->m);
    p->shared->io = &io_;
    p->shared->guard.emplace(io_.get_executor());
    p->shared->deliver = [this, alive = alive_, key, id = p->id](LookupOutcome o) {
      if (!*alive) return;
      auto it = pending_.find(key);
      if (it == pending_.end() || it->second->id != id) return;  // gave up on it meanwhile
      finish(key, o);
    };
  }
  p->timer.expires_after(patience_);
  p->timer.async_wait([this, alive = alive_, key, id = p->id](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    auto it = pending_.find(key);
    if (it == pending_.end() || it->second->id != id) return;
    LookupOutcome slow;
    slow.finished = false;
    finish(key, slow);
  });

  try {
    running_->fetch_add(1);
    std::thread([shared = p->shared, running = running_, host, family] {
      addrinfo hints{};
      hints.ai_family = family;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      LookupOutcome o;
      errno = 0;
      o.gai = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
      o.os_errno = errno;
      if (res != nullptr) ::freeaddrinfo(res);
      if (o.gai != 0) {
        const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) ::close(fd);
        else o.socket_errno = errno;
      }
      std::lock_guard lock(shared->m);
      if (shared->io != nullptr) boost::asio::post(*shared->io, [d = shared->deliver, o] { d(o); });
      shared->guard.reset();
      running->fetch_sub(1);
    }).detach();
  } catch (const std::system_error& e) {  // no thread (EAGAIN): the prober's own limit
    running_->fetch_sub(1);
    LookupOutcome o;
    o.started = false;
    o.os_errno = e.code().value();
    boost::asio::post(io_, [d = p->shared->deliver, o] { d(o); });
    p->shared->abandon();
  }
  return true;
}

void LookupChecks::finish(const std::pair<std::string, int>& key, LookupOutcome outcome) {
  auto it = pending_.find(key);
  std::shared_ptr<Pending> p = std::move(it->second);
  pending_.erase(it);
  p->shared->abandon();
  p->timer.cancel();
  // Always on the loop, from a handler (the lookup's delivery or the patience timer).
  for (auto& done : p->waiters) done(outcome);
}

}  // namespace prober::transport
