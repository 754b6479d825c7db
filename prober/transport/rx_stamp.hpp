#pragma once
// The kernel's receive time of the data waiting on a socket, for sockets with SO_TIMESTAMPNS
// on: peeks (recvmsg MSG_PEEK), so whoever reads the socket next still reads it all.
// Header-only: the transport measures how long answers waited for the prober, and the test
// target (tests/support/badserver) when requests reached it.

#include <sys/socket.h>
#include <time.h>

#include <cstddef>
#include <cstring>
#include <optional>

namespace prober::transport {

namespace detail {
// The SCM_TIMESTAMPNS that came with a received message, if any.
inline std::optional<timespec> stamp_of(msghdr& msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec t{};
    std::memcpy(&t, CMSG_DATA(c), sizeof t);
    return t;
  }
  return std::nullopt;
}

// recvmsg(MSG_PEEK | flags) into buf; the SCM_TIMESTAMPNS that came with it.
inline std::optional<timespec> peek_stamp(int fd, char* buf, std::size_t len, int flags) {
  iovec iov{buf, len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT | flags) <= 0) return std::nullopt;
  return stamp_of(msg);
}
}  // namespace detail

// The receive timestamp (CLOCK_REALTIME) of the first queued segment (segments coalesced on
// arrival carry the latest one); nullopt when nothing is waiting or it is unstamped (the
// kernel turns stamping on a moment after the first socket asks for it).
inline std::optional<timespec> peek_receive_time(int fd) {
  char byte;
  return detail::peek_stamp(fd, &byte, 1, 0);
}

// When the oldest and the newest of what is waiting arrived, in one system call (recvmmsg: two
// peeks from the same place). The 1-byte peek stops in the first queued segment: its stamp
// (segments coalesced on arrival carry the latest one). The 64 KiB one with MSG_TRUNC walks
// the queued segments without copying them and reports the stamp of the last one it passed
// (the buffer is real all the same, should a kernel copy). The transport calls this on every
// read wake. oldest is nullopt when nothing is waiting or it is unstamped (as
// peek_receive_time); newest is nullopt only when oldest is.
struct ReceiveTimes {
  std::optional<timespec> oldest, newest;
};
inline ReceiveTimes peek_receive_times(int fd) {
  static thread_local char sink[64 * 1024];
  char byte;
  iovec iov[2] = {{&byte, 1}, {sink, sizeof sink}};
  alignas(cmsghdr) char control[2][CMSG_SPACE(sizeof(timespec))];
  mmsghdr msgs[2]{};
  for (int i = 0; i < 2; ++i) {
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_control = control[i];
    msgs[i].msg_hdr.msg_controllen = sizeof control[i];
  }
  const int n = ::recvmmsg(fd, msgs, 2, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC, nullptr);
  ReceiveTimes times;
  if (n >= 1) times.oldest = detail::stamp_of(msgs[0].msg_hdr);
  if (!times.oldest) return times;
  times.newest = n >= 2 ? detail::stamp_of(msgs[1].msg_hdr) : std::nullopt;
  if (!times.newest) times.newest = times.oldest;  // the kernel would stamp both or neither
  return times;
}

inline double unix_ms(const timespec& t) {
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

}  // namespace prober::transport
