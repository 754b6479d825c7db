// `headers`: response headers, by name (ASCII case-insensitive); values are case-sensitive.
//
//   headers = { "Content-Type" = "application/json" }                 equals
//   headers = { "Cache-Control" = { contains = "no-store" },
//               "X-Request-Id" = { exists = true, matches = '^[0-9a-f-]{36}$' },
//               "Server" = { exists = false } }
//
// Each predicate is its own check. When a header appears several times (Set-Cookie), a
// predicate holds if it holds for any of them. equals and contains may be templates.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checks/kinds.hpp"

namespace checks {
namespace {

using journeys::Verdict;

const std::vector<std::string_view> kPredicates = {"exists", "equals", "contains", "matches"};

class HeaderCheck final : public journeys::Check {
 public:
  enum class Op { present, absent, equals, contains, matches };

  HeaderCheck(std::string name, Op op)
      : name_(std::move(name)), check_("header " + name_), op_(op) {}
  HeaderCheck(std::string name, Op op, detail::ExpectedText text)
      : HeaderCheck(std::move(name), op) {
    text_.emplace(std::move(text));
  }
  HeaderCheck(std::string name, std::shared_ptr<const re2::RE2> re)
      : HeaderCheck(std::move(name), Op::matches) {
    re_ = std::move(re);
  }

  std::string_view reason() const noexcept override { return "header"; }

  std::string describe() const override {
    switch (op_) {
      case Op::present:
        return check_ + " is present";
      case Op::absent:
        return check_ + " is absent";
      case Op::equals:
        return check_ + " equals \"" + text_->source() + "\"";
      case Op::contains:
        return check_ + " contains \"" + text_->source() + "\"";
      case Op::matches:
        return check_ + " matches " + detail::slashed(re_->pattern());
    }
    return check_;
  }

  Verdict evaluate(const journeys::Response& response,
                   const journeys::Scope& scope) const noexcept override {
    const std::string* first = nullptr;
    std::size_t count = 0;
    for (const journeys::Header& h : response.headers) {
      if (!journeys::iequals(h.name, name_)) continue;
      if (!first) first = &h.value;
      ++count;
    }
    if (op_ == Op::present) {
      return count ? Verdict::pass(check_) : Verdict::fail(check_, "present", "absent");
    }
    if (op_ == Op::absent) {
      return count ? Verdict::fail(check_, "absent", "present") : Verdict::pass(check_);
    }
    if (!first) return Verdict::error(check_, "the response has no such header");

    journeys::Rendered storage;
    const journeys::Rendered* want = nullptr;
    if (text_) {
      std::string error;
      want = text_->render(scope, storage, &error);
      if (!want) return Verdict::error(check_, std::move(error));
    }
    for (const journeys::Header& h : response.headers) {
      if (journeys::iequals(h.name, name_) && holds(h.value, want)) return Verdict::pass(check_);
    }
    std::string expected;
    switch (op_) {
      case Op::equals:
        expected = detail::quoted(want->shown);
        break;
      case Op::contains:
        expected = "contains " + detail::quoted(want->shown);
        break;
      default:
        expected = "matches " + detail::slashed(re_->pattern());
        break;
    }
    std::string actual = detail::quoted(*first);
    if (count > 1) actual += " (and " + std::to_string(count - 1) + " more)";
    return Verdict::fail(check_, std::move(expected), std::move(actual));
  }

 private:
  bool holds(const std::string& value, const journeys::Rendered* want) const {
    switch (op_) {
      case Op::equals:
        return value == want->value;
      case Op::contains:
        return value.find(want->value) != std::string::npos;
      case Op::matches:
        return re2::RE2::PartialMatch(value, *re_);
      default:
        return false;
    }
  }

  std::string name_;   // as written in the journey
  std::string check_;  // "header Content-Type"
  Op op_;
  std::optional<detail::ExpectedText> text_;  // equals, contains
  std::shared_ptr<const re2::RE2> re_;        // matches
};

// RFC 9110 token characters: what a header name may consist of.
bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum &&
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

using Op = HeaderCheck::Op;

// equals/contains: a string, possibly a template.
bool build_text(const std::string& name, Op op, const toml::node& n, const std::string& field,
                journeys::CheckBuilder& b, Checks& out) {
  if (!n.is_string()) {
    detail::wrong_type(b, n, field, "a string");
    return false;
  }
  auto t = b.compile_template(n);
  if (!t) return false;
  out.push_back(std::make_shared<HeaderCheck>(name, op, detail::ExpectedText(std::move(*t))));
  return true;
}

// `Name = { exists, equals, contains, matches }`
bool build_predicates(const std::string& name, const toml::table& spec, const toml::node& at,
                      const std::string& field, journeys::CheckBuilder& b, Checks& out) {
  if (spec.empty()) {
    b.diag().error(at, field + ": no predicate (use " + detail::join(kPredicates, ", ") + ")");
    return false;
  }
  bool ok = true;
  const toml::node* absent_at = nullptr;  // exists = false
  std::string_view other;                 // a predicate that needs the header
  for (const detail::Entry& e : detail::in_file_order(spec)) {
    const std::string_view key = e.key->str();
    const std::string sub = field + "." + std::string(key);
    if (key == "exists") {
      auto flag = e.value->as_boolean();
      if (!flag) {
        detail::wrong_type(b, *e.value, sub, "a boolean");
        ok = false;
        continue;
      }
      if (!flag->get()) absent_at = e.value;
      out.push_back(std::make_shared<HeaderCheck>(name, flag->get() ? Op::present : Op::absent));
    } else if (key == "equals") {
      ok = build_text(name, Op::equals, *e.value, sub, b, out) && ok;
      other = key;
    } else if (key == "contains") {
      ok = build_text(name, Op::contains, *e.value, sub, b, out) && ok;
      other = key;
    } else if (key == "matches") {
      if (auto re = detail::compile_regex(*e.value, sub, b)) {
        out.push_back(std::make_shared<HeaderCheck>(name, std::move(re)));
      } else {
        ok = false;
      }
      other = key;
    } else {
      b.diag().error(e.key->source(), detail::unknown_key(field, "predicate", key, kPredicates));
      ok = false;
    }
  }
  if (absent_at && !other.empty()) {
    b.diag().error(*absent_at, field + ": exists = false contradicts " + std::string(other));
    ok = false;
  }
  return ok;
}

}  // namespace

void build_headers(const toml::node& value, journeys::CheckBuilder& b, Checks& out) {
  const toml::table* table = value.as_table();
  if (!table) {
    detail::wrong_type(b, value, "headers", "a table like { \"Content-Type\" = \"text/html\" }");
    return;
  }
  if (table->empty()) {
    b.diag().error(value, "headers: no header given");
    return;
  }
  Checks built;
  bool ok = true;
  for (const detail::Entry& e : detail::in_file_order(*table)) {
    const std::string name(e.key->str());
    const std::string field = "headers." + name;
    if (!valid_header_name(name)) {
      b.diag().error(e.key->source(), "headers: '" + name + "' is not a valid header name");
      ok = false;
      continue;
    }
    if (e.value->is_string()) {
      ok = build_text(name, Op::equals, *e.value, field, b, built) && ok;
    } else if (const toml::table* spec = e.value->as_table()) {
      ok = build_predicates(name, *spec, *e.value, field, b, built) && ok;
    } else {
      detail::wrong_type(b, *e.value, field, "a string or a table like { exists = true }");
      ok = false;
    }
  }
  if (ok) out.insert(out.end(), built.begin(), built.end());
}

}  // namespace checks
