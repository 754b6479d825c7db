// `json`: one check per predicate; definite and multi-node paths; load-time errors.
#include "checks/kinds.hpp"

#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "checks/builder_fake.hpp"
#include "journeys/jsonpath.hpp"

namespace checks {
namespace {

using journeys::Outcome;
using testing::build;
using testing::build_one;

const std::string kDoc = R"({
  "id": 42, "name": "Widget", "price": 9.5, "ok": true, "none": null,
  "tags": ["a", "b"], "items": [{"id": 1, "price": 3}, {"id": 2, "price": 0}],
  "big": 9007199254740993, "neg": -3, "whole": 2.0, "uni": "h\u00e9llo", "obj": {"k": 1},
  "sid": "42", "empty": []
})";

journeys::Response with_body(std::string body) {
  journeys::Response r;
  r.status = 200;
  r.body = std::move(body);
  return r;
}

journeys::Scope scope() {
  journeys::Scope s;
  s.set("want_id", "42");
  s.set("name", "Widget");
  s.set("tag", "b");
  return s;
}

struct EvalCase {
  const char* entry;  // one table of the json list
  Outcome outcome;
  std::string str;  // Verdict::str() unless it passes
  friend void PrintTo(const EvalCase& c, std::ostream* os) { *os << c.entry; }
};

class JsonEval : public ::testing::TestWithParam<EvalCase> {};

TEST_P(JsonEval, Verdict) {
  const EvalCase& c = GetParam();
  journeys::CheckPtr check = build_one(build_json, std::string("[ ") + c.entry + " ]");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->reason(), "json");
  const journeys::Verdict v = check->evaluate(with_body(kDoc), scope());
  EXPECT_EQ(v.outcome, c.outcome) << v.str();
  if (c.outcome != Outcome::pass) {
    EXPECT_EQ(v.str(), c.str);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Exists, JsonEval,
    ::testing::Values(EvalCase{R"({ path = "$.id", exists = true })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.none", exists = true })", Outcome::pass, ""},
                      EvalCase{R"({ path = "/items/0/id", exists = true })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.nope", exists = true })", Outcome::fail,
                               "json $.nope: expected exists, got no match"},
                      EvalCase{R"({ path = "$.items[*].id", exists = true })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.empty[*]", exists = true })", Outcome::fail,
                               "json $.empty[*]: expected exists, got no match"},
                      EvalCase{R"({ path = "$.nope", exists = false })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.id", exists = false })", Outcome::fail,
                               "json $.id: expected does not exist, got 42"},
                      EvalCase{R"({ path = "$.items[*].id", exists = false })", Outcome::fail,
                               "json $.items[*].id: expected does not exist, got 2 nodes"}));

INSTANTIATE_TEST_SUITE_P(
    Count, JsonEval,
    ::testing::Values(EvalCase{R"({ path = "$.items[*]", count = 2 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$..id", count = 3 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.nope", count = 0 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.items[*]", count = 3 })", Outcome::fail,
                               "json $.items[*]: expected count 3, got count 2"}));

