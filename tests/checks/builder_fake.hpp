#pragma once
// Test support for check kinds: a CheckBuilder over a Diagnostics, and a way to build the
// checks of one `expect` value written as TOML.
//
//   checks::testing::Built built = checks::testing::build(checks::build_status, R"("2xx")");
//   ASSERT_TRUE(built.errors.empty());
//   journeys::Verdict v = built.checks[0]->evaluate(response, scope);

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include "journeys/check.hpp"
#include "journeys/diag.hpp"
#include "journeys/template.hpp"

namespace checks::testing {

// A CheckBuilder whose environment is a fixed map (no real environment in tests).
class FakeBuilder final : public journeys::CheckBuilder {
 public:
  using Env = std::map<std::string, std::string, std::less<>>;
  explicit FakeBuilder(Env env = {}) : diag_("test.toml"), env_(std::move(env)) {}

  journeys::Diagnostics& diag() override { return diag_; }

  std::optional<journeys::Template> compile_template(const toml::node& node) override {
    const auto* s = node.as_string();
    if (!s) {
      diag_.error(node, "expected a string");
      return std::nullopt;
    }
    std::string error;
    auto t = journeys::Template::compile(
        s->get(),
        [this](std::string_view name) -> std::optional<std::string> {
          auto it = env_.find(name);
          if (it == env_.end()) return std::nullopt;
          return it->second;
        },
        &error);
    if (!t) diag_.error(node, error);
    return t;
  }

  // Every diagnostic's message, in order.
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    for (const journeys::Diagnostic& d : diag_.all())
      out.push_back(d.message);
    return out;
  }

 private:
  journeys::Diagnostics diag_;
  Env env_;
};

struct Built {
  std::vector<journeys::CheckPtr> checks;
  std::vector<std::string> errors;  // diagnostic messages
  std::vector<journeys::Diagnostic> diagnostics;
};

using BuildFn = decltype(journeys::CheckKind::build);
using Env = FakeBuilder::Env;

// Builds the checks of `v = <value_toml>` (one line of TOML) with a kind's build function, as
// the loader would. The value sits at line 1, column 5.
inline Built build(BuildFn fn, std::string_view value_toml, Env env = {}) {
  const std::string text = "v = " + std::string(value_toml);
  toml::table doc = toml::parse(text, std::string_view("test.toml"));
  FakeBuilder b(std::move(env));
  Built built;
  fn(*doc.get("v"), b, built.checks);
  built.errors = b.messages();
  built.diagnostics = b.diag().all();
  return built;
}

// Builds a value that must give exactly one check without errors; otherwise records a test
// failure and returns nullptr.
inline journeys::CheckPtr build_one(BuildFn fn, std::string_view value_toml, Env env = {}) {
  Built built = build(fn, value_toml, std::move(env));
  if (!built.errors.empty() || built.checks.size() != 1) {
    ADD_FAILURE() << "v = " << value_toml << ": " << built.checks.size()
                  << " checks, errors: " << ::testing::PrintToString(built.errors);
    return nullptr;
  }
  return built.checks[0];
}

}  // namespace checks::testing
