// body_contains, body_not_contains, body_regex, body_size.
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

const std::string kBody = R"({"order_id": 42, "status": "ok"})";

journeys::Response with_body(std::string body) {
  journeys::Response r;
  r.status = 200;
  r.body = std::move(body);
  return r;
}

journeys::Scope scope() {
  journeys::Scope s;
  s.set("oid", "42");
  s.set("missing", "refund");
  return s;
}

struct EvalCase {
  journeys::CheckKind kind;
  const char* value;  // builds exactly one check
  std::string body;
  Outcome outcome;
  std::string str;  // Verdict::str() unless it passes
  friend void PrintTo(const EvalCase& c, std::ostream* os) {
    *os << c.kind.key << " = " << c.value << " on " << c.body;
  }
};

const journeys::CheckKind kContains{"body_contains", "", build_body_contains};
const journeys::CheckKind kNotContains{"body_not_contains", "", build_body_not_contains};
const journeys::CheckKind kRegex{"body_regex", "", build_body_regex};
const journeys::CheckKind kSize{"body_size", "", build_body_size};

class BodyEval : public ::testing::TestWithParam<EvalCase> {};

TEST_P(BodyEval, Verdict) {
  const EvalCase& c = GetParam();
  journeys::CheckPtr check = build_one(c.kind.build, c.value);
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->reason(), "body");
  const journeys::Verdict v = check->evaluate(with_body(c.body), scope());
  EXPECT_EQ(v.outcome, c.outcome) << v.str();
  EXPECT_EQ(v.check, c.kind.key);
  if (c.outcome != Outcome::pass) {
    EXPECT_EQ(v.str(), c.str);
  }
}

const std::string kQuotedBody = "\"" + kBody + "\"";

INSTANTIATE_TEST_SUITE_P(
    Contains, BodyEval,
    ::testing::Values(EvalCase{kContains, R"("order_id")", kBody, Outcome::pass, ""},
                      EvalCase{kContains, R"(["order_id"])", kBody, Outcome::pass, ""},
                      EvalCase{kContains, R"("\"status\": \"ok\"")", kBody, Outcome::pass, ""},
                      EvalCase{kContains, R"("refund")", kBody, Outcome::fail,
                               "body_contains: expected \"refund\", got " + kQuotedBody},
                      EvalCase{kContains, R"("Order_id")", kBody, Outcome::fail,
                               "body_contains: expected \"Order_id\", got " + kQuotedBody},
                      EvalCase{kContains, R"("x")", "", Outcome::fail,
                               "body_contains: expected \"x\", got \"\""},
                      EvalCase{kContains, R"("\"order_id\": {{oid}}")", kBody, Outcome::pass, ""},
                      EvalCase{kContains, R"("{{missing}}")", kBody, Outcome::fail,
                               "body_contains: expected \"refund\", got " + kQuotedBody},
                      EvalCase{kContains, R"("{{unset}}")", kBody, Outcome::error,
                               "body_contains: could not evaluate: variable 'unset' is not set"}));

INSTANTIATE_TEST_SUITE_P(
    NotContains, BodyEval,
    ::testing::Values(
        EvalCase{kNotContains, R"("error")", kBody, Outcome::pass, ""},
        EvalCase{kNotContains, R"("error")", "", Outcome::pass, ""},
        EvalCase{kNotContains, R"("status")", kBody, Outcome::fail,
                 "body_not_contains: expected no \"status\", got " + kQuotedBody + " at byte 18"},
        // The excerpt is the occurrence with 30 bytes of context on each side.
        EvalCase{kNotContains, R"("ERROR")", std::string(50, 'a') + "ERROR" + std::string(50, 'b'),
                 Outcome::fail,
                 "body_not_contains: expected no \"ERROR\", got \"" + std::string(30, 'a') +
                     "ERROR" + std::string(30, 'b') + "\" at byte 50"},
        EvalCase{kNotContains, R"("{{oid}}")", kBody, Outcome::fail,
                 "body_not_contains: expected no \"42\", got " + kQuotedBody + " at byte 13"},
        EvalCase{kNotContains, R"("{{unset}}")", kBody, Outcome::error,
                 "body_not_contains: could not evaluate: variable 'unset' is not set"}));

