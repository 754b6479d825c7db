#include "journeys/template.hpp"

#include <cstdlib>
#include <ctime>
#include <set>

#include <gtest/gtest.h>
#include <re2/re2.h>

namespace journeys {
namespace {

// A fake environment: tests never read the real one.
EnvLookup fake_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    if (name == "SHOP_URL") return "https://shop.example";
    if (name == "TOKEN") return "s3cr3t";
    if (name == "EMPTY") return "";
    return std::nullopt;
  };
}

Template compile_ok(std::string_view text) {
  std::string error;
  auto t = Template::compile(text, fake_env(), &error);
  EXPECT_TRUE(t) << text << ": " << error;
  return t ? *t : Template();
}

Scope test_scope() {
  Scope s;
  s.set("base", "https://shop.example");
  s.set("product_id", "p 42/x");
  s.set("password", "hunter2", /*secret=*/true);
  s.set("journey", "checkout");
  s.set("a.b-c", "dotted");
  return s;
}

struct RenderCase {
  std::string text;
  std::string value;
  std::string shown;
  bool secret = false;
};

class TemplateRender : public testing::TestWithParam<RenderCase> {};

TEST_P(TemplateRender, Renders) {
  const RenderCase& c = GetParam();
  Template t = compile_ok(c.text);
  Rendered r;
  std::string error = "stale";
  ASSERT_TRUE(t.render(test_scope(), r, &error)) << error;
  EXPECT_EQ(error, "");
  EXPECT_EQ(r.value, c.value);
  EXPECT_EQ(r.shown, c.shown);
  EXPECT_EQ(r.secret, c.secret);
  EXPECT_EQ(t.source(), c.text);
}

