#include "journeys/capture.hpp"

#include <gtest/gtest.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "journeys/check.hpp"

namespace journeys {
namespace {

// Compiles the capture `c = <spec>` (written on line 1 of "t.toml"); errors as str() lines.
struct Compiled {
  std::optional<Capture> capture;
  std::vector<std::string> errors;
};

Compiled compile(const std::string& spec) {
  toml::table doc = toml::parse("c = " + spec + "\n", std::string_view("parser-name.toml"));
  Diagnostics diag("t.toml");
  Compiled out;
  out.capture = Capture::compile("c", *doc.get("c"), diag);
  for (const Diagnostic& d : diag.all())
    out.errors.push_back(d.str());
  return out;
}

Response sample_response() {
  Response r;
  r.status = 503;
  r.headers = {{"Content-Type", "application/json"},
               {"X-Token", "first"},
               {"x-token", "second"},
               {"Set-Cookie", "sid=abc; Path=/; HttpOnly"},
               {"set-cookie", "theme=dark"},
               {"Set-Cookie", " spaced = v 1 ; Secure"},
               {"Set-Cookie", "broken-no-equals"},
               {"Set-Cookie", "sid=def; Max-Age=60"},
               {"Set-Cookie", "empty=; Path=/"}};
  r.body = R"({"order": "order 42 ok", "items": [{"id": 7, "name": "shoe"}], "price": 9.5,
              "ok": true, "none": null, "obj": {"b": [1, 2], "a": "x"}, "uni": "é"})";
  return r;
}

struct ExtractCase {
  std::string spec;
  std::string want;
  std::string describe;
};

class CaptureExtract : public testing::TestWithParam<ExtractCase> {};

TEST_P(CaptureExtract, Extracts) {
  Compiled c = compile(GetParam().spec);
  ASSERT_TRUE(c.capture) << testing::PrintToString(c.errors);
  EXPECT_TRUE(c.errors.empty());
  std::string error = "stale";
  auto value = c.capture->extract(sample_response(), &error);
  ASSERT_TRUE(value) << error;
  EXPECT_EQ(*value, GetParam().want);
  EXPECT_EQ(c.capture->describe(), GetParam().describe);
}

INSTANTIATE_TEST_SUITE_P(
    All, CaptureExtract,
    testing::Values(
        // A JSON string is captured as its text; anything else as compact JSON.
        ExtractCase{R"({ json = "$.items[0].name" })", "shoe", "json $.items[0].name"},
        ExtractCase{R"({ json = "$.items[0].id" })", "7", "json $.items[0].id"},
        ExtractCase{R"({ json = "$.price" })", "9.5", "json $.price"},
        ExtractCase{R"({ json = "$.ok" })", "true", "json $.ok"},
        ExtractCase{R"({ json = "$.none" })", "null", "json $.none"},
        ExtractCase{R"({ json = "$.obj" })", R"({"a":"x","b":[1,2]})", "json $.obj"},
        ExtractCase{R"({ json = "$.uni" })", "é", "json $.uni"},
        ExtractCase{R"({ json = "/items/0/id" })", "7", "json /items/0/id"},
        ExtractCase{R"({ json = "$..id" })", "7", "json $..id"},
        // Headers: case-insensitive, the first one.
        ExtractCase{R"({ header = "x-TOKEN" })", "first", "header x-TOKEN"},
        // Cookies: the last Set-Cookie with the name wins; spaces around name and value go.
        ExtractCase{R"({ cookie = "sid" })", "def", "cookie sid"},
        ExtractCase{R"({ cookie = "theme" })", "dark", "cookie theme"},
        ExtractCase{R"({ cookie = "spaced" })", "v 1", "cookie spaced"},
        ExtractCase{R"({ cookie = "empty" })", "", "cookie empty"},
        // Regex on the body: group 1 by default, 0 for the whole match.
        ExtractCase{R"({ regex = 'order (\d+)' })", "42", "regex 'order (\\d+)'"},
        ExtractCase{R"({ regex = 'order (\d+)', group = 0 })", "order 42",
                    "regex 'order (\\d+)' group 0"},
        ExtractCase{R"({ regex = '(o\w+) (\d+) (ok)', group = 3 })", "ok",
                    "regex '(o\\w+) (\\d+) (ok)' group 3"},
        ExtractCase{R"({ regex = 'order \d+' })", "order 42", "regex 'order \\d+' group 0"},
        ExtractCase{R"({ regex = '"ok": (\w*)', secret = false })", "true",
                    "regex '\"ok\": (\\w*)'"},
        ExtractCase{R"({ status = true })", "503", "status"}));

