#pragma once
// Private to checks/: the build function of every check kind (registry.cpp puts them in its one
// table), and the few parsing and display helpers the kinds share.
//
// Field names in messages: "status", "status[1]", "latency.dns_ms", "headers.X-Id.equals",
// "body_contains[0]", "body_size.min", "json[1].equals", "tls.days_left". List indexes count
// from 0, like JSON paths; the diagnostic's line:col points at the value anyway.
//
// All helpers are inline so that adding a kind stays one new .cpp file and one registry line.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <re2/re2.h>
#include <toml++/toml.h>

#include "journeys/check.hpp"

namespace checks {

using Checks = std::vector<journeys::CheckPtr>;

// One per key under a step's `expect` (registry.cpp maps the keys to them). Each parses the
// value at load time, reports every problem at the offending node through b.diag() (it never
// throws for bad input), and appends its checks to out only when the value had no error.
// The checks are immutable: evaluate() may run on any thread, concurrently.
void build_status(const toml::node& value, journeys::CheckBuilder& b, Checks& out);
void build_latency_ms(const toml::node& value, journeys::CheckBuilder& b, Checks& out);
void build_latency(const toml::node& value, journeys::CheckBuilder& b, Checks& out);
void build_headers(const toml::node& value, journeys::CheckBuilder& b, Checks& out);
void build_body_contains(const toml::node& value, journeys::CheckBuilder& b, Checks& out);
void build_body_not_contains(const toml::node& value, journeys::CheckBuilder& b, Checks& out);
void build_body_regex(const toml::node& value, journeys::CheckBuilder& b, Checks& out);
void build_body_size(const toml::node& value, journeys::CheckBuilder& b, Checks& out);
void build_json(const toml::node& value, journeys::CheckBuilder& b, Checks& out);
void build_tls(const toml::node& value, journeys::CheckBuilder& b, Checks& out);

namespace detail {

using journeys::type_name;

// Reports "<field> must be <expected>, not <a type>" at n.
inline void wrong_type(journeys::CheckBuilder& b, const toml::node& n, std::string_view field,
                       std::string_view expected) {
  b.diag().error(n, std::string(field) + " must be " + std::string(expected) + ", not " +
                        std::string(type_name(n)));
}

inline std::string join(const std::vector<std::string_view>& words, std::string_view sep) {
  std::string s;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) s += sep;
    s += words[i];
  }
  return s;
}

// "did you mean 'x'?", or "" when no candidate is close. (journeys::did_you_mean gives the bare
// candidate; the phrase is accepted too, in case it ever gives that.)
inline std::string suggestion(std::string_view word, const std::vector<std::string_view>& known) {
  std::string hint = journeys::did_you_mean(word, known);
  if (hint.empty() || hint.starts_with("did you mean")) return hint;
  return "did you mean '" + hint + "'?";
}

// "<field>: unknown <what> 'key' (did you mean 'x'?)", or "(use a, b, c)" when nothing is close.
inline std::string unknown_key(std::string_view field, std::string_view what, std::string_view key,
                               const std::vector<std::string_view>& known) {
  std::string hint = suggestion(key, known);
  if (hint.empty()) hint = "use " + join(known, ", ");
  return std::string(field) + ": unknown " + std::string(what) + " '" + std::string(key) + "' (" +
         hint + ")";
}

// A table's entries in file order. toml++ keeps tables sorted by key, but a step's checks (and
// so its report) should follow the order the author wrote them in.
struct Entry {
  const toml::key* key;
  const toml::node* value;
};
inline std::vector<Entry> in_file_order(const toml::table& t) {
  std::vector<Entry> entries;
  for (auto&& [k, v] : t)
    entries.push_back({&k, &v});
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    const auto& pa = a.key->source().begin;
    const auto& pb = b.key->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

// A value that is either one item or a list of items (`body_contains = "a"` or `["a", "b"]`):
// calls f(node, field) for each item of an accepted type, with field "key" or "key[i]".
// Reports an empty list and items of another type ("<field> must be <item>, not ..."), and
// then returns false.
template <typename F>
bool for_each_item(const toml::node& value, std::string_view key, journeys::CheckBuilder& b,
                   std::initializer_list<toml::node_type> accepted, std::string_view item, F&& f) {
  auto accepts = [&](const toml::node& n) {
    return std::find(accepted.begin(), accepted.end(), n.type()) != accepted.end();
  };
  if (const toml::array* list = value.as_array()) {
    if (list->empty()) {
      b.diag().error(value, std::string(key) + ": empty list");
      return false;
    }
    bool ok = true;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::node& n = *list->get(i);
      std::string field = std::string(key) + "[" + std::to_string(i) + "]";
      if (accepts(n)) {
        f(n, field);
      } else {
        wrong_type(b, n, field, item);
        ok = false;
      }
    }
    return ok;
  }
  if (!accepts(value)) {
    wrong_type(b, value, key, std::string(item) + " or a list of these");
    return false;
  }
  f(value, std::string(key));
  return true;
}

