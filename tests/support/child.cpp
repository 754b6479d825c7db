#include "tests/support/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

extern char** environ;

namespace support {
namespace {

using Clock = std::chrono::steady_clock;

std::mutex live_mu;
std::set<pid_t> live;  // spawned and not yet reaped

void check(int rc, const char* what) {
  if (rc != 0) throw std::system_error(rc, std::generic_category(), what);
}

// Reads what is available on `fd` into `out` until `done(out)` or EOF or the deadline.
// Returns false on EOF.
template <class Done>
bool read_until(int fd, std::string& out, Clock::time_point deadline, Done done) {
  char buf[4096];
  while (!done(out)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return true;
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out.append(buf, static_cast<std::size_t>(got));
  }
  return true;
}

int decode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

Child::Child(const std::vector<std::string>& argv, bool capture_stderr) {
  int out[2], err[2] = {-1, -1};
  check(::pipe2(out, O_CLOEXEC) == 0 ? 0 : errno, "pipe2");
  if (capture_stderr) check(::pipe2(err, O_CLOEXEC) == 0 ? 0 : errno, "pipe2");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);  // dup2 clears O_CLOEXEC on fd 1
  if (capture_stderr) posix_spawn_file_actions_adddup2(&actions, err[1], 2);

  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int rc;
  {
    std::lock_guard lock(live_mu);
    rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    if (rc == 0) live.insert(pid_);
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (capture_stderr) ::close(err[1]);
  out_ = out[0];
  err_ = err[0];
  if (rc != 0) {
    ::close(out_);
    if (err_ >= 0) ::close(err_);
    throw std::system_error(rc, std::generic_category(), "posix_spawn " + argv.at(0));
  }
}

Child::~Child() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(10));
  }
  ::close(out_);
  if (err_ >= 0) ::close(err_);
}

std::optional<std::string> Child::read_line(std::chrono::milliseconds timeout) {
  auto has_line = [](const std::string& s) { return s.find('\n') != std::string::npos; };
  read_until(out_, pending_, Clock::now() + timeout, has_line);
  auto nl = pending_.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  std::string line = pending_.substr(0, nl);
  pending_.erase(0, nl + 1);
  return line;
}

std::string Child::read_stderr(std::chrono::milliseconds timeout) {
  std::string all;
  if (err_ >= 0)
    read_until(err_, all, Clock::now() + timeout, [](const std::string&) { return false; });
  return all;
}

std::optional<int> Child::wait(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!status_) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      status_ = decode(status);
      std::lock_guard lock(live_mu);
      live.erase(pid_);
    } else if (r < 0 && errno != EINTR) {
      status_ = -1;  // not our child any more: nothing to wait for
    } else if (Clock::now() >= deadline) {
      return std::nullopt;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return status_;
}

int Child::terminate(std::chrono::milliseconds grace) {
  if (!status_) ::kill(pid_, SIGTERM);
  if (auto code = wait(grace)) return *code;
  ::kill(pid_, SIGKILL);
  return wait(std::chrono::seconds(10)).value_or(-1);
}

void kill_all_children() noexcept {
  std::lock_guard lock(live_mu);
  for (pid_t p : live)
    ::kill(p, SIGKILL);
}

unsigned short port_from_banner(std::string_view line) {
  constexpr std::string_view kPrefix = "listening on http://";
  auto colon = line.rfind(':');
  if (!line.starts_with(kPrefix) || colon < kPrefix.size()) return 0;
  unsigned short port = 0;
  auto [end, ec] = std::from_chars(line.data() + colon + 1, line.data() + line.size(), port);
  return ec == std::errc{} && end == line.data() + line.size() ? port : 0;
}

}  // namespace support
