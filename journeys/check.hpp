#pragma once
// The check interface. Kinds live in checks/ and are found through a CheckCatalog that the
// caller hands to the loader, so the journey language does not depend on the check kinds.
//
// A check is built at load time (everything parseable is parsed then: regexes, status
// ranges, JSON paths) and evaluated per response, cheaply and without throwing.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "journeys/diag.hpp"
#include "journeys/response.hpp"
#include "journeys/template.hpp"

namespace toml {
inline namespace v3 {
class node;
}
}  // namespace toml

namespace journeys {

enum class Outcome {
  pass,
  fail,   // the response is wrong: a bad event
  error,  // the check could not be evaluated (body is not JSON, regex input too large...)
};

struct Verdict {
  Outcome outcome = Outcome::pass;
  std::string check;     // what was checked: "status", "json $.items[0].id", "header Content-Type"
  std::string expected;  // "2xx", "< 500 ms", "exists"
  std::string actual;    // "503", "731.2 ms" (truncated to a safe length, never the whole body)
  std::string message;   // for Outcome::error: why it could not be evaluated

  bool ok() const { return outcome == Outcome::pass; }
  // "status: expected 2xx, got 503" or "json $.id: could not evaluate: body is not JSON (...)"
  std::string str() const;

  static Verdict pass(std::string check) { return {Outcome::pass, std::move(check), {}, {}, {}}; }
  static Verdict fail(std::string check, std::string expected, std::string actual) {
    return {Outcome::fail, std::move(check), std::move(expected), std::move(actual), {}};
  }
  static Verdict error(std::string check, std::string message) {
    return {Outcome::error, std::move(check), {}, {}, std::move(message)};
  }
};

// Shortens s to at most max bytes for display (on a UTF-8 boundary, with "…(N bytes)"), and
// replaces control characters, so a hostile body cannot flood or corrupt a report.
std::string truncate_for_display(std::string_view s, std::size_t max = 120);

class Check {
 public:
  virtual ~Check() = default;
  // The reason a failure is filed under: "status", "latency", "header", "body", "json", "tls".
  virtual std::string_view reason() const noexcept = 0;
  // One line for people: "status is 2xx", "latency total < 500 ms".
  virtual std::string describe() const = 0;
  // scope: the run's variables, for expected values written as templates.
  virtual Verdict evaluate(const Response& response, const Scope& scope) const noexcept = 0;
};
using CheckPtr = std::shared_ptr<const Check>;

// What a check kind's build function gets at load time.
class CheckBuilder {
 public:
  virtual ~CheckBuilder() = default;
  virtual Diagnostics& diag() = 0;
  // Compiles the string at node as a template; reports errors at node; records its
  // references for the use-before-definition check. nullopt when node is not a valid string
  // template (already reported).
  virtual std::optional<Template> compile_template(const toml::node& node) = 0;
};

struct CheckKind {
  std::string_view key;   // the key under a step's `expect`: "status", "latency_ms", "json"
  std::string_view help;  // one line: what the value looks like
  // Parses the value, reporting each problem at the offending node through b.diag(), and
  // appends zero or more checks to out.
  void (*build)(const toml::node& value, CheckBuilder& b, std::vector<CheckPtr>& out);
};

class CheckCatalog {
 public:
  virtual ~CheckCatalog() = default;
  virtual const CheckKind* find(std::string_view key) const = 0;
  virtual std::vector<std::string_view> keys() const = 0;
};

}  // namespace journeys
