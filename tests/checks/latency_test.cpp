// `latency_ms` and `latency`: one check per phase, each "took <= threshold".
#include "checks/kinds.hpp"

#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checks/builder_fake.hpp"

namespace checks {
namespace {

using journeys::Outcome;
using journeys::Timings;
using testing::build;
using testing::build_one;

journeys::Response with_timings(Timings t) {
  journeys::Response r;
  r.status = 200;
  r.timings = t;
  return r;
}

struct PhaseCase {
  const char* key;
  const char* check;  // verdict name
  double Timings::*field;
  friend void PrintTo(const PhaseCase& c, std::ostream* os) { *os << c.key; }
};

class LatencyPhase : public ::testing::TestWithParam<PhaseCase> {};

TEST_P(LatencyPhase, ReadsItsOwnTimer) {
  const PhaseCase& c = GetParam();
  journeys::CheckPtr check = build_one(build_latency, std::string("{ ") + c.key + " = 100 }");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->reason(), "latency");
  EXPECT_EQ(check->describe(), std::string(c.check) + " <= 100 ms");

  // Every other timer is far over the threshold: only this phase's may count.
  Timings t{1000, 1000, 1000, 1000, 1000};
  t.*c.field = 100;
  journeys::Verdict ok = check->evaluate(with_timings(t), journeys::Scope{});
  EXPECT_EQ(ok.outcome, Outcome::pass);
  EXPECT_EQ(ok.check, c.check);