TEST(Capture, Accessors) {
  Compiled c = compile(R"({ header = "X-Token", secret = true })");
  ASSERT_TRUE(c.capture);
  EXPECT_EQ(c.capture->name(), "c");
  EXPECT_EQ(c.capture->source(), Capture::Source::header);
  EXPECT_TRUE(c.capture->secret());
  EXPECT_EQ(c.capture->pos().file, "t.toml");
  EXPECT_EQ(c.capture->pos().line, 1);
  EXPECT_EQ(c.capture->pos().column, 5);

  Compiled d = compile(R"({ json = "$.a" })");
  ASSERT_TRUE(d.capture);
  EXPECT_FALSE(d.capture->secret());
  EXPECT_EQ(d.capture->source(), Capture::Source::json);
  Capture copy = *d.capture;  // captures are copied into the model
  EXPECT_EQ(copy.describe(), "json $.a");
}

struct ExtractErrorCase {
  std::string spec;
  std::string body;
  std::string error;
};

class CaptureExtractError : public testing::TestWithParam<ExtractErrorCase> {};

TEST_P(CaptureExtractError, ReportsWhatIsMissing) {
  Compiled c = compile(GetParam().spec);
  ASSERT_TRUE(c.capture) << testing::PrintToString(c.errors);
  Response r = sample_response();
  if (!GetParam().body.empty()) r.body = GetParam().body;
  std::string error;
  EXPECT_FALSE(c.capture->extract(r, &error));
  EXPECT_EQ(error, GetParam().error);
  EXPECT_FALSE(c.capture->extract(r, nullptr));
}

INSTANTIATE_TEST_SUITE_P(
    All, CaptureExtractError,
    testing::Values(
        ExtractErrorCase{R"({ json = "$.missing" })", "", "json $.missing: no match"},
        ExtractErrorCase{R"({ json = "$.items[5]" })", "", "json $.items[5]: no match"},
        ExtractErrorCase{R"({ json = "$.id" })", R"({"id": x})",
                         "body is not JSON: syntax error at byte 8"},
        ExtractErrorCase{R"({ json = "$.id" })", " \n", "body is not JSON: empty body"},
        ExtractErrorCase{R"({ header = "X-Missing" })", "", "no header 'X-Missing'"},
        ExtractErrorCase{R"({ cookie = "nope" })", "", "no cookie 'nope'"},
        ExtractErrorCase{R"({ cookie = "Path" })", "", "no cookie 'Path'"},  // not an attribute
        ExtractErrorCase{R"({ regex = 'invoice (\d+)' })", "", "regex 'invoice (\\d+)': no match"},
        ExtractErrorCase{R"({ regex = 'order( x)?' })", "",
                         "regex 'order( x)?': group 1 did not match"}));

class CaptureCompileError
    : public testing::TestWithParam<std::pair<std::string, std::vector<std::string>>> {};

TEST_P(CaptureCompileError, ReportsAtTheNode) {
  Compiled c = compile(GetParam().first);
  EXPECT_FALSE(c.capture);
  EXPECT_EQ(c.errors, GetParam().second);
}

using Errors = std::vector<std::string>;

