#include "prober/transport/lookup_check.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fd_exhaustion.hpp"

namespace {

using prober::transport::describe;
using prober::transport::failed_locally;
using prober::transport::LookupChecks;
using prober::transport::LookupOutcome;
using testing::HasSubstr;

LookupOutcome gai(int code, int err) {
  LookupOutcome o;
  o.gai = code;
  o.os_errno = err;
  return o;
}

// A name no resolver can look up, refused before any query leaves the host (a DNS label is
// at most 63 bytes): getaddrinfo fails with EAI_NONAME at once, without network traffic.
std::string unresolvable() { return std::string(64, 'a') + ".test"; }

using testing_support::FdExhaustion;

TEST(LookupOutcome, TheProbersOwnShortageIsLocal) {
  EXPECT_TRUE(failed_locally(gai(EAI_MEMORY, 0)));
  EXPECT_TRUE(failed_locally(gai(EAI_SYSTEM, EMFILE)));
  EXPECT_TRUE(failed_locally(gai(EAI_SYSTEM, ENFILE)));
  EXPECT_TRUE(failed_locally(gai(EAI_SYSTEM, ENOMEM)));
  EXPECT_TRUE(failed_locally(gai(EAI_AGAIN, ENOBUFS)));
  // glibc: /etc/hosts and the DNS socket could not be opened -> "not known", errno EMFILE.
  EXPECT_TRUE(failed_locally(gai(EAI_NONAME, EMFILE)));
  LookupOutcome no_thread;
  no_thread.started = false;
  no_thread.os_errno = EAGAIN;
  EXPECT_TRUE(failed_locally(no_thread));
  EXPECT_THAT(describe(no_thread), HasSubstr("no thread"));
  EXPECT_THAT(describe(gai(EAI_NONAME, EMFILE)), HasSubstr("Too many open files"));
  EXPECT_THAT(describe(gai(EAI_SYSTEM, EMFILE)), HasSubstr("Too many open files"));
  // glibc out of descriptors, warm: EAI_SYSTEM with errno EINVAL — the socket probe tells.
  EXPECT_FALSE(failed_locally(gai(EAI_SYSTEM, EINVAL)));
  LookupOutcome no_socket = gai(EAI_SYSTEM, EINVAL);
  no_socket.socket_errno = EMFILE;
  EXPECT_TRUE(failed_locally(no_socket));
  EXPECT_THAT(describe(no_socket), HasSubstr("could not open a socket: Too many open files"));
}

TEST(LookupOutcome, WhatDnsSaysIsNotLocal) {
  EXPECT_FALSE(failed_locally(gai(EAI_NONAME, 0)));        // NXDOMAIN
  EXPECT_FALSE(failed_locally(gai(EAI_NONAME, EMSGSIZE)));  // an impossible name
  EXPECT_FALSE(failed_locally(gai(EAI_AGAIN, EAGAIN)));     // no name server answered
  LookupOutcome refused = gai(EAI_AGAIN, ECONNREFUSED);
  refused.socket_errno = 0;  // the prober could open its socket: the name server refused
  EXPECT_FALSE(failed_locally(refused));
  EXPECT_FALSE(failed_locally(gai(EAI_FAIL, 0)));
  EXPECT_FALSE(failed_locally(gai(0, 0)));  // it resolves now: the failure stays curl's
  LookupOutcome slow;
  slow.finished = false;
  EXPECT_FALSE(failed_locally(slow));
  EXPECT_THAT(describe(gai(EAI_NONAME, 0)), HasSubstr("not known"));
  EXPECT_EQ(describe(gai(0, 0)), "it resolves now");
  EXPECT_EQ(describe(gai(EAI_SYSTEM, 0)), "System error");  // not "System error: Success"
  EXPECT_THAT(describe(slow), HasSubstr("name server"));
}

class Lookups : public testing::Test {
 protected:
  // Runs one check to its answer.
  std::optional<LookupOutcome> check(const std::string& host) {
    std::optional<LookupOutcome> out;
    EXPECT_TRUE(checks_.check(host, AF_UNSPEC, [&](LookupOutcome o) { out = o; }));
    io_.restart();
    io_.run_for(std::chrono::seconds(10));
    return out;
  }
  boost::asio::io_context io_;
  LookupChecks checks_{io_};
};

TEST_F(Lookups, ANumericAddressResolves) {
  auto o = check("127.0.0.1");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->gai, 0);
  EXPECT_FALSE(failed_locally(*o));
}

