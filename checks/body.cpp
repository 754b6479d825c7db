// Checks on the response body:
//
//   body_contains = "order_id"          or a list: each must occur (may be templates)
//   body_not_contains = ["error", "Exception"]   none may occur (may be templates)
//   body_regex = 'order-\d+'            or a list: each RE2 pattern matches somewhere
//   body_size = { min = 1, max = 65536 }   in bytes, at least one bound
//
// Each string or pattern of a list is its own check, so a report names the one that failed.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checks/kinds.hpp"

namespace checks {
namespace {

using journeys::Verdict;

// The body around an occurrence at [pos, pos+len), on UTF-8 boundaries, for body_not_contains.
std::string_view excerpt(std::string_view body, std::size_t pos, std::size_t len) {
  constexpr std::size_t kContext = 30;
  auto continuation = [&](std::size_t i) {
    return i < body.size() && (static_cast<unsigned char>(body[i]) & 0xC0) == 0x80;
  };
  std::size_t begin = pos > kContext ? pos - kContext : 0;
  while (begin > 0 && continuation(begin))
    --begin;
  std::size_t end = std::min(body.size(), pos + std::min<std::size_t>(len, 60) + kContext);
  while (continuation(end))
    ++end;
  return body.substr(begin, end - begin);
}

class BodyContainsCheck final : public journeys::Check {
 public:
  BodyContainsCheck(bool negate, detail::ExpectedText text)
      : negate_(negate), text_(std::move(text)) {}

  std::string_view reason() const noexcept override { return "body"; }
  std::string describe() const override {
    return std::string(negate_ ? "body does not contain \"" : "body contains \"") + text_.source() +
           "\"";
  }

  Verdict evaluate(const journeys::Response& response,
                   const journeys::Scope& scope) const noexcept override {
    const std::string_view check = negate_ ? "body_not_contains" : "body_contains";
    journeys::Rendered storage;
    std::string error;
    const journeys::Rendered* want = text_.render(scope, storage, &error);
    if (!want) return Verdict::error(std::string(check), std::move(error));

    const std::size_t at = response.body.find(want->value);
    if (!negate_) {
      if (at != std::string::npos) return Verdict::pass(std::string(check));
      return Verdict::fail(std::string(check), detail::quoted(want->shown),
                           detail::quoted(response.body));
    }
    if (at == std::string::npos) return Verdict::pass(std::string(check));
    return Verdict::fail(std::string(check), "no " + detail::quoted(want->shown),
                         detail::quoted(excerpt(response.body, at, want->value.size())) +
                             " at byte " + std::to_string(at));
  }

 private:
  bool negate_;
  detail::ExpectedText text_;
};

class BodyRegexCheck final : public journeys::Check {
 public:
  explicit BodyRegexCheck(std::shared_ptr<const re2::RE2> re) : re_(std::move(re)) {}

  std::string_view reason() const noexcept override { return "body"; }
  std::string describe() const override {
    return "body matches " + detail::slashed(re_->pattern());
  }

  Verdict evaluate(const journeys::Response& response,
                   const journeys::Scope&) const noexcept override {
    if (re2::RE2::PartialMatch(response.body, *re_)) return Verdict::pass("body_regex");
    return Verdict::fail("body_regex", "matches " + detail::slashed(re_->pattern()),
                         detail::quoted(response.body));
  }

 private:
  std::shared_ptr<const re2::RE2> re_;
};

class BodySizeCheck final : public journeys::Check {
 public:
  BodySizeCheck(std::optional<std::int64_t> min, std::optional<std::int64_t> max)
      : min_(min), max_(max) {
    if (min_ && max_) {
      expected_ = std::to_string(*min_) + ".." + std::to_string(*max_) + " bytes";
    } else if (min_) {
      expected_ = ">= " + std::to_string(*min_) + " bytes";
    } else {
      expected_ = "<= " + std::to_string(*max_) + " bytes";
    }
  }

  std::string_view reason() const noexcept override { return "body"; }
  std::string describe() const override { return "body size " + expected_; }

  Verdict evaluate(const journeys::Response& response,
                   const journeys::Scope&) const noexcept override {
    const auto size = static_cast<std::int64_t>(response.body.size());
    if ((!min_ || size >= *min_) && (!max_ || size <= *max_)) return Verdict::pass("body_size");
    return Verdict::fail("body_size", expected_, std::to_string(size) + " bytes");
  }

 private:
  std::optional<std::int64_t> min_;
  std::optional<std::int64_t> max_;
  std::string expected_;  // "1..65536 bytes", ">= 1 bytes", "<= 65536 bytes"
};

void build_contains(const toml::node& value, std::string_view key, bool negate,
                    journeys::CheckBuilder& b, Checks& out) {
  Checks built;
  bool ok = true;
  const bool typed =
      detail::for_each_item(value, key, b, {toml::node_type::string}, "a string",
                            [&](const toml::node& n, const std::string& field) {
                              if (n.as_string()->get().empty()) {
                                b.diag().error(n, field + " must not be an empty string");
                                ok = false;
                                return;
                              }
                              if (auto t = b.compile_template(n)) {
                                built.push_back(std::make_shared<BodyContainsCheck>(
                                    negate, detail::ExpectedText(std::move(*t))));
                              } else {
                                ok = false;
                              }
                            });
  if (ok && typed) out.insert(out.end(), built.begin(), built.end());
}

}  // namespace

void build_body_contains(const toml::node& value, journeys::CheckBuilder& b, Checks& out) {
  build_contains(value, "body_contains", false, b, out);
}

void build_body_not_contains(const toml::node& value, journeys::CheckBuilder& b, Checks& out) {
  build_contains(value, "body_not_contains", true, b, out);
}

void build_body_regex(const toml::node& value, journeys::CheckBuilder& b, Checks& out) {
  Checks built;
  bool ok = true;
  const bool typed = detail::for_each_item(
      value, "body_regex", b, {toml::node_type::string}, "a string (an RE2 pattern)",
      [&](const toml::node& n, const std::string& field) {
        if (auto re = detail::compile_regex(n, field, b)) {
          built.push_back(std::make_shared<BodyRegexCheck>(std::move(re)));
        } else {
          ok = false;
        }
      });
  if (ok && typed) out.insert(out.end(), built.begin(), built.end());
}

void build_body_size(const toml::node& value, journeys::CheckBuilder& b, Checks& out) {
  const toml::table* table = value.as_table();
  if (!table) {
    detail::wrong_type(b, value, "body_size", "a table like { min = 1, max = 65536 }");
    return;
  }
  std::optional<std::int64_t> min, max;
  bool ok = true;
  for (const detail::Entry& e : detail::in_file_order(*table)) {
    const std::string_view key = e.key->str();
    if (key == "min" || key == "max") {
      auto v = detail::non_negative_integer(*e.value, "body_size." + std::string(key), b);
      if (!v) ok = false;
      (key == "min" ? min : max) = v;
    } else {
      b.diag().error(e.key->source(), detail::unknown_key("body_size", "key", key, {"min", "max"}));
      ok = false;
    }
  }
  if (!ok) return;
  if (!min && !max) {
    b.diag().error(value, "body_size: give min, max or both (in bytes)");
    return;
  }
  if (min && max && *min > *max) {
    b.diag().error(value, "body_size: min (" + std::to_string(*min) + ") is greater than max (" +
                              std::to_string(*max) + ")");
    return;
  }
  out.push_back(std::make_shared<BodySizeCheck>(min, max));
}

}  // namespace checks
