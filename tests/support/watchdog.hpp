#pragma once
// Ends the test process if a test outlives its deadline, so a stuck socket fails the run at once
// instead of stalling it until meson's timeout. Live support::Child processes are killed first.
// (gtest cannot fail a test that is blocked in another thread, so exiting is the only option.)

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace support {

class Watchdog {
 public:
  // `what` names the test in the message printed to stderr when the deadline passes.
  Watchdog(std::string what, std::chrono::milliseconds deadline);
  ~Watchdog();  // disarms
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace support