INSTANTIATE_TEST_SUITE_P(
    Equals, JsonEval,
    ::testing::Values(
        EvalCase{R"({ path = "$.id", equals = 42 })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.id", equals = 42.0 })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.whole", equals = 2 })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.price", equals = 9.5 })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.ok", equals = true })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.name", equals = "Widget" })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.tags", equals = ["a", "b"] })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.obj", equals = { k = 1.0 } })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.items[0]", equals = { id = 1, price = 3 } })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.id", equals = 43 })", Outcome::fail,
                 "json $.id: expected 43, got 42"},
        EvalCase{R"({ path = "$.name", equals = "Gadget" })", Outcome::fail,
                 R"(json $.name: expected "Gadget", got "Widget")"},
        EvalCase{R"({ path = "$.tags", equals = ["b", "a"] })", Outcome::fail,
                 R"(json $.tags: expected ["b","a"], got ["a","b"])"},
        // A literal string is not a number.
        EvalCase{R"({ path = "$.id", equals = "42" })", Outcome::fail,
                 R"(json $.id: expected "42", got 42)"},
        EvalCase{R"({ path = "$.nope", equals = 1 })", Outcome::fail,
                 "json $.nope: expected 1, got no match"},
        EvalCase{R"({ path = "$.items[*].price", equals = 3 })", Outcome::fail,
                 "json $.items[*].price: expected 3, got 0 (node 2 of 2)"},
        EvalCase{R"({ path = "$.empty[*]", equals = 1 })", Outcome::fail,
                 "json $.empty[*]: expected 1, got no match"},
        // Templates: a captured value is text, and also equals the number it was taken from.
        EvalCase{R"({ path = "$.name", equals = "{{name}}" })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.id", equals = "{{want_id}}" })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.sid", equals = "{{want_id}}" })", Outcome::pass, ""},
        EvalCase{R"({ path = "$.price", equals = "{{want_id}}" })", Outcome::fail,
                 R"(json $.price: expected "42", got 9.5)"},
        EvalCase{R"({ path = "$.name", equals = "{{unset}}" })", Outcome::error,
                 "json $.name: could not evaluate: variable 'unset' is not set"}));

INSTANTIATE_TEST_SUITE_P(
    Type, JsonEval,
    ::testing::Values(EvalCase{R"({ path = "$.id", type = "integer" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.whole", type = "integer" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.id", type = "number" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.price", type = "number" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.name", type = "string" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.ok", type = "boolean" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.tags", type = "array" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.obj", type = "object" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.none", type = "null" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.items[*].id", type = "integer" })", Outcome::pass,
                               ""},
                      EvalCase{R"({ path = "$.price", type = "integer" })", Outcome::fail,
                               "json $.price: expected type integer, got number 9.5"},
                      EvalCase{R"({ path = "$.id", type = "string" })", Outcome::fail,
                               "json $.id: expected type string, got integer 42"},
                      EvalCase{R"({ path = "$.none", type = "object" })", Outcome::fail,
                               "json $.none: expected type object, got null"},
                      EvalCase{R"({ path = "$.name", type = "null" })", Outcome::fail,
                               R"(json $.name: expected type null, got string "Widget")"}));

INSTANTIATE_TEST_SUITE_P(
    Matches, JsonEval,
    ::testing::Values(EvalCase{R"({ path = "$.name", matches = '^Wid' })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.tags[*]", matches = '^[a-z]$' })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.name", matches = '^Gad' })", Outcome::fail,
                               R"(json $.name: expected matches /^Gad/, got "Widget")"},
                      EvalCase{R"({ path = "$.id", matches = '4' })", Outcome::fail,
                               "json $.id: expected matches /4/, got integer 42"}));

INSTANTIATE_TEST_SUITE_P(
    Contains, JsonEval,
    ::testing::Values(EvalCase{R"({ path = "$.name", contains = "idg" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.tags", contains = "b" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.tags", contains = "{{tag}}" })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.items", contains = { id = 2, price = 0 } })",
                               Outcome::pass, ""},
                      EvalCase{R"({ path = "$.name", contains = "xyz" })", Outcome::fail,
                               R"(json $.name: expected contains "xyz", got "Widget")"},
                      EvalCase{R"({ path = "$.tags", contains = "c" })", Outcome::fail,
                               R"(json $.tags: expected contains "c", got ["a","b"])"},
                      EvalCase{R"({ path = "$.tags", contains = 5 })", Outcome::fail,
                               R"(json $.tags: expected contains 5, got ["a","b"])"},
                      EvalCase{R"({ path = "$.id", contains = "4" })", Outcome::fail,
                               R"(json $.id: expected contains "4", got integer 42)"},
                      EvalCase{R"({ path = "$.name", contains = "{{unset}}" })", Outcome::error,
                               "json $.name: could not evaluate: variable 'unset' is not set"}));

