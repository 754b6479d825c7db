// Fuzzes the journey loader: any text must either load or throw journeys::LoadError (the
// loader turns toml++'s parse errors into one). Any other exception escaping is a bug and
// crashes the target. A journey that loads is also linted and has every request template
// rendered, as a run would.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "checks/registry.hpp"
#include "journeys/lint.hpp"
#include "journeys/loader.hpp"

namespace {

// Every {{env.NAME}} resolves, so the fuzzer gets past env lookups to the rest of a file.
const journeys::LoadOptions& options() {
  static const journeys::LoadOptions o = [] {
    journeys::LoadOptions opts;
    opts.checks = &checks::catalog();
    opts.env = [](std::string_view) -> std::optional<std::string> {
      return "http://127.0.0.1:9";
    };
    return opts;
  }();
  return o;
}

void render(const journeys::Template& t, const journeys::Scope& scope) {
  journeys::Rendered out;
  std::string error;
  t.render(scope, out, &error);
}

void exercise(const journeys::Journey& journey) {
  for (const journeys::Gap& gap : journeys::static_gaps(journey))
    (void)gap.message;
  for (const journeys::Diagnostic& d : journey.warnings)
    (void)d.str();

  // The run scope as the runner builds it: built-ins, then vars in order, then captures.
  journeys::Scope scope;
  scope.set("location", "fuzz");
  scope.set("run_id", "0123456789abcdef");
  scope.set("journey", journey.name);
  for (const journeys::Var& var : journey.vars) {
    journeys::Rendered out;
    std::string error;
    if (var.value.render(scope, out, &error)) scope.set(var.name, out.value, var.secret);
  }
  for (const journeys::Step& step : journey.steps) {
    const journeys::Request& req = step.request;
    render(req.url, scope);
    for (const auto& h : req.headers)
      render(h.value, scope);
    for (const auto& q : req.query)
      render(q.value, scope);
    for (const auto& f : req.form)
      render(f.value, scope);
    render(req.body, scope);
    for (const auto& slot : req.json.slots)
      render(slot.value, scope);
    for (const journeys::CheckPtr& check : step.checks)
      (void)check->describe();
    for (const journeys::Capture& capture : step.captures) {
      (void)capture.describe();
      scope.set(capture.name(), "captured", capture.secret());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    exercise(journeys::load_journey_string(text, "fuzz.toml", options()));
  } catch (const journeys::LoadError& e) {
    for (const journeys::Diagnostic& d : e.diagnostics())
      (void)d.str();
  }
  return 0;
}
