// `tls`: the leaf certificate of the response is not about to expire.
//
//   tls = { days_left = 14 }     passes while the certificate expires in more than 14 days
//
// Evaluated against the system clock: the check warns ahead of the expiry, so a second does not
// matter, and the transport records not_after once per handshake.

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "checks/kinds.hpp"

namespace checks {
namespace {

using journeys::Verdict;

constexpr std::int64_t kSecondsPerDay = 24 * 60 * 60;
constexpr std::int64_t kMaxDays = 36500;

std::string days(std::int64_t n) {
  return std::to_string(n) + (n == 1 ? " day" : " days");
}

// 2025-01-31T12:00:00Z
std::string utc(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  char buf[32];
  if (!gmtime_r(&t, &tm) || !std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
    return "@" + std::to_string(unix_seconds);
  }
  return buf;
}

class TlsCheck final : public journeys::Check {
 public:
  explicit TlsCheck(std::int64_t days_left)
      : days_left_(days_left), expected_("more than " + days(days_left) + " left") {}

  std::string_view reason() const noexcept override { return "tls"; }
  std::string describe() const override {
    return "tls certificate expires in more than " + days(days_left_);
  }

  Verdict evaluate(const journeys::Response& response,
                   const journeys::Scope&) const noexcept override {
    if (!response.tls.used) return Verdict::error("tls", "not a TLS response");
    if (!response.tls.not_after_unix) {
      return Verdict::error("tls", "the certificate's expiry is unknown");
    }
    const std::int64_t not_after = *response.tls.not_after_unix;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    // Compared as (not_after - now) > days * 86400 without overflowing on absurd dates.
    const std::int64_t margin = days_left_ * kSecondsPerDay;
    if (not_after > now && not_after - now > margin) return Verdict::pass("tls");
    if (not_after <= now) return Verdict::fail("tls", expected_, "expired " + utc(not_after));
    return Verdict::fail(
        "tls", expected_,
        days((not_after - now) / kSecondsPerDay) + " left (expires " + utc(not_after) + ")");
  }

 private:
  std::int64_t days_left_;
  std::string expected_;  // "more than 14 days left"
};

}  // namespace

void build_tls(const toml::node& value, journeys::CheckBuilder& b, Checks& out) {
  const toml::table* table = value.as_table();
  if (!table) {
    detail::wrong_type(b, value, "tls", "a table like { days_left = 14 }");
    return;
  }
  std::optional<std::int64_t> days_left;
  bool ok = true;
  for (const detail::Entry& e : detail::in_file_order(*table)) {
    const std::string_view key = e.key->str();
    if (key != "days_left") {
      b.diag().error(e.key->source(), detail::unknown_key("tls", "key", key, {"days_left"}));
      ok = false;
      continue;
    }
    days_left = detail::non_negative_integer(*e.value, "tls.days_left", b);
    if (!days_left) {
      ok = false;
    } else if (*days_left > kMaxDays) {
      b.diag().error(*e.value, "tls.days_left must be at most " + std::to_string(kMaxDays));
      ok = false;
    }
  }
  if (ok && !days_left) {
    b.diag().error(value, "tls: missing days_left (e.g. { days_left = 14 })");
    return;
  }
  if (ok) out.push_back(std::make_shared<TlsCheck>(*days_left));
}

}  // namespace checks