INSTANTIATE_TEST_SUITE_P(
    Length, JsonEval,
    ::testing::Values(EvalCase{R"({ path = "$.name", length = 6 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.uni", length = 5 })", Outcome::pass,
                               ""},  // code points
                      EvalCase{R"({ path = "$.tags", length = 2 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.obj", length = 1 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.empty", length = 0 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.tags", length = 3 })", Outcome::fail,
                               "json $.tags: expected length 3, got length 2"},
                      EvalCase{R"({ path = "$.id", length = 2 })", Outcome::fail,
                               "json $.id: expected length 2, got integer 42"}));

INSTANTIATE_TEST_SUITE_P(
    Compare, JsonEval,
    ::testing::Values(EvalCase{R"({ path = "$.price", gt = 9 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.price", gt = 9.5 })", Outcome::fail,
                               "json $.price: expected > 9.5, got 9.5"},
                      EvalCase{R"({ path = "$.price", ge = 9.5 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.price", lt = 10 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.price", le = 9 })", Outcome::fail,
                               "json $.price: expected <= 9, got 9.5"},
                      EvalCase{R"({ path = "$.neg", lt = 0 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.neg", ge = -3 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.id", lt = 42.5 })", Outcome::pass, ""},
                      // Beyond 2^53 integers still compare exactly.
                      EvalCase{R"({ path = "$.big", gt = 9007199254740992 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.big", le = 9007199254740992 })", Outcome::fail,
                               "json $.big: expected <= 9007199254740992, got 9007199254740993"},
                      EvalCase{R"({ path = "$.items[*].price", ge = 0 })", Outcome::pass, ""},
                      EvalCase{R"({ path = "$.items[*].price", gt = 0 })", Outcome::fail,
                               "json $.items[*].price: expected > 0, got 0 (node 2 of 2)"},
                      EvalCase{R"({ path = "$.name", gt = 1 })", Outcome::fail,
                               R"(json $.name: expected > 1, got string "Widget")"},
                      EvalCase{R"({ path = "$.none", lt = 1 })", Outcome::fail,
                               "json $.none: expected < 1, got null"}));

TEST(Json, BodyThatIsNotJsonCannotBeEvaluated) {
  journeys::CheckPtr check = build_one(build_json, R"([ { path = "$.id", exists = false } ])");
  ASSERT_NE(check, nullptr);
  const journeys::Response r = with_body("<html>oops</html>");
  const journeys::Verdict v = check->evaluate(r, scope());
  EXPECT_EQ(v.outcome, Outcome::error);
  ASSERT_EQ(r.json(), nullptr);
  EXPECT_EQ(v.str(), "json $.id: could not evaluate: body is not JSON (" +
                         journeys::truncate_for_display(r.json_error()) + ")");
}

TEST(Json, EachPredicateIsItsOwnCheckInFileOrder) {
  testing::Built built =
      build(build_json, R"([ { path = "$.id", type = "integer", gt = 0, lt = 10 }, )"
                        R"({ path = "$.name", exists = true } ])");
  ASSERT_TRUE(built.errors.empty()) << ::testing::PrintToString(built.errors);
  ASSERT_EQ(built.checks.size(), 4u);
  EXPECT_EQ(built.checks[0]->describe(), "json $.id type integer");
  EXPECT_EQ(built.checks[1]->describe(), "json $.id > 0");
  EXPECT_EQ(built.checks[2]->describe(), "json $.id < 10");
  EXPECT_EQ(built.checks[3]->describe(), "json $.name exists");
  const journeys::Response r = with_body(kDoc);
  EXPECT_TRUE(built.checks[0]->evaluate(r, scope()).ok());
  EXPECT_TRUE(built.checks[1]->evaluate(r, scope()).ok());
  EXPECT_EQ(built.checks[2]->evaluate(r, scope()).str(), "json $.id: expected < 10, got 42");
  EXPECT_TRUE(built.checks[3]->evaluate(r, scope()).ok());
}

