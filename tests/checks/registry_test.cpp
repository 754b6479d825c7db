// The catalog: exactly the documented keys, each with help and a build function that works.
#include "checks/registry.hpp"

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "checks/builder_fake.hpp"

namespace checks {
namespace {

TEST(Registry, ListsEveryKindInOrder) {
  const std::vector<std::string_view> want = {
      "status",     "latency_ms", "latency", "headers", "body_contains", "body_not_contains",
      "body_regex", "body_size",  "json",    "tls"};
  EXPECT_EQ(catalog().keys(), want);
}

TEST(Registry, IsOneInstance) {
  EXPECT_EQ(&catalog(), &catalog());
}

TEST(Registry, UnknownKeysAreNotFound) {
  EXPECT_EQ(catalog().find("nope"), nullptr);
  EXPECT_EQ(catalog().find(""), nullptr);
  EXPECT_EQ(catalog().find("Status"), nullptr);  // keys are exact; the loader suggests
  EXPECT_EQ(catalog().find("status "), nullptr);
}

struct KindCase {
  const char* key;
  const char* example;  // a valid value
  const char* reason;
  std::size_t checks;  // how many checks the example builds
  friend void PrintTo(const KindCase& c, std::ostream* os) { *os << c.key << " = " << c.example; }
};

class RegistryKind : public ::testing::TestWithParam<KindCase> {};

TEST_P(RegistryKind, FindsAndBuilds) {
  const KindCase& c = GetParam();
  const journeys::CheckKind* kind = catalog().find(c.key);
  ASSERT_NE(kind, nullptr);
  EXPECT_EQ(kind->key, c.key);
  EXPECT_FALSE(kind->help.empty());
  ASSERT_NE(kind->build, nullptr);

  testing::Built built = testing::build(kind->build, c.example);
  EXPECT_TRUE(built.errors.empty()) << ::testing::PrintToString(built.errors);
  ASSERT_EQ(built.checks.size(), c.checks);
  for (const journeys::CheckPtr& check : built.checks) {
    EXPECT_EQ(check->reason(), c.reason);
    EXPECT_FALSE(check->describe().empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, RegistryKind,
    ::testing::Values(
        KindCase{"status", R"([200, "3xx"])", "status", 1},
        KindCase{"latency_ms", "500", "latency", 1},
        KindCase{"latency", "{ total_ms = 800, first_byte_ms = 300 }", "latency", 2},
        KindCase{"headers", R"({ "Content-Type" = "text/html", X = { exists = true } })", "header",
                 2},
        KindCase{"body_contains", R"(["a", "b"])", "body", 2},
        KindCase{"body_not_contains", R"("error")", "body", 1},
        KindCase{"body_regex", R"('\d+')", "body", 1},
        KindCase{"body_size", "{ max = 10 }", "body", 1},
        KindCase{"json", R"([ { path = "$.id", exists = true, type = "integer" } ])", "json", 2},
        KindCase{"tls", "{ days_left = 14 }", "tls", 1}));

TEST(Registry, EveryKindHasAnExample) {
  // Adding a kind to the catalog without a case above fails here.
  EXPECT_EQ(catalog().keys().size(), 10u);
}

}  // namespace
}  // namespace checks
