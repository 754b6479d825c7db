#include "tests/support/watchdog.hpp"

#include <cstdio>
#include <cstdlib>

#include "tests/support/child.hpp"

namespace support {

Watchdog::Watchdog(std::string what, std::chrono::milliseconds deadline)
    : thread_([this, what = std::move(what), deadline] {
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, deadline, [this] { return done_; })) return;
        std::fprintf(stderr, "watchdog: %s still running after %lld ms; aborting\n", what.c_str(),
                     static_cast<long long>(deadline.count()));
        std::fflush(stderr);
        kill_all_children();
        std::_Exit(3);
      }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

}  // namespace support
