// `tls`: certificate expiry against the system clock; "not TLS" is could-not-evaluate.
#include "checks/kinds.hpp"

#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checks/builder_fake.hpp"

namespace checks {
namespace {

using journeys::Outcome;
using testing::build;
using testing::build_one;

constexpr std::int64_t kDay = 86400;

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string utc(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

journeys::Response tls_response(std::optional<std::int64_t> not_after, bool used = true) {
  journeys::Response r;
  r.status = 200;
  r.tls.used = used;
  r.tls.not_after_unix = not_after;
  return r;
}

struct EvalCase {
  const char* value;
  std::int64_t expires_in;  // seconds from now; the hour of slack keeps the day count stable
  Outcome outcome;
  std::string str;  // with {date} for the expiry date
  friend void PrintTo(const EvalCase& c, std::ostream* os) {
    *os << "tls = " << c.value << ", expires in " << c.expires_in << " s";
  }
};

class TlsEval : public ::testing::TestWithParam<EvalCase> {};

TEST_P(TlsEval, Verdict) {
  const EvalCase& c = GetParam();
  journeys::CheckPtr check = build_one(build_tls, c.value);
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->reason(), "tls");
  const std::int64_t not_after = now() + c.expires_in;
  const journeys::Verdict v = check->evaluate(tls_response(not_after), journeys::Scope{});
  EXPECT_EQ(v.outcome, c.outcome) << v.str();
  if (c.outcome != Outcome::pass) {
    std::string want = c.str;
    want.replace(want.find("{date}"), 6, utc(not_after));
    EXPECT_EQ(v.str(), want);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TlsEval,
    ::testing::Values(
        EvalCase{"{ days_left = 14 }", 30 * kDay + 3600, Outcome::pass, ""},
        EvalCase{"{ days_left = 14 }", 14 * kDay + 3600, Outcome::pass, ""},
        EvalCase{"{ days_left = 14 }", 14 * kDay - 3600, Outcome::fail,
                 "tls: expected more than 14 days left, got 13 days left (expires {date})"},
        EvalCase{"{ days_left = 14 }", 10 * kDay + 3600, Outcome::fail,
                 "tls: expected more than 14 days left, got 10 days left (expires {date})"},
        EvalCase{"{ days_left = 1 }", kDay + 3600, Outcome::pass, ""},
        EvalCase{"{ days_left = 1 }", kDay - 3600, Outcome::fail,
                 "tls: expected more than 1 day left, got 0 days left (expires {date})"},
        EvalCase{"{ days_left = 0 }", 3600, Outcome::pass, ""},
        EvalCase{"{ days_left = 0 }", -2 * kDay, Outcome::fail,
                 "tls: expected more than 0 days left, got expired {date}"},
        EvalCase{"{ days_left = 30 }", -3600, Outcome::fail,
                 "tls: expected more than 30 days left, got expired {date}"}));

TEST(Tls, NotOverTlsCannotBeEvaluated) {
  journeys::CheckPtr check = build_one(build_tls, "{ days_left = 14 }");
  ASSERT_NE(check, nullptr);
  const journeys::Verdict v =
      check->evaluate(tls_response(now() + 100 * kDay, /*used=*/false), journeys::Scope{});
  EXPECT_EQ(v.outcome, Outcome::error);
  EXPECT_EQ(v.str(), "tls: could not evaluate: not a TLS response");
}

TEST(Tls, UnknownExpiryCannotBeEvaluated) {
  journeys::CheckPtr check = build_one(build_tls, "{ days_left = 14 }");
  ASSERT_NE(check, nullptr);
  const journeys::Verdict v = check->evaluate(tls_response(std::nullopt), journeys::Scope{});
  EXPECT_EQ(v.outcome, Outcome::error);
  EXPECT_EQ(v.str(), "tls: could not evaluate: the certificate's expiry is unknown");
}

TEST(Tls, AbsurdExpiryDoesNotOverflow) {
  journeys::CheckPtr check = build_one(build_tls, "{ days_left = 36500 }");
  ASSERT_NE(check, nullptr);
  EXPECT_TRUE(check->evaluate(tls_response(INT64_MAX), journeys::Scope{}).ok());
  EXPECT_EQ(check->evaluate(tls_response(INT64_MIN), journeys::Scope{}).outcome, Outcome::fail);
}

TEST(Tls, Describes) {
  journeys::CheckPtr check = build_one(build_tls, "{ days_left = 14 }");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->describe(), "tls certificate expires in more than 14 days");
}

struct ErrorCase {
  const char* value;
  std::vector<std::string> errors;
  friend void PrintTo(const ErrorCase& c, std::ostream* os) { *os << "tls = " << c.value; }
};

class TlsErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(TlsErrors, ReportedAndNothingBuilt) {
  const ErrorCase& c = GetParam();
  testing::Built built = build(build_tls, c.value);
  EXPECT_EQ(built.errors, c.errors);
  EXPECT_TRUE(built.checks.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TlsErrors,
    ::testing::Values(
        ErrorCase{"14", {"tls must be a table like { days_left = 14 }, not an integer"}},
        ErrorCase{"true", {"tls must be a table like { days_left = 14 }, not a boolean"}},
        ErrorCase{"{}", {"tls: missing days_left (e.g. { days_left = 14 })"}},
        ErrorCase{"{ days_lef = 14 }", {"tls: unknown key 'days_lef' (did you mean 'days_left'?)"}},
        ErrorCase{"{ expiry = 3 }", {"tls: unknown key 'expiry' (use days_left)"}},
        ErrorCase{"{ days_left = -1 }", {"tls.days_left must be a non-negative integer"}},
        ErrorCase{"{ days_left = \"14\" }",
                  {"tls.days_left must be a non-negative integer, not a string"}},
        ErrorCase{"{ days_left = 14.5 }",
                  {"tls.days_left must be a non-negative integer, not a float"}},
        ErrorCase{"{ days_left = 36501 }", {"tls.days_left must be at most 36500"}}));

}  // namespace
}  // namespace checks
