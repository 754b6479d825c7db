// `headers`: names case-insensitive, values case-sensitive, one check per predicate.
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

journeys::Response response() {
  journeys::Response r;
  r.status = 200;
  r.headers = {{"Content-Type", "application/json; charset=utf-8"},
               {"set-cookie", "a=1; Path=/"},
               {"Set-Cookie", "b=2; Path=/"},
               {"X-Id", "abc-123"}};
  return r;
}

journeys::Scope scope() {
  journeys::Scope s;
  s.set("id", "abc-123");
  s.set("other", "zzz");
  return s;
}

// How the Content-Type of response() shows in a verdict.
const std::string kGotCt = R"(got "application/json; charset=utf-8")";

struct EvalCase {
  const char* value;  // headers = value; builds exactly one check
  Outcome outcome;
  std::string str;  // Verdict::str() unless it passes
  friend void PrintTo(const EvalCase& c, std::ostream* os) { *os << "headers = " << c.value; }
};

class HeaderEval : public ::testing::TestWithParam<EvalCase> {};

TEST_P(HeaderEval, Verdict) {
  const EvalCase& c = GetParam();
  journeys::CheckPtr check = build_one(build_headers, c.value);
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->reason(), "header");
  const journeys::Verdict v = check->evaluate(response(), scope());
  EXPECT_EQ(v.outcome, c.outcome) << v.str();
  if (c.outcome != Outcome::pass) {
    EXPECT_EQ(v.str(), c.str);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Equals, HeaderEval,
    ::testing::Values(
        EvalCase{R"({ "Content-Type" = "application/json; charset=utf-8" })", Outcome::pass, ""},
        EvalCase{R"({ "content-type" = "application/json; charset=utf-8" })", Outcome::pass, ""},
        EvalCase{R"({ "CONTENT-TYPE" = { equals = "application/json; charset=utf-8" } })",
                 Outcome::pass, ""},
        EvalCase{R"({ "Content-Type" = "text/html" })", Outcome::fail,
                 R"(header Content-Type: expected "text/html", )" + kGotCt},
        EvalCase{R"({ "Content-Type" = "APPLICATION/JSON; charset=utf-8" })", Outcome::fail,
                 R"(header Content-Type: expected "APPLICATION/JSON; charset=utf-8", )" + kGotCt},
        EvalCase{R"({ "X-Id" = "{{id}}" })", Outcome::pass, ""},
        EvalCase{R"({ "X-Id" = "{{other}}" })", Outcome::fail,
                 R"(header X-Id: expected "zzz", got "abc-123")"},
        EvalCase{R"({ "X-Id" = "{{unset}}" })", Outcome::error,
                 "header X-Id: could not evaluate: variable 'unset' is not set"},
        EvalCase{R"({ "X-Missing" = "x" })", Outcome::error,
                 "header X-Missing: could not evaluate: the response has no such header"},
        // A repeated header passes when any of its values does.
        EvalCase{R"({ "Set-Cookie" = "b=2; Path=/" })", Outcome::pass, ""},
        EvalCase{R"({ "Set-Cookie" = "c=3" })", Outcome::fail,
                 R"(header Set-Cookie: expected "c=3", got "a=1; Path=/" (and 1 more))"}));

INSTANTIATE_TEST_SUITE_P(
    Contains, HeaderEval,
    ::testing::Values(
        EvalCase{R"({ "Content-Type" = { contains = "json" } })", Outcome::pass, ""},
        EvalCase{R"({ "Content-Type" = { contains = "xml" } })", Outcome::fail,
                 R"(header Content-Type: expected contains "xml", )" + kGotCt},
        EvalCase{R"({ "Content-Type" = { contains = "JSON" } })", Outcome::fail,
                 R"(header Content-Type: expected contains "JSON", )" + kGotCt},
        EvalCase{R"({ "X-Id" = { contains = "{{id}}" } })", Outcome::pass, ""},
        EvalCase{R"({ "X-Id" = { contains = "{{unset}}" } })", Outcome::error,
                 "header X-Id: could not evaluate: variable 'unset' is not set"},
        EvalCase{R"({ "Set-Cookie" = { contains = "b=" } })", Outcome::pass, ""},
        EvalCase{R"({ "X-Missing" = { contains = "x" } })", Outcome::error,
                 "header X-Missing: could not evaluate: the response has no such header"}));

INSTANTIATE_TEST_SUITE_P(
    Matches, HeaderEval,
    ::testing::Values(
        EvalCase{R"({ "Content-Type" = { matches = '^application/json\b' } })", Outcome::pass, ""},
        EvalCase{R"({ "Content-Type" = { matches = 'charset=' } })", Outcome::pass, ""},
        EvalCase{R"({ "Content-Type" = { matches = '^text/' } })", Outcome::fail,
                 R"(header Content-Type: expected matches /^text//, )" + kGotCt},
        EvalCase{R"({ "Set-Cookie" = { matches = '^b=\d' } })", Outcome::pass, ""},
        EvalCase{R"({ "X-Missing" = { matches = 'x' } })", Outcome::error,
                 "header X-Missing: could not evaluate: the response has no such header"}));

INSTANTIATE_TEST_SUITE_P(
    Exists, HeaderEval,
    ::testing::Values(EvalCase{R"({ "x-id" = { exists = true } })", Outcome::pass, ""},
                      EvalCase{R"({ "X-Missing" = { exists = true } })", Outcome::fail,
                               "header X-Missing: expected present, got absent"},
                      EvalCase{R"({ "Server" = { exists = false } })", Outcome::pass, ""},
                      EvalCase{R"({ "X-ID" = { exists = false } })", Outcome::fail,
                               "header X-ID: expected absent, got present"}));

