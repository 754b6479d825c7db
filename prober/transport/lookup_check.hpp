#pragma once
// Whose failure was it when curl could not resolve a host: DNS's (the name does not exist, no
// name server answered — what a customer would see too) or the prober's own (it could not even
// ask: out of file descriptors, memory or threads)? curl's threaded resolver keeps
// getaddrinfo's error to itself, so after a resolve failure the same lookup is done once more,
// off the loop, keeping getaddrinfo's code and errno.
//
// Threading: a LookupChecks belongs to the thread that runs its io_context; check() and the
// destructor are called there, and every `done` runs there (posted).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>

namespace prober::transport {

struct LookupOutcome {
  bool started = true;  // false: no thread could be started for the lookup (os_errno says why)
  bool finished = true;  // false: still waiting when the check gave up (see LookupChecks)
  int gai = 0;           // getaddrinfo's result: 0 or EAI_*
  int os_errno = 0;      // errno right after getaddrinfo (set to 0 before)
  // After a failed lookup, whether the prober could open a socket (as the resolver must):
  // 0 if it could, else socket()'s errno. glibc's errno after a failure is not reliable (out of
  // file descriptors it returns EAI_NONAME with EMFILE, or EAI_SYSTEM with EINVAL), this is.
  int socket_errno = 0;
};

// True when the lookup failed in the prober's own host: EAI_MEMORY, a failure with errno
// EMFILE/ENFILE/ENOMEM/ENOBUFS, a failure while the prober could not open a socket for want of
// those, or no thread to look it up. A lookup that resolves, or fails in DNS (EAI_NONAME,
// EAI_AGAIN, EAI_FAIL...), or took too long to tell, is not local.
bool failed_locally(const LookupOutcome& o);

// "Name or service not known", "System error (Too many open files)", "resolves now", ...
std::string describe(const LookupOutcome& o);

class LookupChecks {
 public:
  // A local failure is immediate (no fd, no memory: getaddrinfo returns at once); a lookup
  // still running after `patience` went out to a name server, which is not local.
  explicit LookupChecks(boost::asio::io_context& io,
                        std::chrono::milliseconds patience = std::chrono::seconds(1));
  // Pending checks are abandoned: their `done` is never called, their threads finish alone.
  ~LookupChecks();
  LookupChecks(const LookupChecks&) = delete;
  LookupChecks& operator=(const LookupChecks&) = delete;

  using Done = std::function<void(LookupOutcome)>;
  // Looks host up (family AF_UNSPEC, AF_INET or AF_INET6) and calls done from a handler on
  // the io_context (never from inside check). Checks of the same host and family in flight
  // share one lookup; at most kMaxLookups lookup threads run at once (one given up on may still
  // wait for a name server) — beyond that, returns false and does nothing (the failure is
  // then DNS's).
  bool check(const std::string& host, int family, Done done);

  static constexpr std::size_t kMaxLookups = 16;

 private:
  struct Pending;
  void finish(const std::pair<std::string, int>& key, LookupOutcome outcome);

  boost::asio::io_context& io_;
  std::chrono::milliseconds patience_;
  std::map<std::pair<std::string, int>, std::shared_ptr<Pending>> pending_;
  std::uint64_t next_id_ = 0;
  std::shared_ptr<std::atomic<int>> running_ = std::make_shared<std::atomic<int>>(0);  // threads
  std::shared_ptr<bool> alive_;
};

}  // namespace prober::transport