INSTANTIATE_TEST_SUITE_P(
    All, TemplateRender,
    testing::Values(
        RenderCase{"plain text", "plain text", "plain text"}, RenderCase{"", "", ""},
        RenderCase{"{{base}}/api", "https://shop.example/api", "https://shop.example/api"},
        RenderCase{"{{ base }}/{{  product_id\t}}", "https://shop.example/p 42/x",
                   "https://shop.example/p 42/x"},
        RenderCase{"{{a.b-c}}", "dotted", "dotted"},
        RenderCase{"{{journey}}", "checkout", "checkout"},
        RenderCase{"q={{product_id | urlencode}}", "q=p%2042%2Fx", "q=p%2042%2Fx"},
        RenderCase{"{{product_id|base64}}", "cCA0Mi94", "cCA0Mi94"},
        RenderCase{"{{ product_id | urlencode | base64 }}", "cCUyMDQyJTJGeA==", "cCUyMDQyJTJGeA=="},
        // Secrets: an env value (secret by default) and a secret scope var.
        RenderCase{"{{env.SHOP_URL}}/x", "https://shop.example/x", "***/x", true},
        RenderCase{"Bearer {{env.TOKEN}}", "Bearer s3cr3t", "Bearer ***", true},
        RenderCase{"{{env.TOKEN | base64}}", "czNjcjN0", "***", true},
        RenderCase{"{{env.TOKEN | urlencode}}", "s3cr3t", "***", true},
        RenderCase{"u={{password}}&p={{password | base64}}",
                   "u=hunter2&p=aHVudGVyMg==", "u=***&p=***", true},
        RenderCase{"[{{env.EMPTY}}]", "[]", "[***]", true},
        // Literal braces.
        RenderCase{R"({{"{{"}})", "{{", "{{"},
        RenderCase{R"(a {{"{{"}}b}} c)", "a {{b}} c", "a {{b}} c"},
        RenderCase{R"({{ "}}" }})", "}}", "}}"},
        RenderCase{R"({{"a b" | urlencode}})", "a%20b", "a%20b"},
        RenderCase{"single { and } and }}", "single { and } and }}", "single { and } and }}"}));

TEST(Template, PublicEnvIsShown) {
  Template t = compile_ok("{{env.TOKEN}}-{{password}}");
  EXPECT_TRUE(t.has_secret());
  Template copy = t;  // shares parts; make_public must not change the copy
  t.make_public();
  EXPECT_FALSE(t.has_secret());
  EXPECT_TRUE(copy.has_secret());

  Rendered r;
  ASSERT_TRUE(t.render(test_scope(), r, nullptr));
  EXPECT_EQ(r.value, "s3cr3t-hunter2");
  EXPECT_EQ(r.shown, "s3cr3t-***");  // the scope var stays secret
  EXPECT_TRUE(r.secret);

  ASSERT_TRUE(copy.render(test_scope(), r, nullptr));
  EXPECT_EQ(r.shown, "***-***");
}

TEST(Template, PublicVarContainingASecretValueIsHidden) {
  Scope s;
  s.set("token", "abc123", true);
  s.set("echo", "you sent abc123");  // a capture that echoed the token
  s.add_secret_value("inline-secret");
  s.set("other", "has inline-secret inside");
  Rendered r;
  ASSERT_TRUE(compile_ok("{{echo}} {{other}}").render(s, r, nullptr));
  EXPECT_EQ(r.value, "you sent abc123 has inline-secret inside");
  EXPECT_EQ(r.shown, "*** ***");
  EXPECT_TRUE(r.secret);
}

TEST(Template, MissingVariable) {
  Template t = compile_ok("{{base}}/{{order_id}}");
  Rendered r;
  std::string error;
  EXPECT_FALSE(t.render(test_scope(), r, &error));
  EXPECT_EQ(error, "variable 'order_id' is not set");
}

TEST(Template, References) {
  Template t = compile_ok(
      "{{base}}/{{location}}/{{uuid}}/{{base}}/{{env.TOKEN}}/{{run_id | urlencode}}/{{journey}}");
  EXPECT_EQ(t.references(), (std::vector<std::string>{"base", "location", "run_id", "journey"}));
  EXPECT_TRUE(compile_ok("{{unix}}{{random_int(1, 2)}}").references().empty());
}

TEST(Template, IsStatic) {
  struct Case {
    std::string text;
    bool is_static;
  };
  for (const Case& c : {Case{"", true}, Case{"plain", true}, Case{"{{env.SHOP_URL}}/a", true},
                        Case{R"({{"{{"}})", true}, Case{"{{base}}", false}, Case{"{{uuid}}", false},
                        Case{"{{timestamp}}", false}, Case{"{{random_int(1, 1)}}", false},
                        Case{"{{location}}", false}}) {
    EXPECT_EQ(compile_ok(c.text).is_static(), c.is_static) << c.text;
  }
  EXPECT_EQ(compile_ok("{{env.SHOP_URL}}/a {{env.TOKEN | base64}}").render_static(),
            "https://shop.example/a czNjcjN0");
}

TEST(Template, Literal) {
  Template t = Template::literal("{{not a template}}");
  EXPECT_TRUE(t.is_static());
  EXPECT_FALSE(t.has_secret());
  EXPECT_TRUE(t.references().empty());
  EXPECT_EQ(t.render_static(), "{{not a template}}");
  Rendered r;
  ASSERT_TRUE(t.render(Scope(), r, nullptr));
  EXPECT_EQ(r.shown, "{{not a template}}");
  EXPECT_EQ(Template::literal("").render_static(), "");
  EXPECT_EQ(Template().render_static(), "");
}

TEST(Template, BuiltinsAreFreshAtEachRender) {
  Template t = compile_ok("{{uuid}} {{unix}} {{unix_ms}} {{timestamp}} {{random_int(-3, 3)}}");
  const RE2 shape(
      "([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}) ([0-9]{10}) "
      "([0-9]{13}) (\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z) (-?[0-3])");
  ASSERT_TRUE(shape.ok());
  std::set<std::string> uuids;
  std::set<long long> ints;
  for (int i = 0; i < 200; ++i) {
    Rendered r;
    ASSERT_TRUE(t.render(Scope(), r, nullptr));
    std::string uuid, unix_s, unix_ms, ts;
    long long n = 0;
    ASSERT_TRUE(RE2::FullMatch(r.value, shape, &uuid, &unix_s, &unix_ms, &ts, &n)) << r.value;
    EXPECT_EQ(r.shown, r.value);
    EXPECT_FALSE(r.secret);
    EXPECT_LE(std::abs(std::stoll(unix_ms) / 1000 - std::stoll(unix_s)), 1);  // the same clock
    uuids.insert(uuid);
    ints.insert(n);
  }
  EXPECT_EQ(uuids.size(), 200u);
  EXPECT_EQ(ints.size(), 7u);  // -3..3 all hit in 200 draws (miss chance ~1e-13)
}

TEST(Template, TimestampMatchesUnix) {
  Template t = compile_ok("{{unix}} {{timestamp}}");
  Rendered r;
  ASSERT_TRUE(t.render(Scope(), r, nullptr));
  const auto space = r.value.find(' ');
  const std::time_t secs = std::stoll(r.value.substr(0, space));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char want[32];
  std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
  // The two built-ins are read a moment apart; tolerate a second boundary in between.
  if (r.value.substr(space + 1) != want) {
    const std::time_t next = secs + 1;
    gmtime_r(&next, &tm);
    std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
  }
  EXPECT_EQ(r.value.substr(space + 1), want);
}

TEST(Template, CopiesShareParts) {
  Template t = compile_ok("{{base}}/x");
  Template copy = t;
  Rendered a, b;
  ASSERT_TRUE(t.render(test_scope(), a, nullptr));
  ASSERT_TRUE(copy.render(test_scope(), b, nullptr));
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(copy.references(), t.references());
}

struct ErrorCase {
  std::string text;
  std::string error;
};

class TemplateError : public testing::TestWithParam<ErrorCase> {};

TEST_P(TemplateError, Rejects) {
  std::string error;
  EXPECT_FALSE(Template::compile(GetParam().text, fake_env(), &error));
  EXPECT_EQ(error, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    All, TemplateError,
    testing::Values(
        ErrorCase{"abc{{base", "unterminated '{{' at column 4"},
        ErrorCase{"{{", "unterminated '{{' at column 1"},
        ErrorCase{"{{base}} {{x", "unterminated '{{' at column 10"},
        ErrorCase{R"({{"}})", "unterminated '{{' at column 1"}, ErrorCase{"{{}}", "empty '{{ }}'"},
        ErrorCase{"{{  }}", "empty '{{ }}'"},
        ErrorCase{"{{1abc}}", "expected a name in '{{1abc}}'"},
        ErrorCase{"{{ | base64}}", "expected a name in '{{ | base64}}'"},
        ErrorCase{"{{a b}}", "unexpected 'b' in '{{a b}}'"},
        ErrorCase{"{{a!}}", "unexpected '!' in '{{a!}}'"},
        ErrorCase{"{{env.MISSING}}", "environment variable 'MISSING' is not set"},
        ErrorCase{"{{env.}}", "invalid environment variable name ''"},
        ErrorCase{"{{env.A.B}}", "invalid environment variable name 'A.B'"},
        ErrorCase{"{{env}}", "'env' needs a variable name: {{env.NAME}}"},
        ErrorCase{"{{x | upper}}", "unknown filter 'upper' (use urlencode, base64)"},
        ErrorCase{"{{x |}}", "expected a filter name after '|' in '{{x |}}'"},
        ErrorCase{"{{x | base64 y}}", "unexpected 'y' in '{{x | base64 y}}'"},
        ErrorCase{"{{now()}}", "unknown function 'now' (only random_int(a, b))"},
        ErrorCase{"{{random_int}}", "random_int needs bounds: random_int(1, 100)"},
        ErrorCase{"{{random_int()}}", "random_int takes two integers: random_int(1, 100)"},
        ErrorCase{"{{random_int(1)}}", "random_int takes two integers: random_int(1, 100)"},
        ErrorCase{"{{random_int(1, x)}}", "random_int takes two integers: random_int(1, 100)"},
        ErrorCase{"{{random_int(1, 2, 3)}}", "random_int takes two integers: random_int(1, 100)"},
        ErrorCase{"{{random_int(1, 99999999999999999999)}}",
                  "random_int takes two integers: random_int(1, 100)"},
        ErrorCase{"{{random_int(5, 1)}}",
                  "random_int(5, 1): the first bound is greater than the second"}));

TEST(Template, EnvLookupIsCalledAtCompileTimeOnly) {
  int calls = 0;
  EnvLookup env = [&](std::string_view) -> std::optional<std::string> {
    ++calls;
    return "v";
  };
  auto t = Template::compile("{{env.A}}{{env.B}}", env, nullptr);
  ASSERT_TRUE(t);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(t->render_static(), "vv");
  EXPECT_EQ(calls, 2);
}

TEST(Template, ProcessEnv) {
  ::setenv("PROBER_TEMPLATE_TEST_VAR", "from-env", 1);
  ::unsetenv("PROBER_TEMPLATE_TEST_UNSET");
  EnvLookup env = process_env();
  EXPECT_EQ(env("PROBER_TEMPLATE_TEST_VAR"), "from-env");
  EXPECT_EQ(env("PROBER_TEMPLATE_TEST_UNSET"), std::nullopt);
}

TEST(Scope, SetGetSecret) {
  Scope s;
  EXPECT_EQ(s.get("a"), nullptr);
  EXPECT_FALSE(s.is_secret("a"));
  s.set("a", "1");
  s.set("b", "2", true);
  ASSERT_NE(s.get("a"), nullptr);
  EXPECT_EQ(*s.get("a"), "1");
  EXPECT_FALSE(s.is_secret("a"));
  EXPECT_TRUE(s.is_secret("b"));
  s.set("a", "3", true);  // overwritten, now secret
  EXPECT_EQ(*s.get("a"), "3");
  EXPECT_TRUE(s.is_secret("a"));
}

TEST(Scope, Redact) {
  Scope s;
  EXPECT_EQ(s.redact("nothing to hide"), "nothing to hide");
  s.set("token", "abc", true);
  s.set("long_token", "abcdef", true);
  s.set("public", "visible");
  s.set("empty_secret", "", true);  // must not match everywhere
  s.add_secret_value("p@ss");
  s.add_secret_value("");  // ignored
  s.add_secret_value("p@ss");
  EXPECT_EQ(s.redact("abcdef abc ab p@ss visible"), "*** *** ab *** visible");
  EXPECT_EQ(s.redact("abcabc"), "******");
  EXPECT_EQ(s.redact("xabcdefx"), "x***x");  // the longer secret wins, not "***defx"
  EXPECT_EQ(s.redact(""), "");
}

struct EncodeCase {
  std::string in;
  std::string url;
  std::string b64;
};

class Encode : public testing::TestWithParam<EncodeCase> {};

TEST_P(Encode, UrlAndBase64) {
  EXPECT_EQ(url_encode(GetParam().in), GetParam().url);
  EXPECT_EQ(base64_encode(GetParam().in), GetParam().b64);
}

INSTANTIATE_TEST_SUITE_P(
    All, Encode,
    testing::Values(EncodeCase{"", "", ""}, EncodeCase{"f", "f", "Zg=="},
                    EncodeCase{"fo", "fo", "Zm8="}, EncodeCase{"foo", "foo", "Zm9v"},
                    EncodeCase{"foob", "foob", "Zm9vYg=="},
                    EncodeCase{"AZaz09-._~", "AZaz09-._~", "QVphejA5LS5ffg=="},
                    EncodeCase{"a b&c=d/e?", "a%20b%26c%3Dd%2Fe%3F", "YSBiJmM9ZC9lPw=="},
                    EncodeCase{"é", "%C3%A9", "w6k="},
                    EncodeCase{std::string("\0\xff", 2), "%00%FF", "AP8="}));

}  // namespace
}  // namespace journeys