INSTANTIATE_TEST_SUITE_P(
    All, CaptureCompileError,
    testing::Values(
        std::pair{std::string(R"("$.id")"),
                  Errors{R"(t.toml:1:5: capture 'c': expected a table like { json = "$.id" })"}},
        std::pair{std::string("{}"),
                  Errors{"t.toml:1:5: capture 'c': needs one of json, header, regex, cookie, "
                         "status"}},
        std::pair{std::string(R"({ jsn = "$.id" })"),
                  Errors{"t.toml:1:7: capture 'c': unknown key 'jsn' (did you mean 'json'?)",
                         "t.toml:1:5: capture 'c': needs one of json, header, regex, cookie, "
                         "status"}},
        std::pair{std::string(R"({ json = "$.id", colour = 1 })"),
                  Errors{"t.toml:1:22: capture 'c': unknown key 'colour'"}},
        std::pair{std::string(R"({ json = "$.a", header = "X" })"),
                  Errors{"t.toml:1:5: capture 'c': has several sources (header, json); use "
                         "exactly one"}},
        std::pair{std::string("{ json = 5 }"),
                  Errors{"t.toml:1:14: capture 'c': json must be a string (a JSON path)"}},
        std::pair{std::string(R"({ json = "$.items[0" })"),
                  Errors{"t.toml:1:14: capture 'c': invalid JSON path '$.items[0': at 10: "
                         "expected ']'"}},
        std::pair{std::string("{ regex = ['a'] }"),
                  Errors{"t.toml:1:15: capture 'c': regex must be a string (an RE2 pattern)"}},
        std::pair{std::string("{ regex = 'a(b' }"),
                  Errors{"t.toml:1:15: capture 'c': invalid regex: missing ): a(b"}},
        std::pair{std::string("{ regex = 'a(b)', group = 2 }"),
                  Errors{"t.toml:1:31: capture 'c': group 2 but the regex has 1 group(s)"}},
        std::pair{std::string("{ regex = 'a', group = 1 }"),
                  Errors{"t.toml:1:28: capture 'c': group 1 but the regex has 0 group(s)"}},
        std::pair{std::string("{ regex = 'a', group = -1 }"),
                  Errors{"t.toml:1:28: capture 'c': group must be an integer >= 0 (0 is the "
                         "whole match)"}},
        std::pair{std::string("{ regex = 'a', group = '1' }"),
                  Errors{"t.toml:1:28: capture 'c': group must be an integer >= 0 (0 is the "
                         "whole match)"}},
        std::pair{std::string("{ header = 'X', group = 1 }"),
                  Errors{"t.toml:1:29: capture 'c': group applies only to a regex capture"}},
        std::pair{std::string("{ header = '' }"),
                  Errors{"t.toml:1:16: capture 'c': header name is empty"}},
        std::pair{std::string("{ cookie = 1 }"),
                  Errors{"t.toml:1:16: capture 'c': cookie must be a string"}},
        std::pair{std::string("{ status = false }"),
                  Errors{"t.toml:1:16: capture 'c': status must be true"}},
        std::pair{std::string("{ status = 'yes' }"),
                  Errors{"t.toml:1:16: capture 'c': status must be true"}},
        std::pair{std::string("{ header = 'X', secret = 'yes' }"),
                  Errors{"t.toml:1:30: capture 'c': secret must be true or false"}},
        std::pair{std::string("{ header = 'X', Secret = true }"),
                  Errors{"t.toml:1:21: capture 'c': unknown key 'Secret' (did you mean "
                         "'secret'?)"}}));

// ---- Response: the data captures and checks read ----

TEST(Response, HeadersAreCaseInsensitive) {
  Response r = sample_response();
  ASSERT_NE(r.header("content-type"), nullptr);
  EXPECT_EQ(*r.header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(r.header("Content-Length"), nullptr);
  EXPECT_EQ(r.headers_named("X-TOKEN"), (std::vector<std::string_view>{"first", "second"}));
  EXPECT_EQ(r.headers_named("set-cookie").size(), 6u);
  EXPECT_TRUE(r.headers_named("nope").empty());
}

TEST(Response, Iequals) {
  EXPECT_TRUE(iequals("Set-Cookie", "set-COOKIE"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Set-Cookie", "Set-Cookies"));
  EXPECT_FALSE(iequals("a", "b"));
  EXPECT_FALSE(iequals("\xc3\xa9", "\xc3\x89"));  // ASCII only: é is not É
}

TEST(Response, JsonIsParsedOnceAndCached) {
  Response r;
  r.body = R"({"a": [1, 2]})";
  const nlohmann::json* first = r.json();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first, r.json());
  EXPECT_EQ((*first)["a"][1], 2);
  EXPECT_EQ(r.json_error(), "");

  Response moved = std::move(r);
  EXPECT_EQ(moved.json(), first);  // the cache moves with the response

  Response copy = moved;  // a copy reparses on demand
  ASSERT_NE(copy.json(), nullptr);
  EXPECT_NE(copy.json(), first);
  EXPECT_EQ(*copy.json(), *first);

  Response assigned;
  assigned.body = "not json";
  EXPECT_EQ(assigned.json(), nullptr);
  assigned = copy;
  ASSERT_NE(assigned.json(), nullptr);
  EXPECT_EQ(assigned.body, copy.body);
}

TEST(Response, JsonErrors) {
  struct Case {
    std::string body;
    std::string error;
  };
  for (const Case& c : {
           Case{"", "invalid JSON: empty body"},
           Case{" \r\n\t", "invalid JSON: empty body"},
           Case{R"({"a": 1,)", "invalid JSON: syntax error at byte 9"},
           Case{"<html>secret page</html>", "invalid JSON: syntax error at byte 1"},
           Case{"[1] [2]", "invalid JSON: syntax error at byte 5"},
           Case{"[1e999]", "invalid JSON: number out of range"},
           Case{std::string(600, '[') + std::string(600, ']'),
                "invalid JSON: nested deeper than 512 levels"},
       }) {
    Response r;
    r.body = c.body;
    EXPECT_EQ(r.json(), nullptr) << c.body;
    EXPECT_EQ(r.json_error(), c.error) << c.body;
  }
}

TEST(Response, DepthLimitIgnoresBracketsInStrings) {
  Response r;
  r.body = R"({"s": ")" + std::string(1000, '[') + R"(\"["})";
  ASSERT_NE(r.json(), nullptr) << r.json_error();
  r = Response();
  r.body = std::string(512, '[') + std::string(512, ']');
  EXPECT_NE(r.json(), nullptr) << r.json_error();
}

// ---- Verdict and display truncation (journeys/check.hpp) ----

TEST(Verdict, Str) {
  EXPECT_EQ(Verdict::fail("status", "2xx", "503").str(), "status: expected 2xx, got 503");
  EXPECT_EQ(Verdict::error("json $.id", "body is not JSON (invalid JSON: empty body)").str(),
            "json $.id: could not evaluate: body is not JSON (invalid JSON: empty body)");
  EXPECT_EQ(Verdict::pass("status").str(), "status: ok");
  EXPECT_EQ(Verdict::fail("header X", "exists", "").str(),
            "header X: expected exists, got nothing");
  EXPECT_EQ(Verdict::fail("body", "", "").str(), "body: failed");
  EXPECT_EQ(Verdict::fail("", "2xx", "500").str(), "expected 2xx, got 500");
  EXPECT_TRUE(Verdict::pass("x").ok());
  EXPECT_FALSE(Verdict::error("x", "y").ok());
}

struct TruncateCase {
  std::string in;
  std::size_t max;
  std::string want;
};

class Truncate : public testing::TestWithParam<TruncateCase> {};

TEST_P(Truncate, ForDisplay) {
  EXPECT_EQ(truncate_for_display(GetParam().in, GetParam().max), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    All, Truncate,
    testing::Values(TruncateCase{"", 10, ""}, TruncateCase{"short", 10, "short"},
                    TruncateCase{"exactly10!", 10, "exactly10!"},
                    TruncateCase{"eleven chars", 10, "eleven cha…(12 bytes)"},
                    TruncateCase{"a\nb\tc\rd", 20, "a\\nb\\tc\\rd"},
                    TruncateCase{std::string("nul\0bel\x07"
                                             "del\x7f",
                                             12),
                                 40, "nul\\x00bel\\x07del\\x7f"},
                    // Never split a character or an escape.
                    TruncateCase{"ab\xc3\xa9"
                                 "cd",
                                 3, "ab…(6 bytes)"},
                    TruncateCase{"ab\xc3\xa9"
                                 "cd",
                                 4, "ab\xc3\xa9…(6 bytes)"},
                    TruncateCase{"ab\ncd", 3, "ab…(5 bytes)"},
                    TruncateCase{"\xe2\x82\xac\xf0\x9f\x98\x80", 10,
                                 "\xe2\x82\xac\xf0\x9f\x98\x80"},
                    // Invalid UTF-8 is escaped byte by byte.
                    TruncateCase{"a\xff\xc3(", 20, "a\\xff\\xc3("},
                    TruncateCase{"\xed\xa0\x80", 20, "\\xed\\xa0\\x80"},  // a surrogate
                    TruncateCase{"\xc0\xaf", 20, "\\xc0\\xaf"},           // overlong '/'
                    TruncateCase{"\xe2\x82", 20, "\\xe2\\x82"}));         // cut short

TEST(Truncate, DefaultIs120Bytes) {
  const std::string body(5000, 'x');
  EXPECT_EQ(truncate_for_display(body), std::string(120, 'x') + "…(5000 bytes)");
}

}  // namespace
}  // namespace journeys
