// `latency_ms` and `latency`: a phase of the exchange took at most a threshold.
//
//   latency_ms = 500                                  total time <= 500 ms
//   latency = { total_ms = 800, first_byte_ms = 300 } each phase <= its value
//
// Each phase is its own check, so a report names exactly the phase that was slow.

#include <string>
#include <string_view>
#include <vector>

#include "checks/kinds.hpp"

namespace checks {
namespace {

using journeys::Timings;
using journeys::Verdict;

struct Phase {
  std::string_view key;   // under `latency`
  std::string_view name;  // in verdicts: "latency first_byte"
  double Timings::*field;
};

constexpr Phase kPhases[] = {
    {"total_ms", "total", &Timings::total_ms},
    {"dns_ms", "dns", &Timings::dns_ms},
    {"connect_ms", "connect", &Timings::connect_ms},
    {"tls_ms", "tls", &Timings::tls_ms},
    {"first_byte_ms", "first_byte", &Timings::first_byte_ms},
};

class LatencyCheck final : public journeys::Check {
 public:
  LatencyCheck(const Phase& phase, double limit_ms)
      : phase_(phase),
        limit_ms_(limit_ms),
        check_("latency " + std::string(phase.name)),
        expected_("<= " + detail::format_number(limit_ms) + " ms") {}

  std::string_view reason() const noexcept override { return "latency"; }
  std::string describe() const override { return check_ + " " + expected_; }

  Verdict evaluate(const journeys::Response& response,
                   const journeys::Scope&) const noexcept override {
    const double took = response.timings.*phase_.field;
    if (took <= limit_ms_) return Verdict::pass(check_);
    return Verdict::fail(check_, expected_, detail::format_ms(took) + " ms");
  }

 private:
  const Phase& phase_;
  double limit_ms_;
  std::string check_;     // "latency total"
  std::string expected_;  // "<= 500 ms"
};

std::vector<std::string_view> phase_keys() {
  std::vector<std::string_view> keys;
  for (const Phase& p : kPhases)
    keys.push_back(p.key);
  return keys;
}

}  // namespace

void build_latency_ms(const toml::node& value, journeys::CheckBuilder& b, Checks& out) {
  if (auto limit = detail::positive_number(value, "latency_ms", b)) {
    out.push_back(std::make_shared<LatencyCheck>(kPhases[0], *limit));
  }
}

void build_latency(const toml::node& value, journeys::CheckBuilder& b, Checks& out) {
  const toml::table* table = value.as_table();
  if (!table) {
    detail::wrong_type(b, value, "latency", "a table like { total_ms = 500, first_byte_ms = 200 }");
    return;
  }
  const std::string use = "(use " + detail::join(phase_keys(), ", ") + ")";
  if (table->empty()) {
    b.diag().error(value, "latency: no phase given " + use);
    return;
  }
  Checks built;
  bool ok = true;
  for (const detail::Entry& e : detail::in_file_order(*table)) {
    const std::string_view key = e.key->str();
    const Phase* phase = nullptr;
    for (const Phase& p : kPhases) {
      if (p.key == key) phase = &p;
    }
    if (!phase) {
      // Always the full list: there are only five, and the intent ("ttfb") is often a synonym
      // that no edit distance would find.
      b.diag().error(e.key->source(), "latency: unknown phase '" + std::string(key) + "' " + use);
      ok = false;
      continue;
    }
    if (auto limit = detail::positive_number(*e.value, "latency." + std::string(key), b)) {
      built.push_back(std::make_shared<LatencyCheck>(*phase, *limit));
    } else {
      ok = false;
    }
  }
  if (ok) out.insert(out.end(), built.begin(), built.end());
}

}  // namespace checks
