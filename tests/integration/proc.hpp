#pragma once
// Child processes for integration tests: servers that print "listening on URL", and the
// prober binary run to completion with a watchdog, so a stuck child fails the test instead
// of hanging it.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

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

// A server child: started on construction, waits for its "listening on URL" line, killed
// (SIGTERM, then SIGKILL) on destruction. Throws std::runtime_error if it does not start.
class Server {
 public:
  explicit Server(std::vector<std::string> argv,
                  std::chrono::milliseconds startup = std::chrono::seconds(20));
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  const std::string& url() const { return url_; }  // "http://127.0.0.1:PORT"
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits; returns the exit code (-1 on timeout or signal).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
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

}  // namespace testing_support