  t = Timings{};
  t.*c.field = 100.26;
  journeys::Verdict slow = check->evaluate(with_timings(t), journeys::Scope{});
  EXPECT_EQ(slow.outcome, Outcome::fail);
  EXPECT_EQ(slow.str(), std::string(c.check) + ": expected <= 100 ms, got 100.3 ms");
}

INSTANTIATE_TEST_SUITE_P(
    Phases, LatencyPhase,
    ::testing::Values(PhaseCase{"total_ms", "latency total", &Timings::total_ms},
                      PhaseCase{"dns_ms", "latency dns", &Timings::dns_ms},
                      PhaseCase{"connect_ms", "latency connect", &Timings::connect_ms},
                      PhaseCase{"tls_ms", "latency tls", &Timings::tls_ms},
                      PhaseCase{"first_byte_ms", "latency first_byte", &Timings::first_byte_ms}));

struct EvalCase {
  const char* value;  // latency_ms = value
  double total_ms;
  Outcome outcome;
  const char* str;
  friend void PrintTo(const EvalCase& c, std::ostream* os) {
    *os << "latency_ms = " << c.value << " vs " << c.total_ms;
  }
};

class LatencyMs : public ::testing::TestWithParam<EvalCase> {};

TEST_P(LatencyMs, ComparesTotalTime) {
  const EvalCase& c = GetParam();
  journeys::CheckPtr check = build_one(build_latency_ms, c.value);
  ASSERT_NE(check, nullptr);
  Timings t;
  t.total_ms = c.total_ms;
  t.first_byte_ms = 1e6;  // not the total: ignored
  const journeys::Verdict v = check->evaluate(with_timings(t), journeys::Scope{});
  EXPECT_EQ(v.outcome, c.outcome);
  EXPECT_EQ(v.check, "latency total");
  if (c.outcome != Outcome::pass) {
    EXPECT_EQ(v.str(), c.str);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LatencyMs,
    ::testing::Values(
        EvalCase{"500", 0, Outcome::pass, ""}, EvalCase{"500", 499.9, Outcome::pass, ""},
        EvalCase{"500", 500, Outcome::pass, ""},
        EvalCase{"500", 500.01, Outcome::fail, "latency total: expected <= 500 ms, got 500.0 ms"},
        EvalCase{"500", 731.24, Outcome::fail, "latency total: expected <= 500 ms, got 731.2 ms"},
        EvalCase{"0.5", 0.4, Outcome::pass, ""},
        EvalCase{"0.5", 2, Outcome::fail, "latency total: expected <= 0.5 ms, got 2.0 ms"},
        EvalCase{"1_000", 1234.56, Outcome::fail,
                 "latency total: expected <= 1000 ms, got 1234.6 ms"},
        EvalCase{"250.75", 300, Outcome::fail,
                 "latency total: expected <= 250.75 ms, got 300.0 ms"}));

TEST(Latency, OneCheckPerPhaseInFileOrder) {
  testing::Built built =
      build(build_latency, "{ total_ms = 800, dns_ms = 10, first_byte_ms = 300 }");
  ASSERT_TRUE(built.errors.empty());
  ASSERT_EQ(built.checks.size(), 3u);
  EXPECT_EQ(built.checks[0]->describe(), "latency total <= 800 ms");
  EXPECT_EQ(built.checks[1]->describe(), "latency dns <= 10 ms");
  EXPECT_EQ(built.checks[2]->describe(), "latency first_byte <= 300 ms");

  Timings t;
  t.total_ms = 700;
  t.dns_ms = 12;
  t.first_byte_ms = 150;
  const journeys::Response r = with_timings(t);
  EXPECT_TRUE(built.checks[0]->evaluate(r, journeys::Scope{}).ok());
  EXPECT_EQ(built.checks[1]->evaluate(r, journeys::Scope{}).str(),
            "latency dns: expected <= 10 ms, got 12.0 ms");
  EXPECT_TRUE(built.checks[2]->evaluate(r, journeys::Scope{}).ok());
}

TEST(Latency, ReusedConnectionHasZeroPhasesAndPasses) {
  journeys::CheckPtr check = build_one(build_latency, "{ connect_ms = 50 }");
  ASSERT_NE(check, nullptr);
  EXPECT_TRUE(check->evaluate(with_timings(Timings{}), journeys::Scope{}).ok());
}

struct ErrorCase {
  journeys::CheckKind kind;
  const char* value;
  std::vector<std::string> errors;
  friend void PrintTo(const ErrorCase& c, std::ostream* os) {
    *os << c.kind.key << " = " << c.value;
  }
};

class LatencyErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LatencyErrors, ReportedAndNothingBuilt) {
  const ErrorCase& c = GetParam();
  testing::Built built = build(c.kind.build, c.value);
  EXPECT_EQ(built.errors, c.errors);
  EXPECT_TRUE(built.checks.empty());
}

const journeys::CheckKind kMs{"latency_ms", "", build_latency_ms};
const journeys::CheckKind kTable{"latency", "", build_latency};
const std::string kPhases = "(use total_ms, dns_ms, connect_ms, tls_ms, first_byte_ms)";

INSTANTIATE_TEST_SUITE_P(
    Cases, LatencyErrors,
    ::testing::Values(
        ErrorCase{kMs, "0", {"latency_ms must be a positive number"}},
        ErrorCase{kMs, "-5", {"latency_ms must be a positive number"}},
        ErrorCase{kMs, "-0.5", {"latency_ms must be a positive number"}},
        ErrorCase{kMs, "nan", {"latency_ms must be a positive number"}},
        ErrorCase{kMs, "inf", {"latency_ms must be a positive number"}},
        ErrorCase{kMs, "\"500ms\"", {"latency_ms must be a positive number, not a string"}},
        ErrorCase{kMs, "true", {"latency_ms must be a positive number, not a boolean"}},
        ErrorCase{kMs, "[500]", {"latency_ms must be a positive number, not an array"}},
        ErrorCase{kTable, "{ ttfb_ms = 100 }", {"latency: unknown phase 'ttfb_ms' " + kPhases}},
        ErrorCase{kTable, "{ total = 100 }", {"latency: unknown phase 'total' " + kPhases}},
        ErrorCase{kTable, "{}", {"latency: no phase given " + kPhases}},
        ErrorCase{kTable,
                  "500",
                  {"latency must be a table like { total_ms = 500, first_byte_ms = 200 }, "
                   "not an integer"}},
        ErrorCase{kTable,
                  "{ dns_ms = \"x\" }",
                  {"latency.dns_ms must be a positive number, not a string"}},
        ErrorCase{kTable, "{ tls_ms = 0 }", {"latency.tls_ms must be a positive number"}},
        ErrorCase{kTable,
                  "{ total_ms = 500, dns_ms = -1, connect = 3 }",
                  {"latency.dns_ms must be a positive number",
                   "latency: unknown phase 'connect' " + kPhases}}));

}  // namespace
}  // namespace checks