TEST_F(Lookups, AnImpossibleNameIsDnssNotOurs) {
  auto o = check(unresolvable());
  ASSERT_TRUE(o);
  EXPECT_EQ(o->gai, EAI_NONAME) << describe(*o);
  EXPECT_FALSE(failed_locally(*o)) << describe(*o);
  EXPECT_EQ(o->socket_errno, 0);
}

// With no file descriptor left, a lookup fails in the prober, whatever glibc's code and errno
// say (a name of impossible form even: glibc refuses it before it would need a descriptor, and
// the socket probe tells). No query can leave: nothing can be opened. The patience is long
// enough that the lookup finishes while the descriptors are still taken.
TEST(LookupsOutOfFileDescriptors, AreTheProbersOwnFailure) {
  boost::asio::io_context io;
  LookupChecks checks(io, std::chrono::seconds(30));
  std::optional<LookupOutcome> out;
  ASSERT_TRUE(checks.check("127.0.0.1", AF_UNSPEC, [&](LookupOutcome o) { out = o; }));
  io.run();  // the loop's reactor and glibc's NSS exist before the fds run out, as in the prober
  ASSERT_TRUE(out);
  out.reset();
  {
    FdExhaustion full;
    ASSERT_EQ(full.error(), EMFILE);
    ASSERT_TRUE(checks.check(unresolvable(), AF_UNSPEC, [&](LookupOutcome o) { out = o; }));
    io.restart();
    io.run();
  }
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->finished);
  EXPECT_NE(out->gai, 0);
  EXPECT_EQ(out->socket_errno, EMFILE);
  EXPECT_TRUE(failed_locally(*out)) << describe(*out) << " gai " << out->gai << " errno " << out->os_errno;
}

TEST_F(Lookups, ChecksOfOneHostShareTheLookupAndAllAreAnswered) {
  int answered = 0;
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(checks_.check(unresolvable(), AF_UNSPEC, [&](LookupOutcome o) {
      EXPECT_EQ(o.gai, EAI_NONAME);
      ++answered;
    }));
  io_.run_for(std::chrono::seconds(10));
  EXPECT_EQ(answered, 5);
}

TEST_F(Lookups, BeyondTheLimitOfDistinctLookupsNoneStarts) {
  int answered = 0;
  for (std::size_t i = 0; i < LookupChecks::kMaxLookups; ++i)
    EXPECT_TRUE(checks_.check(std::string(64, 'a' + static_cast<char>(i % 26)) + std::to_string(i) + ".test",
                              AF_UNSPEC, [&](LookupOutcome) { ++answered; }));
  EXPECT_FALSE(checks_.check(std::string(70, 'z') + ".test", AF_UNSPEC, [&](LookupOutcome) { ++answered; }));
  io_.run_for(std::chrono::seconds(10));
  EXPECT_EQ(answered, static_cast<int>(LookupChecks::kMaxLookups));
}

// The loop stays busy while a lookup is out (io.run() would otherwise return with a step
// unanswered), and a destroyed LookupChecks never calls back and leaves the loop free.
TEST(LookupChecksLifetime, RunWaitsForTheAnswerAndDestroyingAbandons) {
  boost::asio::io_context io;
  bool called = false;
  {
    LookupChecks checks(io);
    ASSERT_TRUE(checks.check(unresolvable(), AF_UNSPEC, [&](LookupOutcome) { called = true; }));
    io.run();  // returns only once the answer is in
    EXPECT_TRUE(called);
    called = false;
    ASSERT_TRUE(checks.check(unresolvable(), AF_UNSPEC, [&](LookupOutcome) { called = true; }));
  }
  io.restart();
  io.run_for(std::chrono::seconds(2));
  EXPECT_FALSE(called);
  EXPECT_TRUE(io.stopped());  // nothing left that keeps it running
}

}  // namespace
