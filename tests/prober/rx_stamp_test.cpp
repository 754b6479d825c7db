// The kernel receive timestamps the transport peeks at: the oldest and the newest segment
// waiting on a loopback TCP socket, without consuming anything.
#include "prober/transport/rx_stamp.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace prober::transport {
namespace {

double realtime_ms() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return unix_ms(now);
}

// The reference for peek_receive_times' newest stamp: the 64 KiB MSG_TRUNC peek on its own
// (what the transport did in a second system call before).
std::optional<timespec> peek_newest_receive_time(int fd) {
  static char sink[64 * 1024];
  return detail::peek_stamp(fd, sink, sizeof sink, MSG_TRUNC);
}

// A connected loopback pair: `reader` has SO_TIMESTAMPNS on when asked.
struct Pair {
  int reader = -1, writer = -1;
  explicit Pair(bool stamped) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    reader = ::socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    if (stamped) ::setsockopt(reader, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    EXPECT_EQ(::connect(reader, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    writer = ::accept(listener, nullptr, nullptr);
    ::close(listener);
  }
  ~Pair() {
    ::close(reader);
    ::close(writer);
  }
  void write(const std::string& s) const {
    ASSERT_EQ(::send(writer, s.data(), s.size(), 0), static_cast<ssize_t>(s.size()));
  }
  std::string read_all() const {
    char buf[256];
    const ssize_t n = ::recv(reader, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
};

// The kernel stamps received segments only while some socket asks for it, and turns that on
// (and off, when the last such socket closes) a moment later, from a work queue: a segment
// that arrives in between carries no stamp. One stamped socket open for the whole suite, and
// a first stamp seen, keep every test's segments stamped.
class RxStamp : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    keeper_ = new Pair(true);
    for (int i = 0; i < 200; ++i) {
      keeper_->write("x");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const bool stamped = peek_receive_time(keeper_->reader).has_value();
      keeper_->read_all();
      if (stamped) return;
    }
    FAIL() << "the kernel stamped no received segment within a second";
  }
  static void TearDownTestSuite() {
    delete keeper_;
    keeper_ = nullptr;
  }
  static Pair* keeper_;
};
Pair* RxStamp::keeper_ = nullptr;

TEST_F(RxStamp, TheNewestIsTheLastPartsArrivalAndNothingIsConsumed) {
  Pair p(true);
  const double before_first = realtime_ms();
  p.write("head");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const double before_last = realtime_ms();
  p.write("body");
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto oldest = peek_receive_time(p.reader);
  const auto newest = peek_newest_receive_time(p.reader);
  ASSERT_TRUE(oldest.has_value());
  ASSERT_TRUE(newest.has_value());
  EXPECT_GE(unix_ms(*oldest), before_first - 0.001);
  // Apart, or coalesced on arrival into one segment stamped with the later arrival.
  EXPECT_GE(unix_ms(*newest), before_last - 0.001);
  EXPECT_LT(unix_ms(*newest), realtime_ms());
  EXPECT_GE(unix_ms(*newest), unix_ms(*oldest));
  // Both in one system call: exactly what the two peeks said.
  const ReceiveTimes both = peek_receive_times(p.reader);
  ASSERT_TRUE(both.oldest.has_value());
  ASSERT_TRUE(both.newest.has_value());
  EXPECT_EQ(unix_ms(*both.oldest), unix_ms(*oldest));
  EXPECT_EQ(unix_ms(*both.newest), unix_ms(*newest));
  EXPECT_EQ(p.read_all(), "headbody");  // the peeks left every byte for the reader
}

TEST_F(RxStamp, BothTimesInOnePeekTellApartPartsThatArrivedApart) {
  // Two parts sent 30 ms apart. The kernel may coalesce them on arrival into one segment
  // stamped with the later time (small parts always; 48 KiB ones mostly not, depending on
  // how it laid them out in pages): a few tries find a pair kept apart.
  const std::string part(48 * 1000, 'x');
  for (int attempt = 0; attempt < 10; ++attempt) {
    Pair p(true);
    p.write(part);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    p.write(part);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto oldest = peek_receive_time(p.reader);
    const auto newest = peek_newest_receive_time(p.reader);
    const ReceiveTimes both = peek_receive_times(p.reader);
    ASSERT_TRUE(oldest && newest && both.oldest && both.newest);
    EXPECT_EQ(unix_ms(*both.oldest), unix_ms(*oldest));
    EXPECT_EQ(unix_ms(*both.newest), unix_ms(*newest));
    if (unix_ms(*newest) == unix_ms(*oldest)) continue;  // coalesced: try again
    EXPECT_GE(unix_ms(*both.newest) - unix_ms(*both.oldest), 25.0);
    return;
  }
  GTEST_SKIP() << "the kernel coalesced every pair of parts: nothing to tell apart";
}

TEST_F(RxStamp, NothingWaitingOrUnstampedIsNone) {
  Pair stamped(true);
  EXPECT_FALSE(peek_receive_time(stamped.reader).has_value());
  EXPECT_FALSE(peek_newest_receive_time(stamped.reader).has_value());
  EXPECT_FALSE(peek_receive_times(stamped.reader).oldest.has_value());
  EXPECT_FALSE(peek_receive_times(stamped.reader).newest.has_value());
  Pair plain(false);
  plain.write("x");
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(peek_receive_time(plain.reader).has_value());
  EXPECT_FALSE(peek_newest_receive_time(plain.reader).has_value());
  EXPECT_FALSE(peek_receive_times(plain.reader).oldest.has_value());
  EXPECT_FALSE(peek_receive_times(plain.reader).newest.has_value());
  EXPECT_EQ(plain.read_all(), "x");
}

}  // namespace
}  // namespace prober::transport