TEST(Json, Describes) {
  auto describe = [](const char* entry) {
    journeys::CheckPtr c = build_one(build_json, std::string("[ ") + entry + " ]");
    return c ? c->describe() : "";
  };
  EXPECT_EQ(describe(R"({ path = "$.a", equals = "{{x}}" })"), "json $.a equals \"{{x}}\"");
  EXPECT_EQ(describe(R"({ path = "$.a", equals = [1, "b"] })"), "json $.a equals [1,\"b\"]");
  EXPECT_EQ(describe(R"({ path = "$.a", contains = "b" })"), "json $.a contains \"b\"");
  EXPECT_EQ(describe(R"({ path = "$.a", contains = 1 })"), "json $.a contains 1");
  EXPECT_EQ(describe(R"({ path = "$.a", matches = 'z+' })"), "json $.a matches /z+/");
  EXPECT_EQ(describe(R"({ path = "$.a", length = 2 })"), "json $.a length 2");
  EXPECT_EQ(describe(R"({ path = "$.a", count = 1 })"), "json $.a count 1");
  EXPECT_EQ(describe(R"({ path = "$.a", exists = false })"), "json $.a does not exist");
  EXPECT_EQ(describe(R"({ path = "$.a", ge = 1.5 })"), "json $.a >= 1.5");
  EXPECT_EQ(describe(R"({ path = "$.a", le = -2 })"), "json $.a <= -2");
}

TEST(Json, SecretExpectedValueIsNeverShown) {
  journeys::CheckPtr check = build_one(
      build_json, R"([ { path = "$.name", equals = "{{env.TOKEN}}" } ])", {{"TOKEN", "s3cret"}});
  ASSERT_NE(check, nullptr);
  const journeys::Verdict v = check->evaluate(with_body(kDoc), scope());
  EXPECT_EQ(v.str(), R"(json $.name: expected "***", got "Widget")");
  EXPECT_TRUE(check->evaluate(with_body(R"({"name": "s3cret"})"), scope()).ok());
}

TEST(Json, LargeNodesAreTruncated) {
  const std::string body = R"({"a": ")" + std::string(1000, 'x') + R"("})";
  journeys::CheckPtr check = build_one(build_json, R"([ { path = "$.a", equals = 1 } ])");
  ASSERT_NE(check, nullptr);
  const journeys::Verdict v = check->evaluate(with_body(body), scope());
  EXPECT_EQ(v.outcome, Outcome::fail);
  EXPECT_LT(v.actual.size(), 200u);
}

struct ErrorCase {
  const char* value;  // json = value
  std::vector<std::string> errors;
  friend void PrintTo(const ErrorCase& c, std::ostream* os) { *os << "json = " << c.value; }
};

class JsonErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(JsonErrors, ReportedAndNothingBuilt) {
  const ErrorCase& c = GetParam();
  testing::Built built = build(build_json, c.value);
  EXPECT_EQ(built.errors, c.errors);
  EXPECT_TRUE(built.checks.empty());
}

const std::string kPredicates =
    "exists, equals, type, matches, contains, length, count, gt, ge, lt, le";

INSTANTIATE_TEST_SUITE_P(
    Shape, JsonErrors,
    ::testing::Values(
        ErrorCase{R"({ path = "$.id", exists = true })",
                  {R"(json must be a list of tables like [ { path = "$.id", exists = true } ], )"
                   "not a table"}},
        ErrorCase{"[]", {"json: empty list"}},
        ErrorCase{
            R"(["$.id"])",
            {R"(json[0] must be a table like { path = "$.id", exists = true }, not a string)"}},
        ErrorCase{"[ { exists = true } ]",
                  {R"(json[0]: missing path (e.g. path = "$.items[0].id"))"}},
        ErrorCase{R"([ { path = "$.id" } ])", {"json[0]: no predicate (use " + kPredicates + ")"}},
        ErrorCase{R"([ { path = "$.id", exists = true }, { path = "$.id", equls = 1 } ])",
                  {"json[1]: unknown predicate 'equls' (did you mean 'equals'?)"}},
        ErrorCase{R"([ { pth = "$.id", exists = true } ])",
                  {"json[0]: unknown predicate 'pth' (did you mean 'path'?)",
                   R"(json[0]: missing path (e.g. path = "$.items[0].id"))"}},
        ErrorCase{R"([ { path = "$.id", frobnicate = 1 } ])",
                  {"json[0]: unknown predicate 'frobnicate' (use " + kPredicates + ")"}},
        ErrorCase{"[ { path = 5, exists = true } ]",
                  {R"(json[0].path must be a string like "$.items[0].id", not an integer)"}},
        ErrorCase{R"([ { path = "$.id", exists = false, equals = 1 } ])",
                  {"json[0]: exists = false contradicts equals"}}));

