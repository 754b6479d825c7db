// The CUJ catalog: loading cujs.toml, its located errors, and what it says about journeys.
#include "journeys/catalog.hpp"

#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace journeys {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Every diagnostic of a catalog that must fail to load, as "line:col: message".
std::vector<std::string> errors_of(const std::string& text) {
  try {
    load_catalog_string(text, "cujs.toml");
  } catch (const LoadError& e) {
    std::vector<std::string> out;
    for (const Diagnostic& d : e.diagnostics()) {
      EXPECT_EQ(d.pos.file, "cujs.toml");
      out.push_back(d.str());
    }
    return out;
  }
  ADD_FAILURE() << "loaded without errors:\n" << text;
  return {};
}

JourneyPtr journey(std::string name, std::string cuj, int line) {
  auto j = std::make_shared<Journey>();
  j->name = std::move(name);
  j->cuj = std::move(cuj);
  j->pos = SourcePos{j->name + ".toml", line, 8};
  return j;
}

TEST(Catalog, LoadsEveryField) {
  Catalog c = load_catalog_string(R"(
[[cuj]]
name = "purchase"
rank = 1
owner = "checkout-team"
description = "Pay for a product"
locations = ["edge-a", "edge-b"]

[[cuj]]
name = "browse"
rank = 3
)",
                                  "cujs.toml");
  ASSERT_EQ(c.cujs.size(), 2u);
  EXPECT_EQ(c.file, "cujs.toml");
  const Cuj& p = c.cujs[0];
  EXPECT_EQ(p.name, "purchase");
  EXPECT_EQ(p.rank, 1);
  EXPECT_EQ(p.owner, "checkout-team");
  EXPECT_EQ(p.description, "Pay for a product");
  EXPECT_THAT(p.locations, ElementsAre("edge-a", "edge-b"));
  EXPECT_EQ(p.pos.line, 2);
  const Cuj& b = c.cujs[1];
  EXPECT_EQ(b.name, "browse");
  EXPECT_EQ(b.rank, 3);
  EXPECT_TRUE(b.owner.empty());
  EXPECT_TRUE(b.locations.empty());
  EXPECT_EQ(c.find("browse"), &b);
  EXPECT_EQ(c.find("nope"), nullptr);
}

TEST(Catalog, UnknownKeysHaveLocationAndHint) {
  EXPECT_THAT(errors_of(R"([[cuj]]
name = "purchase"
rank = 1
ownr = "x"
)"),
              ElementsAre("cujs.toml:4:8: cuj 'purchase': unknown key 'ownr' (did you mean "
                          "'owner'?)"));
  EXPECT_THAT(errors_of("[[cujs]]\nname = \"a\"\n"),
              ElementsAre(HasSubstr("unknown key 'cujs' (did you mean 'cuj'?)")));
}

TEST(Catalog, EveryErrorAtOnceInFileOrder) {
  std::vector<std::string> errors = errors_of(R"([[cuj]]
name = "purchase"
rank = 0

[[cuj]]
name = "purchase"
rank = "high"
owner = 7
locations = ["a", 1, "a"]

[[cuj]]
owner = "nobody"
)");
  EXPECT_THAT(
      errors,
      ElementsAre("cujs.toml:3:8: cuj 'purchase': 'rank' must be 1 or more (1 = most business "
                  "impact), not 0",
                  "cujs.toml:6:8: cuj: CUJ 'purchase' is already defined at line 2",
                  "cujs.toml:7:8: cuj: 'rank' must be an integer (1 = most business impact), not "
                  "a string",
                  "cujs.toml:8:9: cuj: 'owner' must be a string, not an integer",
                  "cujs.toml:9:13: cuj: location 'a' is listed twice",
                  "cujs.toml:9:19: cuj: 'locations' must contain only strings, not an integer",
                  "cujs.toml:11:1: cuj: missing required key 'name'",
                  "cujs.toml:11:1: cuj: missing required key 'rank'"));
}

TEST(Catalog, MissingFileAndSyntaxError) {
  try {
    load_catalog_file("/nonexistent/cujs.toml");
    FAIL() << "no error";
  } catch (const LoadError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_THAT(e.diagnostics()[0].str(),
                HasSubstr("/nonexistent/cujs.toml: cannot read file: No such file"));
  }
  EXPECT_THAT(errors_of("[[cuj]\nname = 1\n"), ElementsAre(HasSubstr("cujs.toml:1:")));
  EXPECT_THAT(errors_of("[[cuj]\n"), ElementsAre(HasSubstr("syntax error")));
  EXPECT_THAT(errors_of("# nothing\n"),
              ElementsAre("cujs.toml: no CUJ in the catalog (add a [[cuj]] table)"));
  EXPECT_THAT(errors_of("cuj = 3\n"),
              ElementsAre("cujs.toml:1:7: 'cuj' must be an array of tables ([[cuj]]), not an "
                          "integer"));
}

TEST(Catalog, JourneysNamingUnknownCujsAreWarned) {
  Catalog c = load_catalog_string(
      "[[cuj]]\nname = \"purchase\"\nrank = 1\n"
      "[[cuj]]\nname = \"account\"\nrank = 2\n",
      "cujs.toml");
  std::vector<JourneyPtr> js = {journey("checkout", "purchase", 1), journey("login", "acount", 2),
                                journey("misc", "", 3), journey("ops", "zzzzzzzz", 4)};
  std::vector<Diagnostic> w = check_journey_cujs(c, js);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].severity, Diagnostic::Severity::warning);
  EXPECT_EQ(w[0].str(),
            "login.toml:2:8: warning: journey 'login': CUJ 'acount' is not in the catalog "
            "cujs.toml (did you mean 'account'?)");
  EXPECT_EQ(w[1].str(),
            "ops.toml:4:8: warning: journey 'ops': CUJ 'zzzzzzzz' is not in the catalog cujs.toml");
}

TEST(Catalog, UncoveredCujsInRankOrder) {
  Catalog c = load_catalog_string(R"(
[[cuj]]
name = "zeta"
rank = 2
[[cuj]]
name = "purchase"
rank = 1
[[cuj]]
name = "alpha"
rank = 2
[[cuj]]
name = "returns"
rank = 1
)",
                                  "cujs.toml");
  std::vector<std::string> names;
  for (const Cuj* u : uncovered_cujs(c, {journey("checkout", "purchase", 1)}))
    names.push_back(u->name);
  EXPECT_THAT(names, ElementsAre("returns", "alpha", "zeta"));
}

}  // namespace
}  // namespace journeys
