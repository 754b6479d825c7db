// The one table of check kinds. Adding a kind: a new file with a build function (declared in
// kinds.hpp) and one line below.

#include "checks/registry.hpp"

#include <array>
#include <string_view>
#include <vector>

#include "checks/kinds.hpp"

namespace checks {
namespace {

using journeys::CheckKind;

constexpr std::array kKinds = {
    CheckKind{"status", "200, \"2xx\", \"200-299\", or a list of these", build_status},
    CheckKind{"latency_ms", "a number of milliseconds: total time <= value", build_latency_ms},
    CheckKind{"latency", "{ total_ms, dns_ms, connect_ms, tls_ms, first_byte_ms } (any subset)",
              build_latency},
    CheckKind{"headers", "{ Name = \"value\" } or { Name = { exists, equals, contains, matches } }",
              build_headers},
    CheckKind{"body_contains", "a string or a list of strings the body must contain",
              build_body_contains},
    CheckKind{"body_not_contains", "a string or a list of strings the body must not contain",
              build_body_not_contains},
    CheckKind{"body_regex", "an RE2 pattern or a list; each must match somewhere in the body",
              build_body_regex},
    CheckKind{"body_size", "{ min, max } in bytes", build_body_size},
    CheckKind{"json", "a list of { path = \"$.a.b\", <predicates> }", build_json},
    CheckKind{"tls", "{ days_left = 14 }: the certificate expires in more than 14 days", build_tls},
};

class Catalog final : public journeys::CheckCatalog {
 public:
  const CheckKind* find(std::string_view key) const override {
    for (const CheckKind& kind : kKinds) {
      if (kind.key == key) return &kind;
    }
    return nullptr;
  }

  std::vector<std::string_view> keys() const override {
    std::vector<std::string_view> keys;
    keys.reserve(kKinds.size());
    for (const CheckKind& kind : kKinds)
      keys.push_back(kind.key);
    return keys;
  }
};

}  // namespace

const journeys::CheckCatalog& catalog() {
  static const Catalog instance;
  return instance;
}

}  // namespace checks
