// `status`: codes, classes and ranges; parsed at load time, every bad value reported.
#include "checks/kinds.hpp"

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

journeys::Response with_status(int status) {
  journeys::Response r;
  r.status = status;
  return r;
}

struct EvalCase {
  const char* value;  // TOML
  int status;
  Outcome outcome;
  const char* str;  // Verdict::str() when it fails
  friend void PrintTo(const EvalCase& c, std::ostream* os) {
    *os << "status = " << c.value << " vs " << c.status;
  }
};

class StatusEval : public ::testing::TestWithParam<EvalCase> {};

TEST_P(StatusEval, Verdict) {
  const EvalCase& c = GetParam();
  journeys::CheckPtr check = build_one(build_status, c.value);
  ASSERT_NE(check, nullptr);
  const journeys::Verdict v = check->evaluate(with_status(c.status), journeys::Scope{});
  EXPECT_EQ(v.outcome, c.outcome);
  EXPECT_EQ(v.check, "status");
  if (c.outcome != Outcome::pass) {
    EXPECT_EQ(v.str(), c.str);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StatusEval,
    ::testing::Values(
        EvalCase{"200", 200, Outcome::pass, ""},
        EvalCase{"200", 201, Outcome::fail, "status: expected 200, got 201"},
        EvalCase{"\"201\"", 201, Outcome::pass, ""}, EvalCase{"\"2xx\"", 200, Outcome::pass, ""},
        EvalCase{"\"2xx\"", 299, Outcome::pass, ""}, EvalCase{"\"2XX\"", 204, Outcome::pass, ""},
        EvalCase{"\"2xx\"", 300, Outcome::fail, "status: expected 2xx, got 300"},
        EvalCase{"\"2XX\"", 199, Outcome::fail, "status: expected 2xx, got 199"},
        EvalCase{"\"5xx\"", 503, Outcome::pass, ""},
        EvalCase{"\"200-204\"", 200, Outcome::pass, ""},
        EvalCase{"\"200-204\"", 204, Outcome::pass, ""},
        EvalCase{"\"200-204\"", 205, Outcome::fail, "status: expected 200-204, got 205"},
        EvalCase{"\"404-404\"", 404, Outcome::pass, ""},
        EvalCase{"[200, \"3xx\", \"404\"]", 404, Outcome::pass, ""},
        EvalCase{"[200, \"3xx\", \"404\"]", 302, Outcome::pass, ""},
        EvalCase{"[200, \"3xx\", \"404\"]", 500, Outcome::fail,
                 "status: expected 200, 3xx or 404, got 500"},
        EvalCase{"[200, 204]", 201, Outcome::fail, "status: expected 200 or 204, got 201"},
        EvalCase{"[\"2xx\"]", 0, Outcome::fail, "status: expected 2xx, got 0"}));

struct ErrorCase {
  const char* value;
  std::vector<std::string> errors;
  friend void PrintTo(const ErrorCase& c, std::ostream* os) { *os << "status = " << c.value; }
};

class StatusErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(StatusErrors, ReportedAndNothingBuilt) {
  const ErrorCase& c = GetParam();
  testing::Built built = build(build_status, c.value);
  EXPECT_EQ(built.errors, c.errors);
  EXPECT_TRUE(built.checks.empty());
}

const std::string kUse = "(use 1xx..5xx, 200, or 200-299)";
const std::string kEntry = "an integer code or a string like \"2xx\" or \"200-299\"";

INSTANTIATE_TEST_SUITE_P(
    Cases, StatusErrors,
    ::testing::Values(
        ErrorCase{"\"6xx\"", {"status: '6xx' is not a status class " + kUse}},
        ErrorCase{"\"0xx\"", {"status: '0xx' is not a status class " + kUse}},
        ErrorCase{"\"axx\"", {"status: 'axx' is not a status class " + kUse}},
        ErrorCase{"600", {"status: 600 is not an HTTP status code (use 100..599)"}},
        ErrorCase{"99", {"status: 99 is not an HTTP status code (use 100..599)"}},
        ErrorCase{"-200", {"status: -200 is not an HTTP status code (use 100..599)"}},
        ErrorCase{"\"600\"", {"status: '600' is not an HTTP status code (use 100..599)"}},
        ErrorCase{"\"2000\"", {"status: '2000' is not an HTTP status code (use 100..599)"}},
        ErrorCase{"\"299-200\"",
                  {"status: '299-200' is not a status range (299 is greater than 200)"}},
        ErrorCase{"\"200-700\"", {"status: '200-700' is not a status range (codes are 100..599)"}},
        ErrorCase{"\"2a0-299\"", {"status: '2a0-299' is not a status range " + kUse}},
        ErrorCase{"\"200-\"", {"status: '200-' is not a status range " + kUse}},
        ErrorCase{"\"ok\"", {"status: 'ok' is not a status " + kUse}},
        ErrorCase{"\"\"", {"status: '' is not a status " + kUse}},
        ErrorCase{"\" 200\"", {"status: ' 200' is not a status " + kUse}},
        ErrorCase{"200.0", {"status must be " + kEntry + " or a list of these, not a float"}},
        ErrorCase{"{ code = 200 }",
                  {"status must be " + kEntry + " or a list of these, not a table"}},
        ErrorCase{"[]", {"status: empty list"}},
        ErrorCase{"[200, true]", {"status[1] must be " + kEntry + ", not a boolean"}},
        ErrorCase{"[200, [201]]", {"status[1] must be " + kEntry + ", not an array"}},
        ErrorCase{"[200, \"7xx\"]", {"status[1]: '7xx' is not a status class " + kUse}},
        ErrorCase{"[\"6xx\", 700, \"2xx\"]",
                  {"status[0]: '6xx' is not a status class " + kUse,
                   "status[1]: 700 is not an HTTP status code (use 100..599)"}}));

TEST(Status, ErrorIsReportedAtTheOffendingValue) {
  testing::Built built = build(build_status, R"([200, "7xx"])");
  ASSERT_EQ(built.diagnostics.size(), 1u);
  EXPECT_EQ(built.diagnostics[0].pos.file, "test.toml");
  EXPECT_EQ(built.diagnostics[0].pos.line, 1);
  EXPECT_EQ(built.diagnostics[0].pos.column, 11);  // v = [200, "7xx"]
}

TEST(Status, DescribesItself) {
  journeys::CheckPtr one = build_one(build_status, R"("2xx")");
  journeys::CheckPtr list = build_one(build_status, R"([200, "3xx", "400-403"])");
  ASSERT_NE(one, nullptr);
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(one->describe(), "status is 2xx");
  EXPECT_EQ(list->describe(), "status is 200, 3xx or 400-403");
  EXPECT_EQ(one->reason(), "status");
}

TEST(Status, AListIsOneCheck) {
  testing::Built built = build(build_status, R"([200, 201, "3xx"])");
  EXPECT_TRUE(built.errors.empty());
  EXPECT_EQ(built.checks.size(), 1u);
}

}  // namespace
}  // namespace checks
