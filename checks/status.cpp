// `status`: the response status is one of a set of codes, classes or ranges.
//
//   status = 200            status = "2xx"            status = "200-299"
//   status = [200, 204, "3xx"]
//
// Everything is parsed into closed ranges at load time; evaluation is a few comparisons.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checks/kinds.hpp"

namespace checks {
namespace {

using journeys::Verdict;

constexpr int kMinStatus = 100;
constexpr int kMaxStatus = 599;
constexpr std::string_view kUse = "(use 1xx..5xx, 200, or 200-299)";

struct StatusRange {
  int lo;
  int hi;
};

class StatusCheck final : public journeys::Check {
 public:
  StatusCheck(std::vector<StatusRange> ranges, std::string expected)
      : ranges_(std::move(ranges)), expected_(std::move(expected)) {}

  std::string_view reason() const noexcept override { return "status"; }
  std::string describe() const override { return "status is " + expected_; }

  Verdict evaluate(const journeys::Response& response,
                   const journeys::Scope&) const noexcept override {
    for (const StatusRange& r : ranges_) {
      if (response.status >= r.lo && response.status <= r.hi) return Verdict::pass("status");
    }
    return Verdict::fail("status", expected_, std::to_string(response.status));
  }

 private:
  std::vector<StatusRange> ranges_;
  std::string expected_;  // "200, 204 or 3xx"
};

bool is_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// A code of at most 3 digits (longer ones are out of range anyway), or -1.
int to_code(std::string_view s) {
  if (!is_digits(s) || s.size() > 3) return -1;
  int v = 0;
  for (char c : s)
    v = v * 10 + (c - '0');
  return v;
}

bool valid_code(int code) {
  return code >= kMinStatus && code <= kMaxStatus;
}

// One entry: 200, "2xx", "200", "200-299". Appends its range and its display form.
bool parse_entry(const toml::node& n, const std::string& field, journeys::CheckBuilder& b,
                 std::vector<StatusRange>& ranges, std::vector<std::string>& shown) {
  if (auto i = n.as_integer()) {
    const std::int64_t code = i->get();
    if (code < kMinStatus || code > kMaxStatus) {
      b.diag().error(
          n, field + ": " + std::to_string(code) + " is not an HTTP status code (use 100..599)");
      return false;
    }
    ranges.push_back({static_cast<int>(code), static_cast<int>(code)});
    shown.push_back(std::to_string(code));
    return true;
  }

  const std::string& s = n.as_string()->get();
  const std::string quoted = "'" + s + "'";
  // A class: "2xx" (any case of the x's).
  if (s.size() == 3 && (s[1] == 'x' || s[1] == 'X') && (s[2] == 'x' || s[2] == 'X')) {
    if (s[0] < '1' || s[0] > '5') {
      b.diag().error(n, field + ": " + quoted + " is not a status class " + std::string(kUse));
      return false;
    }
    const int base = (s[0] - '0') * 100;
    ranges.push_back({base, base + 99});
    shown.push_back(std::string(1, s[0]) + "xx");
    return true;
  }
  // A range: "200-299".
  if (const auto dash = s.find('-'); dash != std::string::npos) {
    const std::string_view text(s);
    const int lo = to_code(text.substr(0, dash));
    const int hi = to_code(text.substr(dash + 1));
    if (!is_digits(text.substr(0, dash)) || !is_digits(text.substr(dash + 1))) {
      b.diag().error(n, field + ": " + quoted + " is not a status range " + std::string(kUse));
      return false;
    }
    if (!valid_code(lo) || !valid_code(hi)) {
      b.diag().error(n, field + ": " + quoted + " is not a status range (codes are 100..599)");
      return false;
    }
    if (lo > hi) {
      b.diag().error(n, field + ": " + quoted + " is not a status range (" + std::to_string(lo) +
                            " is greater than " + std::to_string(hi) + ")");
      return false;
    }
    ranges.push_back({lo, hi});
    shown.push_back(std::to_string(lo) + "-" + std::to_string(hi));
    return true;
  }
  // A code written as a string: "200".
  if (is_digits(s)) {
    const int code = to_code(s);
    if (!valid_code(code)) {
      b.diag().error(n, field + ": " + quoted + " is not an HTTP status code (use 100..599)");
      return false;
    }
    ranges.push_back({code, code});
    shown.push_back(std::to_string(code));
    return true;
  }
  b.diag().error(n, field + ": " + quoted + " is not a status " + std::string(kUse));
  return false;
}

// "200", "200 or 204", "200, 204 or 3xx"
std::string join_alternatives(const std::vector<std::string>& items) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) s += i + 1 == items.size() ? " or " : ", ";
    s += items[i];
  }
  return s;
}

}  // namespace

void build_status(const toml::node& value, journeys::CheckBuilder& b, Checks& out) {
  std::vector<StatusRange> ranges;
  std::vector<std::string> shown;
  bool ok = true;
  const bool all_typed =
      detail::for_each_item(value, "status", b, {toml::node_type::integer, toml::node_type::string},
                            "an integer code or a string like \"2xx\" or \"200-299\"",
                            [&](const toml::node& n, const std::string& field) {
                              ok = parse_entry(n, field, b, ranges, shown) && ok;
                            });
  if (!ok || !all_typed) return;
  out.push_back(std::make_shared<StatusCheck>(std::move(ranges), join_alternatives(shown)));
}

}  // namespace checks
