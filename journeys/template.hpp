#pragma once
// Templating: "{{name}}" in URLs, headers, bodies and check values.
//
//   {{name}}              a journey var or an earlier step's capture (run scope)
//   {{env.NAME}}          the process environment, resolved at load time; SECRET by default
//   {{uuid}} {{unix}} {{unix_ms}} {{timestamp}} {{random_int(1, 100)}}   fresh on every render
//   {{location}} {{run_id}} {{journey}}                                  set by the runner
//   {{name | urlencode}} {{name | base64}}                               filters, left to right
//
// A template is compiled once at load time; rendering only substitutes. Secret parts render
// into Rendered::value but show as "***" in Rendered::shown, which is the only form that
// may reach a log, a report or a file.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace journeys {

// The variables of one run. Names beginning with a letter; built-ins set by the runner use
// the reserved names "location", "run_id", "journey".
class Scope {
 public:
  void set(std::string name, std::string value, bool secret = false);
  const std::string* get(std::string_view name) const;
  bool is_secret(std::string_view name) const;

  // Registers a secret value that must never be shown, without a name (e.g. an env value
  // used inline in a URL). Empty values are ignored.
  void add_secret_value(std::string value);

  // Replaces every occurrence of every secret value in text by "***" (longest first).
  std::string redact(std::string_view text) const;

 private:
  struct Var {
    std::string value;
    bool secret = false;
  };
  std::map<std::string, Var, std::less<>> vars_;
  std::vector<std::string> secrets_;
};

struct Rendered {
  std::string value;  // what is sent
  std::string shown;  // what may be displayed: secrets replaced by "***"
  bool secret = false;  // some part of it was secret
  // Each secret part exactly as sent (after filters), so a caller can register it with the
  // run's Scope::add_secret_value and hide it wherever the target echoes it back.
  std::vector<std::string> secret_values;
};

// Looks up an environment variable; injected so tests do not touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_env();

class Template {
 public:
  Template() = default;

  // Compiles text. Env references are resolved now: a missing variable is an error. On error
  // returns nullopt and sets *error to a message without position ("unknown filter 'x'").
  static std::optional<Template> compile(std::string_view text, const EnvLookup& env,
                                         std::string* error);
  // A template that renders exactly text (no substitution).
  static Template literal(std::string text);

  // Run-scope names this template reads (vars, captures, location, run_id, journey), in order
  // of first use; for the loader's use-before-definition check.
  const std::vector<std::string>& references() const { return references_; }
  // True when rendering needs no run scope and gives the same result every time.
  bool is_static() const;
  const std::string& source() const { return source_; }
  bool has_secret() const;  // uses an env value (secret by default)
  // Marks env parts as not secret ({ value = "...", secret = false } in [vars]).
  void make_public();

  // Renders against scope; on a missing name returns false and sets *error.
  bool render(const Scope& scope, Rendered& out, std::string* error) const;
  // Convenience for static templates: the rendered value (secrets included).
  std::string render_static() const;

  struct Part;  // defined in template.cpp

 private:
  std::string source_;
  std::vector<std::shared_ptr<const Part>> parts_;
  std::vector<std::string> references_;
};

// Percent-encoding of a query or form component (RFC 3986 unreserved kept).
std::string url_encode(std::string_view s);
std::string base64_encode(std::string_view s);

}  // namespace journeys
