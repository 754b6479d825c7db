// `json`: predicates on values selected by JSON paths in a JSON body.
//
//   json = [ { path = "$.items[0].id", exists = true },
//            { path = "$.items[*].price", gt = 0, type = "number" },
//            { path = "$.order.id", equals = "{{order_id}}" } ]
//
// Each predicate of each table is its own check, so a report names exactly the predicate that
// failed. A path that can select several nodes ([*], ..): `exists` means at least one, `count`
// counts them, and every other predicate must hold for each selected node (at least one).
//
// Choices worth knowing:
//  - equals compares JSON values; numbers compare by value (1 equals 1.0).
//  - A string template that reads run variables ("{{order_id}}") also equals a non-string node
//    whose compact JSON is the rendered text: captures store non-strings as compact JSON, so a
//    captured 42 is "42" and should still equal the 42 a later response echoes.
//  - type "integer" is any number without a fractional part (1.0 included).
//  - length of a string counts Unicode code points, not bytes.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks/kinds.hpp"
#include "journeys/jsonpath.hpp"

namespace checks {
namespace {

using journeys::Verdict;
using nlohmann::json;

enum class Op { exists, absent, count, equals, type, matches, contains, length, gt, ge, lt, le };

const std::vector<std::string_view> kPredicates = {
    "exists", "equals", "type", "matches", "contains", "length", "count", "gt", "ge", "lt", "le"};
const std::vector<std::string_view> kTypes = {"string", "number", "integer", "boolean",
                                              "array",  "object", "null"};

struct Number {
  bool integer = false;
  std::int64_t i = 0;
  double d = 0;
};

// One parsed predicate, without its path.
struct Predicate {
  Op op = Op::exists;
  std::string expected;                // fixed expected text; empty when it depends on a template
  std::int64_t n = 0;                  // count, length
  std::string type;                    // type
  std::shared_ptr<const re2::RE2> re;  // matches
  std::optional<detail::ExpectedText> text;  // equals, contains: a string (maybe a template)
  json literal;                              // equals, contains: any other value
  Number number;                             // gt, ge, lt, le
};

std::string dump(const json& j) {
  return journeys::truncate_for_display(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string_view type_of(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "value";
  }
}

// "number 1.5", "string \"abc\"", "null": what was there when the type was wrong.
std::string typed(const json& j) {
  if (j.is_null()) return "null";
  return std::string(type_of(j)) + " " + dump(j);
}

bool has_type(const json& j, std::string_view type) {
  if (type == "integer") {
    if (j.is_number_integer()) return true;
    if (!j.is_number_float()) return false;
    const double v = j.get<double>();
    return std::isfinite(v) && v == std::floor(v);
  }
  if (type == "number") return j.is_number();
  if (type == "string") return j.is_string();
  if (type == "boolean") return j.is_boolean();
  if (type == "array") return j.is_array();
  if (type == "object") return j.is_object();
  return type == "null" && j.is_null();
}

std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

// <0, 0, >0 as j is below, at or above e; exact for integers beyond 2^53.
int compare(const json& j, const Number& e) {
  if (e.integer && j.is_number_unsigned()) {
    if (e.i < 0) return 1;
    const auto v = j.get<std::uint64_t>();
    const auto w = static_cast<std::uint64_t>(e.i);
    return v < w ? -1 : v > w ? 1 : 0;
  }
  if (e.integer && j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    return v < e.i ? -1 : v > e.i ? 1 : 0;
  }
  const double v = j.get<double>();
  const double w = e.integer ? static_cast<double>(e.i) : e.d;
  return v < w ? -1 : v > w ? 1 : 0;
}

std::string format(const Number& n) {
  return n.integer ? std::to_string(n.i) : detail::format_number(n.d);
}

class JsonCheck final : public journeys::Check {
 public:
  JsonCheck(std::shared_ptr<const journeys::JsonPath> path, Predicate p)
      : path_(std::move(path)), check_("json " + path_->text()), p_(std::move(p)) {}

  std::string_view reason() const noexcept override { return "json"; }

  std::string describe() const override {
    if (p_.op != Op::equals && p_.op != Op::contains) return check_ + " " + p_.expected;
    const std::string value = p_.text ? "\"" + p_.text->source() + "\"" : dump(p_.literal);
    return check_ + (p_.op == Op::equals ? " equals " : " contains ") + value;
  }

  Verdict evaluate(const journeys::Response& response,
                   const journeys::Scope& scope) const noexcept override {
    const json* doc = response.json();
    if (!doc) {
      return Verdict::error(
          check_,
          "body is not JSON (" + journeys::truncate_for_display(response.json_error()) + ")");
    }
    const std::vector<const json*> nodes = path_->select(*doc);
    switch (p_.op) {
      case Op::exists:
        if (nodes.empty()) return Verdict::fail(check_, p_.expected, "no match");
        return Verdict::pass(check_);
      case Op::absent:
        if (nodes.empty()) return Verdict::pass(check_);
        return Verdict::fail(
            check_, p_.expected,
            nodes.size() == 1 ? dump(*nodes[0]) : std::to_string(nodes.size()) + " nodes");
      case Op::count:
        if (nodes.size() == static_cast<std::size_t>(p_.n)) return Verdict::pass(check_);
        return Verdict::fail(check_, p_.expected, "count " + std::to_string(nodes.size()));
      default:
        break;
    }

    journeys::Rendered storage;
    const journeys::Rendered* want = nullptr;
    if (p_.text) {
      std::string error;
      want = p_.text->render(scope, storage, &error);
      if (!want) return Verdict::error(check_, std::move(error));
    }
    if (nodes.empty()) return Verdict::fail(check_, expected(want), "no match");
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (holds(*nodes[i], want)) continue;
      std::string seen = actual(*nodes[i]);
      if (nodes.size() > 1) {
        seen += " (node " + std::to_string(i + 1) + " of " + std::to_string(nodes.size()) + ")";
      }
      return Verdict::fail(check_, expected(want), std::move(seen));
    }
    return Verdict::pass(check_);
  }

 private:
  std::string expected(const journeys::Rendered* want) const {
    if (!want) return p_.expected;
    const std::string shown = detail::quoted(want->shown);
    return p_.op == Op::equals ? shown : "contains " + shown;
  }

  // A string template equals a string with the same text or, when it reads run variables, a
  // non-string whose compact JSON is the text (see the top of the file).
  bool equals_text(const json& j, const journeys::Rendered& want) const {
    if (j.is_string()) return j.get_ref<const std::string&>() == want.value;
    return p_.text->uses_run_scope() &&
           j.dump(-1, ' ', false, json::error_handler_t::replace) == want.value;
  }

  bool holds(const json& j, const journeys::Rendered* want) const {
    switch (p_.op) {
      case Op::equals:
        return want ? equals_text(j, *want) : j == p_.literal;
      case Op::type:
        return has_type(j, p_.type);
      case Op::matches:
        return j.is_string() && re2::RE2::PartialMatch(j.get_ref<const std::string&>(), *p_.re);
      case Op::contains:
        if (j.is_string()) {
          return want && j.get_ref<const std::string&>().find(want->value) != std::string::npos;
        }
        if (j.is_array()) {
          for (const json& e : j) {
            if (want ? equals_text(e, *want) : e == p_.literal) return true;
          }
        }
        return false;
      case Op::length:
        if (j.is_string()) return code_points(j.get_ref<const std::string&>()) == std::size_t(p_.n);
        return (j.is_array() || j.is_object()) && j.size() == static_cast<std::size_t>(p_.n);
      case Op::gt:
        return j.is_number() && compare(j, p_.number) > 0;
      case Op::ge:
        return j.is_number() && compare(j, p_.number) >= 0;
      case Op::lt:
        return j.is_number() && compare(j, p_.number) < 0;
      case Op::le:
        return j.is_number() && compare(j, p_.number) <= 0;
      default:
        return false;
    }
  }

  // What a failing node looked like, in the terms of the predicate.
  std::string actual(const json& j) const {
    switch (p_.op) {
      case Op::equals:
        return dump(j);
      case Op::matches:
        return j.is_string() ? dump(j) : typed(j);
      case Op::contains:
        return j.is_string() || j.is_array() ? dump(j) : typed(j);
      case Op::length:
        if (j.is_string()) {
          return "length " + std::to_string(code_points(j.get_ref<const std::string&>()));
        }
        if (j.is_array() || j.is_object()) return "length " + std::to_string(j.size());
        return typed(j);
      case Op::gt:
      case Op::ge:
      case Op::lt:
      case Op::le:
        return j.is_number() ? dump(j) : typed(j);
      default:
        return typed(j);
    }
  }

  std::shared_ptr<const journeys::JsonPath> path_;
  std::string check_;  // "json $.items[0].id"
  Predicate p_;
};

// ---- building ----

// An equals/contains value as JSON (TOML has no null: `type = "null"` checks for it).
bool to_json(const toml::node& n, const std::string& field, journeys::CheckBuilder& b, json& out) {
  switch (n.type()) {
    case toml::node_type::string:
      out = n.as_string()->get();
      return true;
    case toml::node_type::integer:
      out = n.as_integer()->get();
      return true;
    case toml::node_type::boolean:
      out = n.as_boolean()->get();
      return true;
    case toml::node_type::floating_point: {
      const double v = n.as_floating_point()->get();
      if (!std::isfinite(v)) {
        b.diag().error(n, field + ": nan and inf are not JSON numbers");
        return false;
      }
      out = v;
      return true;
    }
    case toml::node_type::array: {
      out = json::array();
      bool ok = true;
      const toml::array& a = *n.as_array();
      for (std::size_t i = 0; i < a.size(); ++i) {
        json item;
        ok = to_json(*a.get(i), field + "[" + std::to_string(i) + "]", b, item) && ok;
        out.push_back(std::move(item));
      }
      return ok;
    }
    case toml::node_type::table: {
      out = json::object();
      bool ok = true;
      for (auto&& [k, v] : *n.as_table()) {
        json item;
        ok = to_json(v, field + "." + std::string(k.str()), b, item) && ok;
        out[std::string(k.str())] = std::move(item);
      }
      return ok;
    }
    default:
      detail::wrong_type(b, n, field, "a JSON value (write dates and times as strings)");
      return false;
  }
}

// equals/contains: a string (maybe a template) or any other value.
bool expected_value(const toml::node& n, const std::string& field, journeys::CheckBuilder& b,
                    Predicate& p) {
  if (n.is_string()) {
    auto t = b.compile_template(n);
    if (!t) return false;
    p.text.emplace(std::move(*t));
    return true;
  }
  if (!to_json(n, field, b, p.literal)) return false;
  p.expected = (p.op == Op::equals ? "" : "contains ") + dump(p.literal);
  return true;
}

std::optional<Number> number(const toml::node& n, const std::string& field,
                             journeys::CheckBuilder& b) {
  if (auto i = n.as_integer()) return Number{true, i->get(), static_cast<double>(i->get())};
  if (auto f = n.as_floating_point()) {
    if (!std::isfinite(f->get())) {
      b.diag().error(n, field + " must be a finite number");
      return std::nullopt;
    }
    return Number{false, 0, f->get()};
  }
  detail::wrong_type(b, n, field, "a number");
  return std::nullopt;
}

// Parses the predicate `key = n`; false after reporting a problem.
bool parse_predicate(std::string_view key, const toml::node& n, const std::string& field,
                     journeys::CheckBuilder& b, Predicate& p) {
  if (key == "exists") {
    auto flag = n.as_boolean();
    if (!flag) {
      detail::wrong_type(b, n, field, "a boolean");
      return false;
    }
    p.op = flag->get() ? Op::exists : Op::absent;
    p.expected = flag->get() ? "exists" : "does not exist";
    return true;
  }
  if (key == "equals" || key == "contains") {
    p.op = key == "equals" ? Op::equals : Op::contains;
    return expected_value(n, field, b, p);
  }
  if (key == "type") {
    auto s = n.as_string();
    if (!s) {
      detail::wrong_type(b, n, field, "a string (" + detail::join(kTypes, ", ") + ")");
      return false;
    }
    if (std::find(kTypes.begin(), kTypes.end(), s->get()) == kTypes.end()) {
      b.diag().error(n, detail::unknown_key(field, "type", s->get(), kTypes));
      return false;
    }
    p.op = Op::type;
    p.type = s->get();
    p.expected = "type " + p.type;
    return true;
  }
  if (key == "matches") {
    p.op = Op::matches;
    p.re = detail::compile_regex(n, field, b);
    if (!p.re) return false;
    p.expected = "matches " + detail::slashed(p.re->pattern());
    return true;
  }
  if (key == "length" || key == "count") {
    auto v = detail::non_negative_integer(n, field, b);
    if (!v) return false;
    p.op = key == "length" ? Op::length : Op::count;
    p.n = *v;
    p.expected = std::string(key) + " " + std::to_string(*v);
    return true;
  }
  static constexpr struct {
    std::string_view key, symbol;
    Op op;
  } kComparisons[] = {
      {"gt", ">", Op::gt}, {"ge", ">=", Op::ge}, {"lt", "<", Op::lt}, {"le", "<=", Op::le}};
  for (const auto& c : kComparisons) {
    if (key != c.key) continue;
    auto v = number(n, field, b);
    if (!v) return false;
    p.op = c.op;
    p.number = *v;
    p.expected = std::string(c.symbol) + " " + format(*v);
    return true;
  }
  return false;  // not reached: keys are checked against kPredicates first
}

// One `{ path = "...", <predicates> }`; appends one check per predicate.
bool build_entry(const toml::table& spec, const toml::node& at, const std::string& field,
                 journeys::CheckBuilder& b, Checks& out) {
  std::shared_ptr<const journeys::JsonPath> path;
  bool ok = true;
  bool has_path = false;
  std::vector<Predicate> predicates;
  const toml::node* absent_at = nullptr;  // exists = false
  std::string_view needs_node;            // a predicate that contradicts it

  for (const detail::Entry& e : detail::in_file_order(spec)) {
    const std::string_view key = e.key->str();
    const std::string sub = field + "." + std::string(key);
    if (key == "path") {
      has_path = true;
      auto text = e.value->as_string();
      if (!text) {
        detail::wrong_type(b, *e.value, sub, "a string like \"$.items[0].id\"");
        ok = false;
        continue;
      }
      std::string error;
      auto compiled = journeys::JsonPath::compile(text->get(), &error);
      if (!compiled) {
        b.diag().error(*e.value,
                       sub + ": '" + text->get() + "' is not a valid JSON path: " + error);
        ok = false;
        continue;
      }
      path = std::make_shared<const journeys::JsonPath>(std::move(*compiled));
      continue;
    }
    if (std::find(kPredicates.begin(), kPredicates.end(), key) == kPredicates.end()) {
      std::vector<std::string_view> keys = kPredicates;
      keys.push_back("path");
      std::string hint = detail::suggestion(key, keys);
      if (hint.empty()) hint = "use " + detail::join(kPredicates, ", ");
      b.diag().error(e.key->source(),
                     field + ": unknown predicate '" + std::string(key) + "' (" + hint + ")");
      ok = false;
      continue;
    }
    Predicate p;
    if (!parse_predicate(key, *e.value, sub, b, p)) {
      ok = false;
      continue;
    }
    if (p.op == Op::absent) {
      absent_at = e.value;
    } else if (p.op != Op::exists && p.op != Op::count) {
      needs_node = key;
    }
    predicates.push_back(std::move(p));
  }

  if (!has_path) {
    b.diag().error(at, field + ": missing path (e.g. path = \"$.items[0].id\")");
    ok = false;
  }
  if (has_path && spec.size() == 1) {
    b.diag().error(at, field + ": no predicate (use " + detail::join(kPredicates, ", ") + ")");
    ok = false;
  }
  if (absent_at && !needs_node.empty()) {
    b.diag().error(*absent_at, field + ": exists = false contradicts " + std::string(needs_node));
    ok = false;
  }
  if (!ok) return false;
  for (Predicate& p : predicates)
    out.push_back(std::make_shared<JsonCheck>(path, std::move(p)));
  return true;
}

}  // namespace

void build_json(const toml::node& value, journeys::CheckBuilder& b, Checks& out) {
  const toml::array* list = value.as_array();
  if (!list) {
    detail::wrong_type(b, value, "json",
                       "a list of tables like [ { path = \"$.id\", exists = true } ]");
    return;
  }
  if (list->empty()) {
    b.diag().error(value, "json: empty list");
    return;
  }
  Checks built;
  bool ok = true;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const toml::node& n = *list->get(i);
    const std::string field = "json[" + std::to_string(i) + "]";
    if (const toml::table* spec = n.as_table()) {
      ok = build_entry(*spec, n, field, b, built) && ok;
    } else {
      detail::wrong_type(b, n, field, "a table like { path = \"$.id\", exists = true }");
      ok = false;
    }
  }
  if (ok) out.insert(out.end(), built.begin(), built.end());
}

}  // namespace checks
