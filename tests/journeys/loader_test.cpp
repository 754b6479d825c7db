// The journey loader: every error class with its exact message and position, the merging
// of [defaults], vars, secrets, JSON bodies, SLOs and loading files and folders.
#include "journeys/loader.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "checks/registry.hpp"
#include "journeys/duration.hpp"

namespace journeys {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A fake environment: tests never read the real one.
EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

LoadOptions options() {
  LoadOptions o;
  o.checks = &checks::catalog();
  o.env = fake_env({{"SHOP_URL", "https://shop.test"}, {"SHOP_USER", "alice"}});
  return o;
}

Journey load(std::string_view text) {
  return load_journey_string(text, "j.toml", options());
}

// Every diagnostic of a text that must not load, as "file:line:col: context: message".
std::vector<std::string> errors_of(std::string_view text) {
  try {
    load(text);
  } catch (const LoadError& e) {
    std::vector<std::string> out;
    for (const Diagnostic& d : e.diagnostics())
      out.push_back(d.str());
    return out;
  }
  ADD_FAILURE() << "loaded without errors:\n" << text;
  return {};
}

std::vector<std::string> warnings_of(const Journey& j) {
  std::vector<std::string> out;
  for (const Diagnostic& d : j.warnings)
    out.push_back(d.str());
  return out;
}

std::string duration_error(std::string_view text) {
  std::string err;
  EXPECT_FALSE(parse_duration(text, &err));
  return err;
}

struct ErrorCase {
  std::string name;
  std::string toml;
  std::vector<std::string> expected;
};

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class LoaderErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(LoaderErrors, ReportsExactDiagnostics) {
  EXPECT_EQ(errors_of(GetParam().toml), GetParam().expected);
}

// A valid first step, appended where a case needs one to be otherwise correct.
const std::string kStep = R"(
[[steps]]
name = "a"
request = { url = "http://x.test" }
)";