INSTANTIATE_TEST_SUITE_P(
    Predicates, JsonErrors,
    ::testing::Values(
        ErrorCase{R"([ { path = "$.id", exists = "yes" } ])",
                  {"json[0].exists must be a boolean, not a string"}},
        ErrorCase{R"([ { path = "$.id", type = "strin" } ])",
                  {"json[0].type: unknown type 'strin' (did you mean 'string'?)"}},
        ErrorCase{R"([ { path = "$.id", type = "date" } ])",
                  {"json[0].type: unknown type 'date' (use string, number, integer, boolean, "
                   "array, object, null)"}},
        ErrorCase{R"([ { path = "$.id", type = 1 } ])",
                  {"json[0].type must be a string (string, number, integer, boolean, array, "
                   "object, null), not an integer"}},
        ErrorCase{R"([ { path = "$.id", matches = "a(" } ])",
                  {"json[0].matches: 'a(' is not a valid RE2 pattern: missing ): a("}},
        ErrorCase{R"([ { path = "$.id", matches = 1 } ])",
                  {"json[0].matches must be a string (an RE2 pattern), not an integer"}},
        ErrorCase{R"([ { path = "$.id", length = -1 } ])",
                  {"json[0].length must be a non-negative integer"}},
        ErrorCase{R"([ { path = "$.id", count = "2" } ])",
                  {"json[0].count must be a non-negative integer, not a string"}},
        ErrorCase{R"([ { path = "$.id", gt = "5" } ])",
                  {"json[0].gt must be a number, not a string"}},
        ErrorCase{R"([ { path = "$.id", le = nan } ])", {"json[0].le must be a finite number"}},
        ErrorCase{R"([ { path = "$.id", equals = 1979-05-27 } ])",
                  {"json[0].equals must be a JSON value (write dates and times as strings), "
                   "not a date"}},
        ErrorCase{R"([ { path = "$.id", equals = [1, inf] } ])",
                  {"json[0].equals[1]: nan and inf are not JSON numbers"}},
        ErrorCase{R"([ { path = "$.id", contains = { at = 07:32:00 } } ])",
                  {"json[0].contains.at must be a JSON value (write dates and times as strings), "
                   "not a time"}},
        ErrorCase{R"([ { path = "$.id", gt = true, lt = "x" } ])",
                  {"json[0].gt must be a number, not a boolean",
                   "json[0].lt must be a number, not a string"}}));

TEST(Json, BadPathReportsTheParsersError) {
  std::string parser_error;
  ASSERT_FALSE(journeys::JsonPath::compile("$.items[", &parser_error));
  testing::Built built = build(build_json, R"([ { path = "$.items[", exists = true } ])");
  EXPECT_EQ(built.errors, std::vector<std::string>{"json[0].path: '$.items[' is not a valid JSON "
                                                   "path: " +
                                                   parser_error});
  EXPECT_TRUE(built.checks.empty());
}

TEST(Json, ErrorIsReportedAtTheOffendingKey) {
  testing::Built built = build(build_json, R"([ { path = "$.id", equls = 1 } ])");
  ASSERT_EQ(built.diagnostics.size(), 1u);
  EXPECT_EQ(built.diagnostics[0].pos.line, 1);
  EXPECT_EQ(built.diagnostics[0].pos.column, 24);  // v = [ { path = "$.id", equls = 1 } ]
}

TEST(Json, TemplateErrorIsReportedByTheBuilder) {
  testing::Built built = build(build_json, R"([ { path = "$.id", equals = "{{env.NOPE}}" } ])");
  EXPECT_EQ(built.errors.size(), 1u);
  EXPECT_TRUE(built.checks.empty());
}

}  // namespace
}  // namespace checks