INSTANTIATE_TEST_SUITE_P(
    Regex, BodyEval,
    ::testing::Values(EvalCase{kRegex, R"('"order_id":\s*\d+')", kBody, Outcome::pass, ""},
                      EvalCase{kRegex, R"('^\{.*\}$')", kBody, Outcome::pass, ""},
                      EvalCase{kRegex, R"('(?i)ORDER')", kBody, Outcome::pass, ""},
                      EvalCase{kRegex, R"('refund_\d+')", kBody, Outcome::fail,
                               "body_regex: expected matches /refund_\\d+/, got " + kQuotedBody},
                      EvalCase{kRegex, R"('^order')", kBody, Outcome::fail,
                               "body_regex: expected matches /^order/, got " + kQuotedBody}));

INSTANTIATE_TEST_SUITE_P(
    Size, BodyEval,
    ::testing::Values(EvalCase{kSize, "{ min = 1 }", "x", Outcome::pass, ""},
                      EvalCase{kSize, "{ min = 1 }", "", Outcome::fail,
                               "body_size: expected >= 1 bytes, got 0 bytes"},
                      EvalCase{kSize, "{ max = 10 }", "0123456789", Outcome::pass, ""},
                      EvalCase{kSize, "{ max = 10 }", kBody, Outcome::fail,
                               "body_size: expected <= 10 bytes, got 32 bytes"},
                      EvalCase{kSize, "{ min = 1, max = 100 }", kBody, Outcome::pass, ""},
                      EvalCase{kSize, "{ max = 100, min = 40 }", kBody, Outcome::fail,
                               "body_size: expected 40..100 bytes, got 32 bytes"},
                      EvalCase{kSize, "{ min = 0, max = 0 }", "", Outcome::pass, ""}));

TEST(Body, EachStringOfAListIsItsOwnCheck) {
  testing::Built built = build(build_body_contains, R"(["order_id", "refund", "status"])");
  ASSERT_TRUE(built.errors.empty());
  ASSERT_EQ(built.checks.size(), 3u);
  const journeys::Response r = with_body(kBody);
  EXPECT_TRUE(built.checks[0]->evaluate(r, scope()).ok());
  EXPECT_EQ(built.checks[1]->evaluate(r, scope()).outcome, Outcome::fail);
  EXPECT_TRUE(built.checks[2]->evaluate(r, scope()).ok());

  testing::Built patterns = build(build_body_regex, R"(['\d+', 'x'])");
  ASSERT_TRUE(patterns.errors.empty());
  ASSERT_EQ(patterns.checks.size(), 2u);
  EXPECT_TRUE(patterns.checks[0]->evaluate(r, scope()).ok());
  EXPECT_FALSE(patterns.checks[1]->evaluate(r, scope()).ok());
}

std::string describe(testing::BuildFn fn, const char* value) {
  journeys::CheckPtr check = build_one(fn, value);
  return check ? check->describe() : "";
}

TEST(Body, Describes) {
  EXPECT_EQ(describe(build_body_contains, R"("{{oid}}")"), "body contains \"{{oid}}\"");
  EXPECT_EQ(describe(build_body_not_contains, R"("error")"), "body does not contain \"error\"");
  EXPECT_EQ(describe(build_body_regex, R"('id=\d+')"), "body matches /id=\\d+/");
  EXPECT_EQ(describe(build_body_size, "{ min = 1, max = 2 }"), "body size 1..2 bytes");
  EXPECT_EQ(describe(build_body_size, "{ min = 1 }"), "body size >= 1 bytes");
}

TEST(Body, LongBodyIsTruncatedInTheVerdict) {
  const std::string body = std::string(5000, 'x') + "\x01";
  journeys::CheckPtr check = build_one(build_body_contains, R"("y")");
  ASSERT_NE(check, nullptr);
  const journeys::Verdict v = check->evaluate(with_body(body), scope());
  EXPECT_EQ(v.actual, "\"" + journeys::truncate_for_display(body) + "\"");
  EXPECT_LT(v.actual.size(), 200u);
}

TEST(Body, NotContainsExcerptStaysOnCharacterBoundaries) {
  // 29 ASCII bytes then "é" (2 bytes): 30 bytes back from the match lands inside the "é".
  const std::string body = "é" + std::string(29, 'a') + "ERROR";
  journeys::CheckPtr check = build_one(build_body_not_contains, R"("ERROR")");
  ASSERT_NE(check, nullptr);
  const journeys::Verdict v = check->evaluate(with_body(body), scope());
  EXPECT_EQ(v.actual, "\"" + body + "\" at byte 31");
}

