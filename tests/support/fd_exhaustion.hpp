#pragma once
// Takes every free file descriptor of the process while it lives: the prober out of file
// descriptors. The soft RLIMIT_NOFILE is first lowered to a little above the highest open
// descriptor (and restored after), so that a machine whose limit is a million does not open a
// million files.

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace testing_support {

class FdExhaustion {
 public:
  FdExhaustion() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lower = saved_;
    const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // at least the lowest free one
    if (probe >= 0) {
      lower.rlim_cur = static_cast<rlim_t>(highest_open(probe) + 64);
      if (lower.rlim_cur < saved_.rlim_cur) lowered_ = ::setrlimit(RLIMIT_NOFILE, &lower) == 0;
      ::close(probe);
    }
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fds_.push_back(fd);
    error_ = errno;
  }
  ~FdExhaustion() {
    for (int fd : fds_) ::close(fd);
    if (lowered_) ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  FdExhaustion(const FdExhaustion&) = delete;
  FdExhaustion& operator=(const FdExhaustion&) = delete;

  int error() const { return error_; }  // EMFILE when every descriptor is taken
  // Gives n back (the prober with n descriptors to spare).
  void release(int n) {
    for (int i = 0; i < n && !fds_.empty(); ++i) {
      ::close(fds_.back());
      fds_.pop_back();
    }
  }

 private:
  // The highest descriptor in use (from /proc/self/fd), at least `at_least`.
  static int highest_open(int at_least) {
    int highest = at_least;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
      const std::string name = entry.path().filename().string();
      if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
        highest = std::max(highest, std::stoi(name));
    }
    return highest;
  }

  rlimit saved_{};
  bool lowered_ = false;
  std::vector<int> fds_;
  int error_ = 0;
};

}  // namespace testing_support
