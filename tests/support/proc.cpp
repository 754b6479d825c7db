#include "tests/support/proc.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace testing_support {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> cstrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> merged_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) all[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

// Waits for pid until deadline; returns the exit code, or -1 (and kills it) on timeout.
int wait_until(pid_t pid, Clock::time_point deadline) {
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

Output run(const std::vector<std::string>& argv_in, const std::map<std::string, std::string>& env,
           std::chrono::milliseconds timeout) {
  TempDir tmp;
  const std::string out_path = tmp.path() + "/out", err_path = tmp.path() + "/err";
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> envs = merged_env(env);
  auto av = cstrings(argv);
  auto ev = cstrings(envs);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int n = ::open("/dev/null", O_RDONLY);
    ::dup2(n, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    for (int fd : {n, o, e})  // only 0, 1 and 2 go to the program (it may count its descriptors)
      if (fd > 2) ::close(fd);
    ::execve(av[0], av.data(), ev.data());
    ::_exit(127);
  }
  Output result;
  result.exit_code = wait_until(pid, Clock::now() + timeout);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  return result;
}

Server::Server(std::vector<std::string> argv, std::chrono::milliseconds startup) {
  child_ = std::make_unique<support::Child>(argv);
  const auto deadline = Clock::now() + startup;
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    std::optional<std::string> line = child_->read_line(left);
    if (!line) break;
    if (support::port_from_banner(*line) != 0) {
      url_ = line->substr(std::string_view("listening on ").size());
      return;
    }
  }
  stop(std::chrono::seconds(2));
  throw std::runtime_error("server " + argv.at(0) + " did not print 'listening on URL'");
}

Server::~Server() { stop(); }

int Server::stop(std::chrono::milliseconds timeout) {
  if (!child_) return -1;
  const int rc = child_->terminate(timeout);
  child_.reset();
  return rc;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "prober-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string p = path_ + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(p).parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string env_or_die(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr)
    throw std::runtime_error(std::string(name) + " is not set (run the test through meson test)");
  return v;
}

}  // namespace testing_support
