// Fuzzes captures on hostile responses: fixed captures of every source (built once from a
// journey), each extracted from a response made from the input (see response_input.hpp). A
// secret capture's value is then registered and redacted, as a run does.

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
name = "fuzz-captures"

[[steps]]
name = "every-source"
request = { url = "http://127.0.0.1:9/" }
capture.first = { json = "$.items[0].id" }
capture.last = { json = "$.items[-1]" }
capture.ids = { json = "$..id" }
capture.any = { json = "$..*" }
capture.members = { json = "$.*" }
capture.quoted = { json = "$['a b'][*]" }
capture.pointer = { json = "/a~1b/0" }
capture.doc = { json = "$" }
capture.whole = { json = "" }
capture.token = { header = "X-Token", secret = true }
capture.ctype = { header = "content-type" }
capture.order = { regex = 'order (\d+)', group = 1 }
capture.match = { regex = '(?s)(a|b)+c.*$', group = 0 }
capture.named = { regex = '(?P<k>\w+)=(?P<v>[^;]*)', group = 2 }
capture.session = { cookie = "sid", secret = true }
capture.empty = { cookie = "empty" }
capture.code = { status = true }
)toml";

const journeys::Journey& journey() {
  static const journeys::Journey j = [] {
    journeys::LoadOptions options;
    options.checks = &checks::catalog();
    options.env = [](std::string_view) -> std::optional<std::string> { return "x"; };
    try {
      return journeys::load_journey_string(kJourney, "captures_fuzz.toml", options);
    } catch (const journeys::LoadError& e) {
      // The fixed journey must stay valid as the language evolves: fail loudly, not fuzz less.
      for (const journeys::Diagnostic& d : e.diagnostics())
        std::fprintf(stderr, "%s\n", d.str().c_str());
      std::abort();
    }
  }();
  return j;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const journeys::Response response =
      fuzz::response_from({reinterpret_cast<const char*>(data), size});
  journeys::Scope scope;
  for (const journeys::Step& step : journey().steps) {
    for (const journeys::Capture& capture : step.captures) {
      std::string error;
      const std::optional<std::string> value = capture.extract(response, &error);
      if (!value) continue;
      scope.set(capture.name(), *value, capture.secret());
      if (capture.secret()) scope.add_secret_value(*value);
    }
  }
  (void)scope.redact(response.body);
  return 0;
}
