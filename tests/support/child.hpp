#pragma once
// A child process for tests: spawned with its stdout (and optionally stderr) on pipes, read with
// deadlines, and never left behind. Used to run badserver, prober-shop and the prober binary.
//
// Thread-safety: one Child is used by one thread; kill_all_children() may be called from any.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace support {

class Child {
 public:
  // argv[0] is the executable's path; the environment is inherited. stdout is always captured,
  // stderr only when capture_stderr (else inherited, so it shows in the test log). Throws
  // std::system_error if the process cannot be spawned (e.g. ENOENT).
  explicit Child(const std::vector<std::string>& argv, bool capture_stderr = false);
  ~Child();  // SIGKILL and reap if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  // The next stdout line without its newline; nullopt at EOF or once `timeout` has passed.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);

  // All of stderr up to EOF (or `timeout`); only with capture_stderr.
  std::string read_stderr(std::chrono::milliseconds timeout);

  // Waits for the exit: the exit code, 128 + signal number if killed, nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  // SIGTERM, wait up to `grace`, then SIGKILL; returns the exit code as wait() does.
  int terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string pending_;  // stdout read past the last returned line
  std::optional<int> status_;
};

// SIGKILLs every live Child: for a watchdog about to end the test process.
void kill_all_children() noexcept;

// The port from a `listening on http://HOST:PORT` banner, or 0 if the line is not one.
unsigned short port_from_banner(std::string_view line);

}  // namespace support