// A number > 0 (milliseconds), or nullopt after reporting "<field> must be a positive number".
inline std::optional<double> positive_number(const toml::node& n, std::string_view field,
                                             journeys::CheckBuilder& b) {
  std::optional<double> v;
  if (auto i = n.as_integer()) v = static_cast<double>(i->get());
  if (auto f = n.as_floating_point()) v = f->get();
  if (!v) {
    wrong_type(b, n, field, "a positive number");
    return std::nullopt;
  }
  if (!(*v > 0) || !std::isfinite(*v)) {
    b.diag().error(n, std::string(field) + " must be a positive number");
    return std::nullopt;
  }
  return v;
}

// An integer >= 0, or nullopt after reporting.
inline std::optional<std::int64_t> non_negative_integer(const toml::node& n, std::string_view field,
                                                        journeys::CheckBuilder& b) {
  auto i = n.as_integer();
  if (!i) {
    wrong_type(b, n, field, "a non-negative integer");
    return std::nullopt;
  }
  if (i->get() < 0) {
    b.diag().error(n, std::string(field) + " must be a non-negative integer");
    return std::nullopt;
  }
  return i->get();
}

// Compiles a user-supplied RE2 pattern (never std::regex: hostile bodies must stay linear).
inline std::shared_ptr<const re2::RE2> compile_regex(const toml::node& n, std::string_view field,
                                                     journeys::CheckBuilder& b) {
  auto s = n.as_string();
  if (!s) {
    wrong_type(b, n, field, "a string (an RE2 pattern)");
    return nullptr;
  }
  if (s->get().empty()) {
    b.diag().error(n, std::string(field) + " must not be an empty pattern");
    return nullptr;
  }
  RE2::Options options;
  options.set_log_errors(false);  // the error goes into the diagnostic, not to stderr
  auto re = std::make_shared<const re2::RE2>(s->get(), options);
  if (!re->ok()) {
    b.diag().error(
        n, std::string(field) + ": '" + s->get() + "' is not a valid RE2 pattern: " + re->error());
    return nullptr;
  }
  return re;
}

// Display forms used in verdicts. Everything that came from a response goes through
// truncate_for_display.
inline std::string quoted(std::string_view s) {
  return "\"" + journeys::truncate_for_display(s) + "\"";
}
inline std::string slashed(std::string_view pattern) {
  return "/" + journeys::truncate_for_display(pattern, 80) + "/";
}
// A threshold as written: 500, 0.5, 1e-05.
inline std::string format_number(double v) {
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.15g", v);
  }
  return buf;
}
// A measurement: 731.2
inline std::string format_ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// An expected string that may be a template ("{{order_id}}"). Templates that do not depend on
// the run (literals, env values) are rendered once here, so most checks render nothing at
// evaluation time.
class ExpectedText {
 public:
  explicit ExpectedText(journeys::Template t) : t_(std::move(t)) {
    if (t_.is_static()) {
      journeys::Rendered r;
      std::string error;
      if (t_.render(journeys::Scope{}, r, &error)) fixed_ = std::move(r);
    }
  }

  // The rendered text (in storage, or the pre-rendered one), or nullptr with *error set.
  const journeys::Rendered* render(const journeys::Scope& scope, journeys::Rendered& storage,
                                   std::string* error) const {
    if (fixed_) return &*fixed_;
    if (!t_.render(scope, storage, error)) return nullptr;
    return &storage;
  }

  // The text as written, for describe(): "{{order_id}}" (never a secret value).
  const std::string& source() const { return t_.source(); }
  // Reads a var or capture of the run (rather than only literals, env and built-ins).
  bool uses_run_scope() const { return !t_.references().empty(); }

 private:
  journeys::Template t_;
  std::optional<journeys::Rendered> fixed_;
};

}  // namespace detail
}  // namespace checks