TEST(Body, SecretExpectedValueIsNeverShown) {
  journeys::CheckPtr check =
      build_one(build_body_contains, R"("{{env.TOKEN}}")", {{"TOKEN", "s3cret"}});
  ASSERT_NE(check, nullptr);
  const journeys::Verdict v = check->evaluate(with_body(kBody), scope());
  EXPECT_EQ(v.str(), "body_contains: expected \"***\", got " + kQuotedBody);
  EXPECT_TRUE(check->evaluate(with_body("..s3cret.."), scope()).ok());
}

struct ErrorCase {
  journeys::CheckKind kind;
  const char* value;
  std::vector<std::string> errors;
  friend void PrintTo(const ErrorCase& c, std::ostream* os) {
    *os << c.kind.key << " = " << c.value;
  }
};

class BodyErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(BodyErrors, ReportedAndNothingBuilt) {
  const ErrorCase& c = GetParam();
  testing::Built built = build(c.kind.build, c.value);
  EXPECT_EQ(built.errors, c.errors);
  EXPECT_TRUE(built.checks.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Contains, BodyErrors,
    ::testing::Values(
        ErrorCase{kContains,
                  "5",
                  {"body_contains must be a string or a list of these, not an integer"}},
        ErrorCase{kContains,
                  "{ text = \"a\" }",
                  {"body_contains must be a string or a list of these, not a table"}},
        ErrorCase{kContains, "[]", {"body_contains: empty list"}},
        ErrorCase{
            kContains, R"(["a", 1])", {"body_contains[1] must be a string, not an integer"}},
        ErrorCase{kContains, R"("")", {"body_contains must not be an empty string"}},
        ErrorCase{
            kNotContains, R"(["a", ""])", {"body_not_contains[1] must not be an empty string"}},
        ErrorCase{kNotContains,
                  "true",
                  {"body_not_contains must be a string or a list of these, not a boolean"}}));

INSTANTIATE_TEST_SUITE_P(
    Regex, BodyErrors,
    ::testing::Values(
        ErrorCase{
            kRegex, R"("a(")", {"body_regex: 'a(' is not a valid RE2 pattern: missing ): a("}},
        ErrorCase{kRegex,
                  R"(["ok", "(?P<x"])",
                  {"body_regex[1]: '(?P<x' is not a valid RE2 pattern: invalid named capture "
                   "group: (?P<x"}},
        ErrorCase{kRegex,
                  R"('a**')",
                  {"body_regex: 'a**' is not a valid RE2 pattern: bad repetition operator: **"}},
        ErrorCase{kRegex,
                  "1",
                  {"body_regex must be a string (an RE2 pattern) or a list of these, not an "
                   "integer"}},
        ErrorCase{
            kRegex, "[1]", {"body_regex[0] must be a string (an RE2 pattern), not an integer"}},
        ErrorCase{kRegex, R"("")", {"body_regex must not be an empty pattern"}},
        ErrorCase{kRegex, "[]", {"body_regex: empty list"}}));

INSTANTIATE_TEST_SUITE_P(
    Size, BodyErrors,
    ::testing::Values(
        ErrorCase{kSize,
                  "5",
                  {"body_size must be a table like { min = 1, max = 65536 }, not an integer"}},
        ErrorCase{kSize, "{}", {"body_size: give min, max or both (in bytes)"}},
        ErrorCase{kSize, "{ min = 10, max = 1 }", {"body_size: min (10) is greater than max (1)"}},
        ErrorCase{kSize, "{ min = -1 }", {"body_size.min must be a non-negative integer"}},
        ErrorCase{kSize,
                  "{ max = 1.5 }",
                  {"body_size.max must be a non-negative integer, not a float"}},
        ErrorCase{kSize, "{ maxx = 5 }", {"body_size: unknown key 'maxx' (did you mean 'max'?)"}},
        ErrorCase{kSize,
                  "{ bytes_limit = 5 }",
                  {"body_size: unknown key 'bytes_limit' (use min, max)"}}));

}  // namespace
}  // namespace checks