std::vector<ErrorCase> error_cases() {
  return {
      // --- top level
      {"unknown_key",
       "name = \"j\"\nintervall = \"30s\"\n" + kStep,
       {"j.toml:2:13: unknown key 'intervall' (did you mean 'interval'?)"}},
      {"unknown_key_without_hint",
       "name = \"j\"\ncolour = \"red\"\n" + kStep,
       {"j.toml:2:10: unknown key 'colour'"}},
      {"interval_type",
       "name = \"j\"\ninterval = 30\n" + kStep,
       {"j.toml:2:12: 'interval' must be a string (a duration like \"30s\"), not an integer"}},
      {"interval_bad_duration",
       "name = \"j\"\ninterval = \"30x\"\n" + kStep,
       {"j.toml:2:12: 'interval': " + duration_error("30x")}},
      {"interval_below_1ms",
       "name = \"j\"\ninterval = \"500us\"\n" + kStep,
       {"j.toml:2:12: 'interval' must be at least 1ms, not 500us"}},
      {"timeout_zero",
       "name = \"j\"\ntimeout = \"0s\"\n" + kStep,
       {"j.toml:2:11: 'timeout' must be greater than 0"}},
      {"missing_name", "interval = \"30s\"\n" + kStep, {"j.toml:1:1: missing required key 'name'"}},
      {"name_type", "name = 7\n" + kStep, {"j.toml:1:8: 'name' must be a string, not an integer"}},
      {"bad_journey_name",
       "name = \"my journey\"\n" + kStep,
       {"j.toml:1:8: invalid journey name 'my journey': use letters, digits, '_', '-' and '.'"}},
      {"tags_type",
       "name = \"j\"\ntags = \"shop\"\n" + kStep,
       {"j.toml:2:8: 'tags' must be an array of strings, not a string"}},
      {"locations_element",
       "name = \"j\"\nlocations = [\"a\", 2]\n" + kStep,
       {"j.toml:2:19: 'locations' must contain only strings, not an integer"}},
      {"reuse_connections_type",
       "name = \"j\"\nreuse_connections = \"no\"\n" + kStep,
       {"j.toml:2:21: 'reuse_connections' must be a boolean, not a string"}},
      {"no_steps",
       "name = \"j\"\ninterval = \"30s\"\n",
       {"j.toml:1:1: a journey needs at least one step ([[steps]])"}},
      {"empty_steps",
       "name = \"j\"\nsteps = []\n",
       {"j.toml:2:9: a journey needs at least one step ([[steps]])"}},
      {"steps_type",
       "name = \"j\"\nsteps = 3\n",
       {"j.toml:2:9: 'steps' must be an array of tables ([[steps]]), not an integer"}},
      {"step_not_table",
       "name = \"j\"\nsteps = [1]\n",
       {"j.toml:2:10: each step must be a table, not an integer"}},

      // --- [vars]
      {"var_defined_later",
       "name = \"j\"\n[vars]\ncart = \"{{base}}/cart\"\nbase = \"http://x.test\"\n" + kStep,
       {"j.toml:3:8: vars: '{{base}}' is defined only later in [vars]"}},
      {"var_self_reference",
       "name = \"j\"\n[vars]\nbase = \"{{base}}\"\n" + kStep,
       {"j.toml:3:8: vars: '{{base}}' is used in its own definition"}},
      {"var_uses_capture",
       "name = \"j\"\n[vars]\nx = \"{{token}}\"\n" + kStep +
           "capture = { token = { header = \"X-Token\" } }\n",
       {"j.toml:3:5: vars: '{{token}}' is captured only by a later step 'a'"}},
      {"env_unset",
       "name = \"j\"\n[vars]\nkey = \"{{env.API_KEY}}\"\n" + kStep,
       {"j.toml:3:7: vars: environment variable 'API_KEY' is not set"}},
      {"var_reserved",
       "name = \"j\"\n[vars]\njourney = \"x\"\n" + kStep,
       {"j.toml:3:11: vars: 'journey' is a reserved name"}},
      {"var_bad_name",
       "name = \"j\"\n[vars]\n\"my var\" = \"x\"\n" + kStep,
       {"j.toml:3:12: vars: invalid variable name 'my var': use a letter, then letters, digits, "
        "'_' or '-'"}},
      {"var_type",
       "name = \"j\"\n[vars]\nport = 8080\n" + kStep,
       {"j.toml:3:8: vars: 'port' must be a string or a table { value, secret }, not an "
        "integer"}},
      {"var_table_without_value",
       "name = \"j\"\n[vars]\nuser = { secret = false }\n" + kStep,
       {"j.toml:3:8: vars: missing required key 'value'"}},
      {"var_table_unknown_key",
       "name = \"j\"\n[vars]\nuser = { value = \"u\", secrte = true }\n" + kStep,
       {"j.toml:3:32: vars: unknown key 'secrte' (did you mean 'secret'?)"}},
      {"vars_type",
       "name = \"j\"\nvars = 1\n" + kStep,
       {"j.toml:2:8: vars: 'vars' must be a table, not an integer"}},

      // --- [defaults]
      {"defaults_unknown_key",
       "name = \"j\"\n[defaults]\ntimout = \"5s\"\n" + kStep,
       {"j.toml:3:10: defaults: unknown key 'timout' (did you mean 'timeout'?)"}},
      {"defaults_bad_header_name",
       "name = \"j\"\n[defaults]\nheaders = { \"User Agent\" = \"x\" }\n" + kStep,
       {"j.toml:3:28: defaults: invalid header name 'User Agent'"}},
      {"defaults_header_type",
       "name = \"j\"\n[defaults]\nheaders = { Accept = [1] }\n" + kStep,
       {"j.toml:3:22: defaults: 'headers.Accept' must be a string, not an array"}},

      // --- steps
      {"step_unknown_key",
       "name = \"j\"\n" + kStep + "exepct = { status = 200 }\n",
       {"j.toml:6:10: step 'a': unknown key 'exepct' (did you mean 'expect'?)"}},
      {"step_missing_name",
       "name = \"j\"\n[[steps]]\nrequest = { url = \"http://x.test\" }\n",
       {"j.toml:2:1: step #1: missing required key 'name'"}},
      {"step_empty_name",
       "name = \"j\"\n[[steps]]\nname = \"\"\nrequest = { url = \"http://x.test\" }\n",
       {"j.toml:3:8: step #1: 'name' must not be empty"}},
      {"duplicate_step",
       "name = \"j\"\n[[steps]]\nname = \"browse\"\nrequest = { url = \"http://x.test\" }\n"
       "[[steps]]\nname = \"browse\"\nrequest = { url = \"http://x.test\" }\n",
       {"j.toml:6:8: step 'browse': duplicate step name 'browse' (first at line 3)"}},
      {"missing_request",
       "name = \"j\"\n[[steps]]\nname = \"a\"\n",
       {"j.toml:2:1: step 'a': missing required key 'request'"}},
      {"request_type",
       "name = \"j\"\n[[steps]]\nname = \"a\"\nrequest = \"http://x.test\"\n",
       {"j.toml:4:11: step 'a': 'request' must be a table, not a string"}},
      {"missing_url",
       "name = \"j\"\n[[steps]]\nname = \"a\"\nrequest = { method = \"GET\" }\n",
       {"j.toml:4:11: step 'a': missing required key 'url'"}},
      {"request_unknown_key_and_missing_url",
       "name = \"j\"\n[[steps]]\nname = \"a\"\n[steps.request]\nuri = \"http://x.test\"\n",
       {"j.toml:5:7: step 'a': unknown key 'uri' (did you mean 'url'?)",
        "j.toml:4:1: step 'a': missing required key 'url'"}},
      {"unknown_method",
       "name = \"j\"\n[[steps]]\nname = \"a\"\n[steps.request]\nmethod = \"GETT\"\nurl = "
       "\"http://x.test\"\n",
       {"j.toml:5:10: step 'a': unknown method 'GETT' (did you mean 'GET'?)"}},
      {"two_bodies",
       "name = \"j\"\n[[steps]]\nname = \"a\"\n[steps.request]\nurl = \"http://x.test\"\n"
       "body = \"x\"\njson = { b = 1 }\n",
       {"j.toml:7:8: step 'a': a request has at most one body, but it has both 'body' and "
        "'json'"}},
      {"json_body_type",
       "name = \"j\"\n[[steps]]\nname = \"a\"\n[steps.request]\nurl = \"http://x.test\"\n"
       "json = \"{}\"\n",
       {"j.toml:6:8: step 'a': 'json' must be a table or an array, not a string"}},
      {"bad_url_scheme",
       "name = \"j\"\n[[steps]]\nname = \"a\"\n[steps.request]\nurl = \"htp://x\"\n",
       {"j.toml:5:7: step 'a': invalid URL 'htp://x': scheme must be http or https"}},
      {"bad_url_space",
       "name = \"j\"\n[[steps]]\nname = \"a\"\n[steps.request]\nurl = \"http://x.test/a b\"\n",
       {"j.toml:5:7: step 'a': invalid URL 'http://x.test/a b': contains whitespace"}},
      {"bad_url_from_var",
       "name = \"j\"\n[vars]\nbase = \"http://\"\n[[steps]]\nname = \"a\"\n"
       "request = { url = \"{{base}}/x\" }\n",
       {"j.toml:6:19: step 'a': invalid URL 'http:///x': missing host"}},
      {"bad_url_secret_shown_redacted",
       "name = \"j\"\n[vars]\nbase = \"{{env.SHOP_USER}}\"\n[[steps]]\nname = \"a\"\n"
       "request = { url = \"{{base}}/x\" }\n",
       {"j.toml:6:19: step 'a': invalid URL '***/x': missing scheme (http:// or https://)"}},
      {"template_error",
       "name = \"j\"\n[[steps]]\nname = \"a\"\n[steps.request]\nurl = \"http://x.test/{{id | "
       "rot13}}\"\n",
       {"j.toml:5:7: step 'a': unknown filter 'rot13' (use urlencode, base64)"}},
      {"capture_used_before_defined",
       "name = \"j\"\n[[steps]]\nname = \"browse\"\n"
       "request = { url = \"http://x.test/{{product_id}}\" }\n"
       "[[steps]]\nname = \"add_to_cart\"\nrequest = { url = \"http://x.test\" }\n"
       "capture = { product_id = { json = \"$.id\" } }\n",
       {"j.toml:4:19: step 'browse': '{{product_id}}' is captured only by a later step "
        "'add_to_cart'"}},
      {"capture_used_by_its_own_step",
       "name = \"j\"\n[[steps]]\nname = \"login\"\nrequest = { url = \"http://x.test/{{token}}\" "
       "}\ncapture = { token = { header = \"X-Token\" } }\n",
       {"j.toml:4:19: step 'login': '{{token}}' is captured by step 'login' itself, after its "
        "request and checks"}},
      {"unknown_variable",
       "name = \"j\"\n[vars]\nproduct_id = \"1\"\n[[steps]]\nname = \"a\"\n"
       "request = { url = \"http://x.test/{{prodct_id}}\" }\n",
       {"j.toml:6:19: step 'a': unknown variable 'prodct_id' (did you mean 'product_id'?)"}},
      {"unknown_variable_in_header",
       "name = \"j\"\n[[steps]]\nname = \"a\"\n"
       "request = { url = \"http://x.test\", headers = { X-Id = \"{{nope}}\" } }\n",
       {"j.toml:4:55: step 'a': unknown variable 'nope'"}},
      {"unknown_variable_in_json_body",
       "name = \"j\"\n[[steps]]\nname = \"a\"\n[steps.request]\nurl = \"http://x.test\"\n"
       "json = { items = [ { id = \"{{idd}}\" } ] }\n",
       {"j.toml:6:27: step 'a': unknown variable 'idd'"}},
      {"unknown_check",
       "name = \"j\"\n" + kStep + "expect = { statsu = 200 }\n",
       {"j.toml:6:21: step 'a': unknown check 'statsu' (did you mean 'status'?)"}},
      {"check_template_unknown_variable",
       "name = \"j\"\n" + kStep + "expect = { body_contains = \"{{order}}\" }\n",
       {"j.toml:6:28: step 'a': unknown variable 'order'"}},
      {"follow_redirects_type",
       "name = \"j\"\n" + kStep + "follow_redirects = \"yes\"\n",
       {"j.toml:6:20: step 'a': 'follow_redirects' must be true, false or a number of "
        "redirects, not a string"}},
      {"follow_redirects_negative",
       "name = \"j\"\n" + kStep + "follow_redirects = -1\n",
       {"j.toml:6:20: step 'a': 'follow_redirects' must be 0 or more, not -1"}},
      {"max_body_bytes_zero",
       "name = \"j\"\n" + kStep + "max_body_bytes = 0\n",
       {"j.toml:6:18: step 'a': 'max_body_bytes' must be at least 1, not 0"}},
      {"max_body_bytes_type",
       "name = \"j\"\n" + kStep + "max_body_bytes = \"1MB\"\n",
       {"j.toml:6:18: step 'a': 'max_body_bytes' must be an integer (bytes), not a string"}},
      {"step_timeout",
       "name = \"j\"\n" + kStep + "timeout = \"fast\"\n",
       {"j.toml:6:11: step 'a': 'timeout': " + duration_error("fast")}},
      {"tls_verify_type",
       "name = \"j\"\n" + kStep + "tls_verify = 0\n",
       {"j.toml:6:14: step 'a': 'tls_verify' must be a boolean, not an integer"}},
      {"capture_reserved_name",
       "name = \"j\"\n" + kStep + "capture = { run_id = { header = \"X-Run\" } }\n",
       {"j.toml:6:22: step 'a': 'run_id' is a reserved name"}},

      // --- [slo]
      {"slo_unknown_step",
       "name = \"j\"\n[[steps]]\nname = \"checkout\"\nrequest = { url = \"http://x.test\" }\n"
       "[slo]\nlatency = { step = \"checkuot\", threshold_ms = 1000, target = 99.0 }\n",
       {"j.toml:6:20: slo: no step named 'checkuot' in this journey (did you mean "
        "'checkout'?)"}},
      {"slo_availability_100",
       "name = \"j\"\n" + kStep + "[slo]\navailability = 100\n",
       {"j.toml:7:16: slo: 'availability' must be between 0 and 100 (exclusive), not 100"}},
      {"slo_availability_type",
       "name = \"j\"\n" + kStep + "[slo]\navailability = \"99.9%\"\n",
       {"j.toml:7:16: slo: 'availability' must be a number (a percentage), not a string"}},
      {"slo_target_zero",
       "name = \"j\"\n" + kStep + "[[slo.latency]]\nstep = \"a\"\nthreshold_ms = 500\ntarget = 0\n",
       {"j.toml:9:10: slo: 'target' must be between 0 and 100 (exclusive), not 0"}},
      {"slo_latency_missing_threshold",
       "name = \"j\"\n" + kStep + "[slo]\nlatency = { target = 99.0 }\n",
       {"j.toml:7:11: slo: missing required key 'threshold_ms'"}},
      {"slo_threshold_zero",
       "name = \"j\"\n" + kStep + "[slo]\nlatency = { threshold_ms = 0, target = 99.0 }\n",
       {"j.toml:7:28: slo: 'threshold_ms' must be greater than 0"}},
      {"slo_latency_type",
       "name = \"j\"\n" + kStep + "[slo]\nlatency = 500\n",
       {"j.toml:7:11: slo: 'latency' must be a table or an array of tables, not an integer"}},
      {"slo_unknown_key",
       "name = \"j\"\n" + kStep + "[slo]\nwindw = \"28d\"\n",
       {"j.toml:7:9: slo: unknown key 'windw' (did you mean 'window'?)"}},
      {"slo_window",
       "name = \"j\"\n" + kStep + "[slo]\nwindow = 28\n",
       {"j.toml:7:10: slo: 'window' must be a string (a duration like \"30s\"), not an "
        "integer"}},
  };
}

