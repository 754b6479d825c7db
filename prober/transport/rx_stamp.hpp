#pragma once
// The kernel's receive time of the data waiting on a socket, for sockets with SO_TIMESTAMPNS
// on: peeks one byte (recvmsg MSG_PEEK), so whoever reads the socket next still reads it all.
// Header-only: the transport measures how long answers waited for the prober, and the test
// target (tests/support/badserver) when requests reached it.

#include <sys/socket.h>
#include <time.h>

#include <cstring>
#include <optional>

namespace prober::transport {

// The receive timestamp (CLOCK_REALTIME) of the first queued segment (segments coalesced on
// arrival carry the latest one); nullopt when nothing is waiting or it is unstamped (the
// kernel turns stamping on a moment after the first socket asks for it).
inline std::optional<timespec> peek_receive_time(int fd) {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT) <= 0) return std::nullopt;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec t{};
    std::memcpy(&t, CMSG_DATA(c), sizeof t);
    return t;
  }
  return std::nullopt;
}

inline double unix_ms(const timespec& t) {
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

}  // namespace prober::transport
