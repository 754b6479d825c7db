// Fuzzes every check kind on hostile responses. The checks are built once, from a journey
// that uses every kind (and most predicates); each input is a response (see
// response_input.hpp) that every check of every step evaluates. Evaluation is noexcept, so a
// throw inside a check terminates the target: that is a bug too.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "checks/registry.hpp"
#include "journeys/loader.hpp"
#include "response_input.hpp"

namespace {

constexpr std::string_view kJourney = R"toml(
name = "fuzz-checks"

[vars]
want = "p-1"
secret = { value = "{{env.TOKEN}}" }

[[steps]]
name = "every-kind"
request = { url = "http://127.0.0.1:9/" }
expect.status = ["2xx", 304, "400-404", "5xx"]
expect.latency_ms = 500
expect.latency = { dns_ms = 10, connect_ms = 50, tls_ms = 100, first_byte_ms = 400 }
expect.headers = { "Content-Type" = { matches = "^application/(problem\\+)?json" }, "X-Powered-By" = { exists = false }, "X-Id" = { exists = true, matches = '^[0-9a-f-]{36}$' }, "Cache-Control" = { contains = "no-store" }, "X-Want" = "{{want}}", "Set-Cookie" = { equals = "sid={{secret}}" }, "X-Contains" = { contains = "{{want}}" } }
expect.body_contains = ["items", "{{want}}", "é"]
expect.body_not_contains = ["exception", "{{secret}}"]
expect.body_regex = ['"id":\s*"p-\d+"', '(a|b)*c', '^\s*[\[{]', '(?i)ÉTÉ']
expect.body_size = { min = 2, max = 4096 }
expect.tls = { days_left = 14 }
expect.json = [
  { path = "$.items", type = "array", length = 5 },
  { path = "$.items[*].price", gt = 0, le = 100, type = "number" },
  { path = "$..id", count = 5 },
  { path = "/items/0/name", type = "string", matches = "^[a-z]+$" },
  { path = "$.items[0].stock", ge = 0, lt = 1000000, type = "integer" },
  { path = "$.items[-1]['odd key']", exists = true },
  { path = "$.missing", exists = false },
  { path = "$.id", equals = "{{want}}" },
  { path = "$.obj", equals = { k = [1, 2.5, true, "s"], n = { m = -3 } } },
  { path = "$.list", contains = 3 },
  { path = "$.text", contains = "{{want}}" },
  { path = "$.flag", equals = true },
  { path = "$.none", type = "null" },
  { path = "$.count", equals = 12 },
  { path = "$.ratio", equals = 0.5 },
  { path = "$.*", type = "object" },
  { path = "$..*", type = "string" },
  { path = "$..name", length = 3 },
  { path = "", type = "object" },
  { path = "/a~1b/~0c", exists = true },
]

[[steps]]
name = "inline"
request = { url = "http://127.0.0.1:9/{{want}}" }
expect = { status = 200, latency_ms = 0.5, json = [ { path = "$[0]", equals = "{{want}}" } ], body_regex = '"name":\s*"[^"]+"' }
)toml";

struct Fixture {
  journeys::Journey journey;
  journeys::Scope scope;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    journeys::LoadOptions options;
    options.checks = &checks::catalog();
    options.env = [](std::string_view) -> std::optional<std::string> { return "t0ken"; };
    Fixture fx;
    try {
      fx.journey = journeys::load_journey_string(kJourney, "checks_fuzz.toml", options);
    } catch (const journeys::LoadError& e) {
      // The fixed journey must stay valid as the language evolves: fail loudly, not fuzz less.
      for (const journeys::Diagnostic& d : e.diagnostics())
        std::fprintf(stderr, "%s\n", d.str().c_str());
      std::abort();
    }
    for (const journeys::Var& var : fx.journey.vars) {
      journeys::Rendered out;
      std::string error;
      if (var.value.render(fx.scope, out, &error)) fx.scope.set(var.name, out.value, var.secret);
    }
    return fx;
  }();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Fixture& f = fixture();
  const journeys::Response response =
      fuzz::response_from({reinterpret_cast<const char*>(data), size});
  for (const journeys::Step& step : f.journey.steps) {
    for (const journeys::CheckPtr& check : step.checks) {
      const journeys::Verdict verdict = check->evaluate(response, f.scope);
      (void)f.scope.redact(verdict.str());
    }
  }
  return 0;
}