TEST(Header, OneCheckPerPredicateInFileOrder) {
  testing::Built built = build(
      build_headers, R"({ "X-Id" = { matches = '^[a-z]+-\d+$', exists = true, contains = "abc" }, )"
                     R"("Content-Type" = "application/json" })");
  ASSERT_TRUE(built.errors.empty()) << ::testing::PrintToString(built.errors);
  ASSERT_EQ(built.checks.size(), 4u);
  EXPECT_EQ(built.checks[0]->describe(), "header X-Id matches /^[a-z]+-\\d+$/");
  EXPECT_EQ(built.checks[1]->describe(), "header X-Id is present");
  EXPECT_EQ(built.checks[2]->describe(), "header X-Id contains \"abc\"");
  EXPECT_EQ(built.checks[3]->describe(), "header Content-Type equals \"application/json\"");
  EXPECT_TRUE(built.checks[0]->evaluate(response(), scope()).ok());
  EXPECT_EQ(built.checks[3]->evaluate(response(), scope()).outcome, Outcome::fail);
}

TEST(Header, SecretExpectedValueIsNeverShown) {
  journeys::CheckPtr check =
      build_one(build_headers, R"({ "X-Id" = "{{env.TOKEN}}" })", {{"TOKEN", "s3cret"}});
  ASSERT_NE(check, nullptr);
  const journeys::Verdict v = check->evaluate(response(), scope());
  EXPECT_EQ(v.outcome, Outcome::fail);
  EXPECT_EQ(v.expected, "\"***\"");
  EXPECT_EQ(v.str().find("s3cret"), std::string::npos) << v.str();
  EXPECT_EQ(check->describe().find("s3cret"), std::string::npos) << check->describe();

  journeys::Response r = response();
  r.headers.push_back({"x-id", "s3cret"});
  EXPECT_TRUE(check->evaluate(r, scope()).ok());
}

TEST(Header, LongAndHostileValuesAreTruncated) {
  journeys::Response r;
  r.headers = {{"X-Long", std::string(500, 'x') + "\n"}};
  journeys::CheckPtr check = build_one(build_headers, R"({ "X-Long" = "y" })");
  ASSERT_NE(check, nullptr);
  const journeys::Verdict v = check->evaluate(r, journeys::Scope{});
  EXPECT_EQ(v.actual, "\"" + journeys::truncate_for_display(r.headers[0].value) + "\"");
  EXPECT_LT(v.actual.size(), 200u);
}

struct ErrorCase {
  const char* value;
  std::vector<std::string> errors;
  friend void PrintTo(const ErrorCase& c, std::ostream* os) { *os << "headers = " << c.value; }
};

class HeaderErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(HeaderErrors, ReportedAndNothingBuilt) {
  const ErrorCase& c = GetParam();
  testing::Built built = build(build_headers, c.value);
  EXPECT_EQ(built.errors, c.errors);
  EXPECT_TRUE(built.checks.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HeaderErrors,
    ::testing::Values(
        ErrorCase{
            R"("application/json")",
            {R"(headers must be a table like { "Content-Type" = "text/html" }, not a string)"}},
        ErrorCase{"{}", {"headers: no header given"}},
        ErrorCase{R"({ "Bad Name" = "x" })", {"headers: 'Bad Name' is not a valid header name"}},
        ErrorCase{R"({ "" = "x" })", {"headers: '' is not a valid header name"}},
        ErrorCase{
            "{ X = 5 }",
            {"headers.X must be a string or a table like { exists = true }, not an integer"}},
        ErrorCase{"{ X = {} }",
                  {"headers.X: no predicate (use exists, equals, contains, matches)"}},
        ErrorCase{R"({ X = { equal = "a" } })",
                  {"headers.X: unknown predicate 'equal' (did you mean 'equals'?)"}},
        ErrorCase{R"({ X = { frobnicate = "a" } })",
                  {"headers.X: unknown predicate 'frobnicate' (use exists, equals, contains, "
                   "matches)"}},
        ErrorCase{R"({ X = { exists = "yes" } })",
                  {"headers.X.exists must be a boolean, not a string"}},
        ErrorCase{"{ X = { equals = 1 } }",
                  {"headers.X.equals must be a string, not an integer"}},
        ErrorCase{"{ X = { contains = [\"a\"] } }",
                  {"headers.X.contains must be a string, not an array"}},
        ErrorCase{R"({ X = { matches = "a(" } })",
                  {"headers.X.matches: 'a(' is not a valid RE2 pattern: missing ): a("}},
        ErrorCase{R"({ X = { matches = "" } })",
                  {"headers.X.matches must not be an empty pattern"}},
        ErrorCase{"{ X = { matches = 1 } }",
                  {"headers.X.matches must be a string (an RE2 pattern), not an integer"}},
        ErrorCase{R"({ X = { exists = false, equals = "a" } })",
                  {"headers.X: exists = false contradicts equals"}},
        ErrorCase{R"({ A = 1, B = { exists = 2 } })",
                  {"headers.A must be a string or a table like { exists = true }, not an integer",
                   "headers.B.exists must be a boolean, not an integer"}}));

TEST(Header, TemplateErrorIsReportedByTheBuilder) {
  testing::Built built = build(build_headers, R"({ X = "{{env.NOPE}}" })");
  EXPECT_EQ(built.errors.size(), 1u);
  EXPECT_TRUE(built.checks.empty());
}

}  // namespace
}  // namespace checks
