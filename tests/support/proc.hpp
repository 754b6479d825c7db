#pragma once
// Child processes for integration tests: servers that print "listening on URL", and the
// prober binary run to completion with a watchdog, so a stuck child fails the test instead
// of hanging it.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <memory>

#include <sys/types.h>

#include "tests/support/child.hpp"

namespace testing_support {

struct Output {
  int exit_code = -1;  // -1: killed by the watchdog or a signal
  std::string out;
  std::string err;
};

// Runs argv to completion (env entries added to the current environment); kills it after
// timeout and returns exit_code -1.
Output run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
           std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A server child (a support::Child): started on construction, waits for its
// "listening on URL" line, stopped (SIGTERM, then SIGKILL) on destruction. Throws
// std::runtime_error if it does not start.
class Server {
 public:
  explicit Server(std::vector<std::string> argv,
                  std::chrono::milliseconds startup = std::chrono::seconds(20));
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  const std::string& url() const { return url_; }  // "http://127.0.0.1:PORT"
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  // Sends SIGTERM and waits; returns the exit code (128 + signal if killed), -1 if stopped.
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  std::unique_ptr<support::Child> child_;
  std::string url_;
};

// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

std::string read_file(const std::string& path);

// The value of an environment variable meson sets for the test (PROBER, BADSERVER, …); throws
// std::runtime_error naming it when the test was started some other way.
std::string env_or_die(const char* name);

}  // namespace testing_support
