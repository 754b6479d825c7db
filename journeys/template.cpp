#include "journeys/template.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace journeys {

// One piece of a compiled template. Immutable once built and shared between copies.
struct Template::Part {
  enum class Kind { literal, env, var, uuid, unix_s, unix_ms, timestamp, random_int };
  enum class Filter { urlencode, base64 };

  Kind kind = Kind::literal;
  std::string text;          // literal: the text; env: the value (filters applied); var: the name
  std::string raw;           // env with filters: the value before them (secret too)
  bool secret = false;       // env values, until make_public()
  long long lo = 0, hi = 0;  // random_int bounds
  std::vector<Filter> filters;  // applied at render time (var and built-ins only)
};

namespace {

using Part = Template::Part;
constexpr std::string_view kHidden = "***";

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c) || c == '.' || c == '-';
}
bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string apply_filter(Part::Filter f, std::string_view v) {
  return f == Part::Filter::urlencode ? url_encode(v) : base64_encode(v);
}

std::mt19937_64& rng() {
  // One generator per thread, seeded once: uuids and random_int need no crypto strength, only
  // distinct values across probers and runs.
  thread_local std::mt19937_64 gen = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  return gen;
}

std::string uuid_v4() {
  std::uint64_t hi = rng()(), lo = rng()();
  hi = (hi & ~0xF000ULL) | 0x4000ULL;              // version 4
  lo = (lo & ~(0xC0ULL << 56)) | (0x80ULL << 56);  // variant 10xx
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

std::string rfc3339_now() {
  using namespace std::chrono;
  const auto secs = floor<seconds>(system_clock::now());
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

// Parses the inside of one "{{ ... }}". Errors carry no position (the caller's node has it).
class ExprParser {
 public:
  ExprParser(std::string_view expr, const EnvLookup& env) : e_(expr), env_(env) {}

  bool parse(Part& part, std::string* error) {
    skip_spaces();
    if (at_end()) return fail("empty '{{ }}'", error);
    if (peek() == '"') {
      const std::size_t close = e_.find('"', i_ + 1);
      if (close == std::string_view::npos) return fail("unterminated string", error);
      part.kind = Part::Kind::literal;
      part.text.assign(e_.substr(i_ + 1, close - i_ - 1));
      i_ = close + 1;
    } else if (!parse_name_expr(part, error)) {
      return false;
    }
    return parse_filters(part, error);
  }

 private:
  bool at_end() const { return i_ >= e_.size(); }
  char peek() const { return at_end() ? '\0' : e_[i_]; }
  void skip_spaces() {
    while (!at_end() && is_space(e_[i_]))
      ++i_;
  }
  bool fail(std::string message, std::string* error) {
    if (error) *error = std::move(message);
    return false;
  }
  std::string whole() const { return "'{{" + std::string(e_) + "}}'"; }

  std::string_view take_name() {
    const std::size_t start = i_;
    if (!at_end() && is_name_start(e_[i_])) {
      while (!at_end() && is_name_char(e_[i_]))
        ++i_;
    }
    return e_.substr(start, i_ - start);
  }

  bool parse_name_expr(Part& part, std::string* error) {
    const std::string_view name = take_name();
    if (name.empty()) return fail("expected a name in " + whole(), error);
    skip_spaces();
    if (peek() == '(') {
      if (name != "random_int") {
        return fail("unknown function '" + std::string(name) + "' (only random_int(a, b))", error);
      }
      return parse_random_int(part, error);
    }
    if (name == "random_int") return fail("random_int needs bounds: random_int(1, 100)", error);
    if (name == "env") return fail("'env' needs a variable name: {{env.NAME}}", error);
    if (name.starts_with("env.")) return parse_env(name.substr(4), part, error);
    if (name == "uuid") {
      part.kind = Part::Kind::uuid;
    } else if (name == "unix") {
      part.kind = Part::Kind::unix_s;
    } else if (name == "unix_ms") {
      part.kind = Part::Kind::unix_ms;
    } else if (name == "timestamp") {
      part.kind = Part::Kind::timestamp;
    } else {
      part.kind = Part::Kind::var;
      part.text.assign(name);
    }
    return true;
  }

  bool parse_env(std::string_view var, Part& part, std::string* error) {
    const bool valid =
        !var.empty() && is_name_start(var[0]) &&
        std::all_of(var.begin(), var.end(), [](char c) { return is_name_start(c) || is_digit(c); });
    if (!valid) return fail("invalid environment variable name '" + std::string(var) + "'", error);
    std::optional<std::string> value = env_ ? env_(var) : std::nullopt;
    if (!value) return fail("environment variable '" + std::string(var) + "' is not set", error);
    part.kind = Part::Kind::env;
    part.text = std::move(*value);
    part.secret = true;
    return true;
  }

  bool parse_int(long long& v) {
    skip_spaces();
    const std::size_t start = i_;
    if (peek() == '-') ++i_;
    while (!at_end() && is_digit(e_[i_]))
      ++i_;
    const std::string digits(e_.substr(start, i_ - start));
    if (digits.empty() || digits == "-") return false;
    errno = 0;
    char* end = nullptr;
    v = std::strtoll(digits.c_str(), &end, 10);
    return errno == 0;
  }

  bool parse_random_int(Part& part, std::string* error) {
    ++i_;  // '('
    long long lo = 0, hi = 0;
    bool ok = parse_int(lo);
    skip_spaces();
    ok = ok && peek() == ',';
    if (ok) ++i_;
    ok = ok && parse_int(hi);
    skip_spaces();
    ok = ok && peek() == ')';
    if (!ok) return fail("random_int takes two integers: random_int(1, 100)", error);
    ++i_;
    if (lo > hi) {
      return fail("random_int(" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "): the first bound is greater than the second",
                  error);
    }
    part.kind = Part::Kind::random_int;
    part.lo = lo;
    part.hi = hi;
    return true;
  }

  bool parse_filters(Part& part, std::string* error) {
    for (;;) {
      skip_spaces();
      if (at_end()) return true;
      if (peek() != '|') {
        return fail("unexpected '" + std::string(1, peek()) + "' in " + whole(), error);
      }
      ++i_;
      skip_spaces();
      const std::string_view name = take_name();
      if (name == "urlencode") {
        part.filters.push_back(Part::Filter::urlencode);
      } else if (name == "base64") {
        part.filters.push_back(Part::Filter::base64);
      } else if (name.empty()) {
        return fail("expected a filter name after '|' in " + whole(), error);
      } else {
        return fail("unknown filter '" + std::string(name) + "' (use urlencode, base64)", error);
      }
    }
  }

  std::string_view e_;
  const EnvLookup& env_;
  std::size_t i_ = 0;
};

// End of the "{{" expression starting at open (the index of "{{"): the index of its "}}",
// skipping quoted strings so {{"}}"}} works; npos when unterminated.
std::size_t find_close(std::string_view text, std::size_t open) {
  for (std::size_t j = open + 2; j < text.size(); ++j) {
    if (text[j] == '"') {
      j = text.find('"', j + 1);
      if (j == std::string_view::npos) return j;
    } else if (text.compare(j, 2, "}}") == 0) {
      return j;
    }
  }
  return std::string_view::npos;
}

}  // namespace

// ---- Scope ----

void Scope::set(std::string name, std::string value, bool secret) {
  vars_.insert_or_assign(std::move(name), Var{std::move(value), secret});
}

const std::string* Scope::get(std::string_view name) const {
  auto it = vars_.find(name);
  return it == vars_.end() ? nullptr : &it->second.value;
}

bool Scope::is_secret(std::string_view name) const {
  auto it = vars_.find(name);
  return it != vars_.end() && it->second.secret;
}

void Scope::add_secret_value(std::string value) {
  if (value.empty()) return;
  if (std::find(secrets_.begin(), secrets_.end(), value) == secrets_.end()) {
    secrets_.push_back(std::move(value));
  }
}

std::string Scope::redact(std::string_view text) const {
  std::vector<std::string_view> secrets(secrets_.begin(), secrets_.end());
  for (const auto& [name, var] : vars_) {
    if (var.secret && !var.value.empty()) secrets.push_back(var.value);
  }
  if (secrets.empty()) return std::string(text);
  // Longest first, so a secret that contains another is hidden whole, not as "***tail".
  std::sort(secrets.begin(), secrets.end(),
            [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto hit = std::find_if(secrets.begin(), secrets.end(),
                            [&](std::string_view s) { return text.substr(i).starts_with(s); });
    if (hit != secrets.end()) {
      out += kHidden;
      i += hit->size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

// ---- Template ----

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::optional<Template> Template::compile(std::string_view text, const EnvLookup& env,
                                          std::string* error) {
  Template t;
  t.source_.assign(text);
  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    auto part = std::make_shared<Part>();
    part->text = std::move(literal);
    t.parts_.push_back(std::move(part));
    literal.clear();
  };

  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find("{{", i);
    if (open == std::string_view::npos) {
      literal += text.substr(i);
      break;
    }
    literal += text.substr(i, open - i);
    const std::size_t close = find_close(text, open);
    if (close == std::string_view::npos) {
      if (error) *error = "unterminated '{{' at column " + std::to_string(open + 1);
      return std::nullopt;
    }
    auto part = std::make_shared<Part>();
    if (!ExprParser(text.substr(open + 2, close - open - 2), env).parse(*part, error)) {
      return std::nullopt;
    }
    // Literals and env values never change: apply their filters now, and merge literals.
    if (part->kind == Part::Kind::literal || part->kind == Part::Kind::env) {
      if (part->kind == Part::Kind::env && !part->filters.empty()) part->raw = part->text;
      for (Part::Filter f : part->filters)
        part->text = apply_filter(f, part->text);
      part->filters.clear();
    }
    if (part->kind == Part::Kind::literal) {
      literal += part->text;
    } else {
      flush_literal();
      if (part->kind == Part::Kind::var && std::find(t.references_.begin(), t.references_.end(),
                                                     part->text) == t.references_.end()) {
        t.references_.push_back(part->text);
      }
      t.parts_.push_back(std::move(part));
    }
    i = close + 2;
  }
  flush_literal();
  if (error) error->clear();
  return t;
}

Template Template::literal(std::string text) {
  Template t;
  t.source_ = text;
  if (!text.empty()) {
    auto part = std::make_shared<Part>();
    part->text = std::move(text);
    t.parts_.push_back(std::move(part));
  }
  return t;
}

bool Template::is_static() const {
  return std::all_of(parts_.begin(), parts_.end(), [](const auto& p) {
    return p->kind == Part::Kind::literal || p->kind == Part::Kind::env;
  });
}

bool Template::has_secret() const {
  return std::any_of(parts_.begin(), parts_.end(),
                     [](const auto& p) { return p->kind == Part::Kind::env && p->secret; });
}

void Template::make_public() {
  // Parts are shared with copies of this template: replace, never modify.
  for (auto& p : parts_) {
    if (p->kind == Part::Kind::env && p->secret) {
      auto copy = std::make_shared<Part>(*p);
      copy->secret = false;
      p = std::move(copy);
    }
  }
}

bool Template::render(const Scope& scope, Rendered& out, std::string* error) const {
  out = Rendered{};
  for (const auto& p : parts_) {
    // A literal or environment part is used where it is (a URL renders on every step); the
    // others are made into `made`.
    std::string made;
    std::string_view v;
    bool secret = false;
    switch (p->kind) {
      case Part::Kind::literal:
        v = p->text;
        break;
      case Part::Kind::env:
        v = p->text;
        secret = p->secret;
        // The target may echo the value decoded (a `urlencode`d token in a query comes back
        // raw in a header or a JSON field): hide it as it was before the filters too.
        if (secret && !p->raw.empty()) out.secret_values.push_back(p->raw);
        break;
      case Part::Kind::var: {
        const std::string* value = scope.get(p->text);
        if (!value) {
          if (error) *error = "variable '" + p->text + "' is not set";
          return false;
        }
        v = *value;
        // A public var that contains a secret value (a capture echoing a token) hides too.
        secret = scope.is_secret(p->text) || scope.redact(*value) != *value;
        break;
      }
      case Part::Kind::uuid:
        v = made = uuid_v4();
        break;
      case Part::Kind::unix_s:
        v = made = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
        break;
      case Part::Kind::unix_ms:
        v = made = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
        break;
      case Part::Kind::timestamp:
        v = made = rfc3339_now();
        break;
      case Part::Kind::random_int:
        v = made = std::to_string(std::uniform_int_distribution<long long>(p->lo, p->hi)(rng()));
        break;
    }
    for (Part::Filter f : p->filters) {
      made = apply_filter(f, v);
      v = made;
    }
    out.shown += secret ? std::string_view(kHidden) : v;
    if (secret && !v.empty()) out.secret_values.emplace_back(v);
    out.value += v;
    out.secret = out.secret || secret;
  }
  if (error) error->clear();
  return true;
}

std::string Template::render_static() const {
  assert(is_static());
  static const Scope kEmpty;
  Rendered r;
  render(kEmpty, r, nullptr);
  return r.value;
}

// ---- encodings ----

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (is_name_start(c) || is_digit(c) || c == '-' || c == '.' || c == '~') {
      out += c;  // RFC 3986 unreserved ('_' is in is_name_start)
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

std::string base64_encode(std::string_view s) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((s.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const std::uint32_t n = static_cast<unsigned char>(s[i]) << 16 |
                            static_cast<unsigned char>(s[i + 1]) << 8 |
                            static_cast<unsigned char>(s[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (const std::size_t rest = s.size() - i; rest > 0) {
    std::uint32_t n = static_cast<unsigned char>(s[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(s[i + 1]) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace journeys