INSTANTIATE_TEST_SUITE_P(Loader, LoaderErrors, testing::ValuesIn(error_cases()),
                         [](const testing::TestParamInfo<ErrorCase>& info) {
                           return info.param.name;
                         });

TEST(LoaderSyntax, ReportsTheOneSyntaxErrorWithItsPosition) {
  std::vector<std::string> errors = errors_of("name = \"j\"\nsteps = [\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("j.toml:", 0), 0u) << errors[0];
  EXPECT_NE(errors[0].find(": syntax error: "), std::string::npos) << errors[0];
}

TEST(LoaderSyntax, RedefinedKeyIsASyntaxError) {
  std::vector<std::string> errors = errors_of("name = \"j\"\nname = \"k\"\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("j.toml:2:", 0), 0u) << errors[0];
  EXPECT_NE(errors[0].find("syntax error: "), std::string::npos) << errors[0];
}

TEST(Loader, FiveMistakesGiveExactlyFiveDiagnostics) {
  const char* text = R"(name = "checkout"
intervall = "30s"
timeout = "ten seconds"

[[steps]]
name = "browse"
request = { url = "http://shop.test/p/{{product_id}}" }
expect = { statsu = 200 }

[[steps]]
name = "cart"
request = { url = "http://shop.test/cart" }
capture = { product_id = { json = "$.id" } }

[[steps]]
name = "browse"
request = { url = "http://shop.test/" }
)";
  std::vector<std::string> expected = {
      "j.toml:2:13: unknown key 'intervall' (did you mean 'interval'?)",
      "j.toml:3:11: 'timeout': " + duration_error("ten seconds"),
      "j.toml:7:19: step 'browse': '{{product_id}}' is captured only by a later step 'cart'",
      "j.toml:8:21: step 'browse': unknown check 'statsu' (did you mean 'status'?)",
      "j.toml:16:8: step 'browse': duplicate step name 'browse' (first at line 6)",
  };
  EXPECT_EQ(errors_of(text), expected);
}

TEST(Loader, LoadError_WhatListsEveryDiagnostic) {
  try {
    load("name = \"j\"\ncolour = 1\nshape = 2\n" + kStep);
    FAIL() << "no LoadError";
  } catch (const LoadError& e) {
    EXPECT_EQ(e.diagnostics().size(), 2u);
    EXPECT_NE(std::string(e.what()).find("unknown key 'colour'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("unknown key 'shape'"), std::string::npos);
  }
}

TEST(Loader, FullJourney) {
  Journey j = load(R"(name = "checkout"
description = "Browse, add to cart, pay"
cuj = "purchase"
interval = "30s"
timeout = "10s"
tags = ["shop", "critical"]
locations = ["edge-a", "edge-b"]
reuse_connections = false

[vars]
base = "{{env.SHOP_URL}}"

[[steps]]
name = "browse"
request = { method = "get", url = "{{base}}/api/products", query = { q = "shoes", page = 2 } }
expect = { status = 200, latency_ms = 500, json = [ { path = "$.items[0].id", exists = true } ] }
capture = { product_id = { json = "$.items[0].id" }, etag = { header = "ETag" } }

[[steps]]
name = "completePurchase"
request = { method = "POST", url = "{{base}}/api/completePurchase", json = { product = "{{product_id}}" } }
expect = { status = 200, latency = { total_ms = 1000, dns_ms = 50 }, body_contains = "order_id" }

[slo]
availability = 99.5
window = "7d"
latency = { step = "completePurchase", threshold_ms = 1000, target = 99.0 }
)");
  EXPECT_EQ(j.name, "checkout");
  EXPECT_EQ(j.file, "j.toml");
  EXPECT_EQ(j.pos.line, 1);
  EXPECT_EQ(j.description, "Browse, add to cart, pay");
  EXPECT_EQ(j.cuj, "purchase");
  EXPECT_EQ(j.interval, 30s);
  EXPECT_EQ(j.timeout, 10s);
  EXPECT_EQ(j.tags, (std::vector<std::string>{"shop", "critical"}));
  EXPECT_EQ(j.locations, (std::vector<std::string>{"edge-a", "edge-b"}));
  EXPECT_FALSE(j.reuse_connections);
  EXPECT_TRUE(j.warnings.empty());

  ASSERT_EQ(j.steps.size(), 2u);
  const Step& browse = j.steps[0];
  EXPECT_EQ(browse.name, "browse");
  EXPECT_EQ(browse.pos.line, 13);
  EXPECT_EQ(browse.request.method, "GET");
  EXPECT_EQ(browse.request.url.source(), "{{base}}/api/products");
  EXPECT_EQ(browse.request.url_pos.line, 15);
  ASSERT_EQ(browse.request.query.size(), 2u);
  EXPECT_EQ(browse.request.query[0].name, "q");
  EXPECT_EQ(browse.request.query[1].name, "page");
  EXPECT_EQ(browse.request.query[1].value.render_static(), "2");
  EXPECT_EQ(browse.request.body_kind, Request::BodyKind::none);
  ASSERT_GE(browse.checks.size(), 3u);  // in file order
  EXPECT_EQ(browse.checks[0]->reason(), "status");
  EXPECT_EQ(browse.checks[1]->reason(), "latency");
  EXPECT_EQ(browse.checks.back()->reason(), "json");
  EXPECT_EQ(browse.latency_threshold_ms, 500.0);
  ASSERT_EQ(browse.captures.size(), 2u);
  EXPECT_EQ(browse.captures[0].name(), "product_id");  // file order, not key order
  EXPECT_EQ(browse.captures[1].name(), "etag");

  const Step& buy = j.steps[1];
  EXPECT_EQ(buy.request.method, "POST");
  EXPECT_EQ(buy.request.body_kind, Request::BodyKind::json);
  EXPECT_EQ(buy.latency_threshold_ms, 1000.0);
  EXPECT_EQ(buy.checks.front()->reason(), "status");

  ASSERT_TRUE(j.slo);
  EXPECT_EQ(j.slo->availability, 99.5);
  EXPECT_EQ(j.slo->window, std::chrono::hours(24 * 7));
  EXPECT_EQ(j.slo->pos.line, 24);
  ASSERT_EQ(j.slo->latency.size(), 1u);
  EXPECT_EQ(j.slo->latency[0].step, "completePurchase");
  EXPECT_EQ(j.slo->latency[0].threshold_ms, 1000);
  EXPECT_EQ(j.slo->latency[0].target, 99.0);
}

TEST(Loader, BuiltInDefaults) {
  Journey j = load("name = \"j\"\n" + kStep);
  EXPECT_EQ(j.interval, 60s);
  EXPECT_EQ(j.timeout, 30s);
  EXPECT_TRUE(j.reuse_connections);
  EXPECT_FALSE(j.slo);
  ASSERT_EQ(j.steps.size(), 1u);
  const Step& s = j.steps[0];
  EXPECT_EQ(s.request.method, "GET");
  EXPECT_EQ(s.timeout, 30s);  // the journey's timeout
  EXPECT_EQ(s.max_redirects, 0);
  EXPECT_EQ(s.max_body_bytes, kDefaultMaxBodyBytes);
  EXPECT_TRUE(s.tls_verify);
  EXPECT_TRUE(s.checks.empty());
  EXPECT_FALSE(s.latency_threshold_ms);
}

TEST(Loader, DefaultsMergeIntoSteps) {
  Journey j = load(R"(name = "j"
timeout = "20s"

[defaults]
headers = { "User-Agent" = "prober/0.1", Accept = "*/*" }
timeout = "5s"
follow_redirects = true
max_body_bytes = 4096

[[steps]]
name = "inherits"
request = { url = "http://x.test" }

[[steps]]
name = "overrides"
timeout = "2s"
follow_redirects = 3
max_body_bytes = 65536
request = { url = "http://x.test", headers = { accept = "application/json", X-Id = "7" } }

[[steps]]
name = "no_redirects"
follow_redirects = false
request = { url = "http://x.test" }
)");
  ASSERT_EQ(j.steps.size(), 3u);
  const Step& a = j.steps[0];
  EXPECT_EQ(a.timeout, 5s);
  EXPECT_EQ(a.max_redirects, kDefaultMaxRedirects);
  EXPECT_EQ(a.max_body_bytes, 4096u);
  ASSERT_EQ(a.request.headers.size(), 2u);
  EXPECT_EQ(a.request.headers[0].name, "User-Agent");
  EXPECT_EQ(a.request.headers[0].value.render_static(), "prober/0.1");
  EXPECT_EQ(a.request.headers[1].name, "Accept");

  const Step& b = j.steps[1];
  EXPECT_EQ(b.timeout, 2s);
  EXPECT_EQ(b.max_redirects, 3);
  EXPECT_EQ(b.max_body_bytes, 65536u);
  // "accept" replaces the default "Accept": header names are case-insensitive.
  ASSERT_EQ(b.request.headers.size(), 3u);
  EXPECT_EQ(b.request.headers[0].name, "User-Agent");
  EXPECT_EQ(b.request.headers[1].name, "accept");
  EXPECT_EQ(b.request.headers[1].value.render_static(), "application/json");
  EXPECT_EQ(b.request.headers[2].name, "X-Id");

  EXPECT_EQ(j.steps[2].max_redirects, 0);
}

TEST(Loader, StepTimeoutFallsBackToJourneyTimeout) {
  Journey j = load("name = \"j\"\ntimeout = \"12s\"\n" + kStep);
  EXPECT_EQ(j.steps[0].timeout, 12s);
}

TEST(Loader, VarsKeepFileOrderAndSecrets) {
  Journey j = load(R"(name = "j"
[vars]
zeta = "{{env.SHOP_URL}}"
user = { value = "{{env.SHOP_USER}}", secret = false }
alpha = "{{zeta}}/api"
token = { value = "abc", secret = true }
)" + kStep);
  ASSERT_EQ(j.vars.size(), 4u);
  EXPECT_EQ(j.vars[0].name, "zeta");
  EXPECT_EQ(j.vars[1].name, "user");
  EXPECT_EQ(j.vars[2].name, "alpha");
  EXPECT_EQ(j.vars[3].name, "token");
  EXPECT_EQ(j.vars[0].pos.line, 3);

  // Env values are secret by default and resolved at load time (from the injected env).
  EXPECT_TRUE(j.vars[0].secret);
  EXPECT_TRUE(j.vars[0].value.has_secret());
  EXPECT_EQ(j.vars[0].value.render_static(), "https://shop.test");
  // `secret = false` opts out, also in what the template shows.
  EXPECT_FALSE(j.vars[1].secret);
  EXPECT_FALSE(j.vars[1].value.has_secret());
  Rendered shown;
  ASSERT_TRUE(j.vars[1].value.render(Scope{}, shown, nullptr));
  EXPECT_EQ(shown.shown, "alice");
  // A var built from a secret var is secret at render time (the scope knows), not here.
  EXPECT_FALSE(j.vars[2].secret);
  EXPECT_EQ(j.vars[2].value.references(), std::vector<std::string>{"zeta"});
  EXPECT_TRUE(j.vars[3].secret);
}

TEST(Loader, BuiltInsAreAlwaysDefined) {
  Journey j = load(R"(name = "j"
[[steps]]
name = "a"
request = { url = "http://x.test/{{journey}}/{{location}}?run={{run_id}}&id={{uuid}}" }
)");
  EXPECT_EQ(j.steps[0].request.url.references(),
            (std::vector<std::string>{"journey", "location", "run_id"}));
}

TEST(Loader, UrlsBuiltFromCapturesAreCheckedAtRunTime) {
  Journey j = load(R"(name = "j"
[[steps]]
name = "login"
request = { url = "http://x.test/login" }
capture = { next = { header = "Location" } }
[[steps]]
name = "follow"
request = { url = "{{next}}" }
)");
  EXPECT_EQ(j.steps[1].request.url.references(), std::vector<std::string>{"next"});
}

TEST(Loader, JsonBodySlots) {
  Journey j = load(R"(name = "j"
[vars]
base = "http://x.test"
[[steps]]
name = "a"
request = { url = "{{base}}" }
capture = { id = { json = "$.id" } }
[[steps]]
name = "b"
request = { method = "POST", url = "{{base}}/order", json = { product = "{{id}}", qty = 2, gift = false, note = "plain", items = [ { sku = "{{id}}-x" }, 3.5 ] } }
)");
  const JsonBody& body = j.steps[1].request.json;
  EXPECT_EQ(j.steps[1].request.body_kind, Request::BodyKind::json);
  EXPECT_EQ(body.skeleton, nlohmann::json::parse(R"({"product": "{{id}}", "qty": 2, "gift": false,
      "note": "plain", "items": [ { "sku": "{{id}}-x" }, 3.5 ]})"));
  ASSERT_EQ(body.slots.size(), 2u);
  EXPECT_EQ(body.slots[0].where.to_string(), "/product");
  EXPECT_EQ(body.slots[0].value.references(), std::vector<std::string>{"id"});
  EXPECT_EQ(body.slots[1].where.to_string(), "/items/0/sku");
  EXPECT_EQ(body.slots[1].value.source(), "{{id}}-x");
}

TEST(Loader, JsonBodyMayBeAnArray) {
  Journey j = load(R"(name = "j"
[[steps]]
name = "a"
request = { method = "PUT", url = "http://x.test", json = [1, "{{journey}}"] }
)");
  const JsonBody& body = j.steps[0].request.json;
  EXPECT_EQ(body.skeleton, nlohmann::json::parse(R"([1, "{{journey}}"])"));
  ASSERT_EQ(body.slots.size(), 1u);
  EXPECT_EQ(body.slots[0].where.to_string(), "/1");
}

TEST(Loader, RawAndFormBodies) {
  Journey j = load(R"(name = "j"
[[steps]]
name = "raw"
request = { method = "POST", url = "http://x.test", body = "id={{journey}}" }
[[steps]]
name = "form"
request = { method = "POST", url = "http://x.test", form = { user = "a", n = 1 } }
)");
  EXPECT_EQ(j.steps[0].request.body_kind, Request::BodyKind::raw);
  EXPECT_EQ(j.steps[0].request.body.source(), "id={{journey}}");
  EXPECT_EQ(j.steps[1].request.body_kind, Request::BodyKind::form);
  ASSERT_EQ(j.steps[1].request.form.size(), 2u);
  EXPECT_EQ(j.steps[1].request.form[0].name, "user");
  EXPECT_EQ(j.steps[1].request.form[1].value.render_static(), "1");
}

TEST(Loader, LatencyThresholdIsTheTightestTotalBound) {
  Journey j = load("name = \"j\"\n" + kStep +
                   "expect = { latency_ms = 800, latency = { total_ms = 600, dns_ms = 10 } }\n");
  EXPECT_EQ(j.steps[0].latency_threshold_ms, 600.0);
  Journey k = load("name = \"j\"\n" + kStep + "expect = { latency = { first_byte_ms = 100 } }\n");
  EXPECT_FALSE(k.steps[0].latency_threshold_ms);
}

TEST(Loader, SloLatencyList) {
  Journey j = load("name = \"j\"\n" + kStep + R"(
[[slo.latency]]
step = "a"
threshold_ms = 300
target = 99.9
[[slo.latency]]
threshold_ms = 2000
target = 95
)");
  ASSERT_TRUE(j.slo);
  EXPECT_FALSE(j.slo->availability);
  EXPECT_EQ(j.slo->window, std::chrono::hours(24 * 28));
  ASSERT_EQ(j.slo->latency.size(), 2u);
  EXPECT_EQ(j.slo->latency[0].step, "a");
  EXPECT_EQ(j.slo->latency[1].step, "");  // the whole run
  EXPECT_EQ(j.slo->latency[1].target, 95.0);
  EXPECT_EQ(j.slo->latency[1].pos.line, 11);
}

TEST(Loader, Warnings) {
  Journey j = load(R"(name = "j"
interval = "500ms"
[defaults]
tls_verify = false
[[steps]]
name = "a"
request = { url = "https://x.test" }
tls_verify = false
[[steps]]
name = "b"
request = { url = "https://x.test" }
)");
  EXPECT_EQ(warnings_of(j), (std::vector<std::string>{
                                "j.toml:2:12: warning: interval 500ms is below 1s",
                                "j.toml:4:14: warning: defaults: tls_verify = false: the server "
                                "certificate is not verified",
                                "j.toml:8:14: warning: step 'a': tls_verify = false: the server "
                                "certificate is not verified",
                            }));
  EXPECT_FALSE(j.steps[0].tls_verify);
  EXPECT_FALSE(j.steps[1].tls_verify);  // from [defaults]
}

TEST(Loader, ErrorsDoNotCarryWarnings) {
  std::vector<std::string> errors =
      errors_of("name = \"j\"\ninterval = \"10ms\"\ncolour = 1\n" + kStep);
  EXPECT_EQ(errors, std::vector<std::string>{"j.toml:3:10: unknown key 'colour'"});
}

// ---------------------------------------------------------------------------------------------
// Files and folders

class LoaderFiles : public testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() / ("loader_test_" + std::to_string(::getpid()) + "_" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string write(const std::string& relative, const std::string& text) {
    fs::path p = root_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  static std::string journey(const std::string& name) {
    return "name = \"" + name + "\"\n" + kStep;
  }

  std::vector<std::string> errors_of_paths(const std::vector<std::string>& paths) {
    try {
      load_paths(paths, options());
    } catch (const LoadError& e) {
      std::vector<std::string> out;
      for (const Diagnostic& d : e.diagnostics())
        out.push_back(d.str());
      return out;
    }
    ADD_FAILURE() << "loaded without errors";
    return {};
  }

  fs::path root_;
};

TEST_F(LoaderFiles, LoadsAFile) {
  std::string path = write("one.toml", journey("one"));
  Journey j = load_journey_file(path, options());
  EXPECT_EQ(j.name, "one");
  EXPECT_EQ(j.file, path);
}

TEST_F(LoaderFiles, UnreadableFileIsALoadError) {
  std::string path = (root_ / "missing.toml").string();
  try {
    load_journey_file(path, options());
    FAIL() << "no LoadError";
  } catch (const LoadError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].str(), path + ": cannot read file: No such file or directory");
  }
}

TEST_F(LoaderFiles, FolderIsRecursiveSortedAndTomlOnly) {
  write("b.toml", journey("b"));
  write("a.toml", journey("a"));
  write("sub/c.toml", journey("c"));
  write("notes.txt", "not a journey");
  std::string extra = write("elsewhere/x.toml", journey("x"));
  LoadedSet set = load_paths({(root_ / "sub").string(), extra, root_.string()}, options());
  std::vector<std::string> names;
  for (const JourneyPtr& j : set.journeys)
    names.push_back(j->name);
  // sub/ first, then the file, then the rest of root (sub/c.toml and x.toml only once).
  EXPECT_EQ(names, (std::vector<std::string>{"c", "x", "a", "b"}));
}

TEST_F(LoaderFiles, CollectsWarnings) {
  write("w.toml", "name = \"w\"\ninterval = \"100ms\"\n" + kStep);
  LoadedSet set = load_paths({root_.string()}, options());
  ASSERT_EQ(set.warnings.size(), 1u);
  EXPECT_EQ(set.warnings[0].message, "interval 100ms is below 1s");
}

TEST_F(LoaderFiles, DuplicateJourneyNameIsReportedAtTheSecond) {
  std::string a = write("a.toml", journey("checkout"));
  std::string b = write("b.toml", "# the same journey again\n" + journey("checkout"));
  EXPECT_EQ(errors_of_paths({root_.string()}),
            std::vector<std::string>{b + ":2:8: journey 'checkout' is also defined in " + a});
}

TEST_F(LoaderFiles, CollectsTheErrorsOfEveryFile) {
  std::string a = write("a.toml", "name = \"a\"\ncolour = 1\n" + kStep);
  std::string b = write("b.toml", "name = \"b\"\n");
  std::string missing = (root_ / "nope").string();
  write("c.toml", journey("c"));
  EXPECT_EQ(errors_of_paths({missing, root_.string()}),
            (std::vector<std::string>{
                missing + ": no such file or folder",
                a + ":2:10: unknown key 'colour'",
                b + ":1:1: a journey needs at least one step ([[steps]])",
            }));
}

TEST_F(LoaderFiles, NoJourneyFound) {
  fs::create_directories(root_ / "empty");
  std::string empty = (root_ / "empty").string();
  EXPECT_EQ(errors_of_paths({empty}),
            std::vector<std::string>{"no journey (*.toml) found in '" + empty + "'"});
  EXPECT_EQ(errors_of_paths({}), std::vector<std::string>{"no journey paths given"});
}

// ca_file: relative to the journey file's folder, resolved to an absolute path, from
// [defaults] unless the step names its own; a file that is not there is a located error.
TEST_F(LoaderFiles, CaFileIsRelativeToTheJourneyFile) {
  std::string ca = write("certs/ca.pem", "-----BEGIN CERTIFICATE-----\n");
  std::string other = write("other.pem", "-----BEGIN CERTIFICATE-----\n");
  std::string path = write("sub/j.toml", R"(name = "j"
[defaults]
ca_file = "../certs/ca.pem"
[[steps]]
name = "a"
request = { url = "https://x.test" }
[[steps]]
name = "b"
request = { url = "https://x.test" }
ca_file = ")" + other + R"("
)");
  Journey j = load_journey_file(path, options());
  ASSERT_EQ(j.steps.size(), 2u);
  EXPECT_EQ(j.steps[0].ca_file, ca);  // from [defaults], "../" resolved
  EXPECT_EQ(j.steps[1].ca_file, other);  // an absolute path as given
  EXPECT_TRUE(j.warnings.empty());
}

TEST_F(LoaderFiles, CaFileThatDoesNotExistIsALocatedError) {
  std::string path = write("j.toml", "name = \"j\"\n" + kStep + "ca_file = \"certs/nope.pem\"\n");
  EXPECT_EQ(errors_of_paths({path}),
            std::vector<std::string>{path + ":6:11: step 'a': 'ca_file' '" +
                                     (root_ / "certs/nope.pem").string() + "': no such file"});
  std::string folder = write("d.toml", "name = \"d\"\n[defaults]\nca_file = \".\"\n" + kStep);
  EXPECT_EQ(errors_of_paths({folder}),
            std::vector<std::string>{folder + ":3:11: defaults: 'ca_file' '" + root_.string() +
                                     "/': no such file"});
}

TEST(Loader, CaFileMustBeANonEmptyString) {
  EXPECT_EQ(errors_of("name = \"j\"\n" + kStep + "ca_file = 1\n"),
            std::vector<std::string>{
                "j.toml:6:11: step 'a': 'ca_file' must be a string (a path to a PEM file), not "
                "an integer"});
  EXPECT_EQ(errors_of("name = \"j\"\n" + kStep + "ca_file = \"\"\n"),
            std::vector<std::string>{"j.toml:6:11: step 'a': 'ca_file' must not be empty"});
}

TEST(Loader, TlsVerifyIsOnUnlessAStepTurnsItOffWithAWarning) {
  Journey on = load("name = \"j\"\n" + kStep);
  EXPECT_TRUE(on.steps[0].tls_verify);
  EXPECT_EQ(on.steps[0].ca_file, "");
  EXPECT_TRUE(on.warnings.empty());
  Journey off = load("name = \"j\"\n" + kStep + "tls_verify = false\n" +
                     "[[steps]]\nname = \"b\"\nrequest = { url = \"https://x.test\" }\n");
  EXPECT_FALSE(off.steps[0].tls_verify);
  EXPECT_TRUE(off.steps[1].tls_verify);  // only the step that says so
  EXPECT_EQ(warnings_of(off),
            std::vector<std::string>{"j.toml:6:14: warning: step 'a': tls_verify = false: the "
                                     "server certificate is not verified"});
}

}  // namespace
}  // namespace journeys
