#include "journeys/diag.hpp"

#include <gtest/gtest.h>
#include <toml++/toml.h>

namespace journeys {
namespace {

using Severity = Diagnostic::Severity;

struct StrCase {
  Diagnostic d;
  std::string want;
};

class DiagnosticStr : public testing::TestWithParam<StrCase> {};

TEST_P(DiagnosticStr, Formats) {
  EXPECT_EQ(GetParam().d.str(), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    All, DiagnosticStr,
    testing::Values(
        StrCase{{Severity::error, {"j.toml", 3, 7}, "step 'browse'", "bad"},
                "j.toml:3:7: step 'browse': bad"},
        StrCase{{Severity::warning, {"j.toml", 3, 7}, "step 'browse'", "tls_verify is false"},
                "j.toml:3:7: warning: step 'browse': tls_verify is false"},
        StrCase{{Severity::error, {"j.toml", 0, 0}, "journey", "no steps"},
                "j.toml: journey: no steps"},
        StrCase{{Severity::error, {"j.toml", 5, 1}, "", "unknown key 'x'"},
                "j.toml:5:1: unknown key 'x'"},
        StrCase{{Severity::warning, {"j.toml", 0, 0}, "", "odd"}, "j.toml: warning: odd"},
        // Unknown column: the line alone is still useful.
        StrCase{{Severity::error, {"j.toml", 4, 0}, "", "m"}, "j.toml:4: m"},
        StrCase{{Severity::error, {"", 0, 0}, "", "no file"}, "no file"}));

TEST(Diagnostics, PositionsComeFromTomlNodes) {
  auto doc =
      toml::parse("name = \"x\"\n\n[[steps]]\n  timeout = 5\n", std::string_view("ignored.toml"));
  Diagnostics diag("journeys/checkout.toml");
  const toml::node* timeout = doc["steps"][0]["timeout"].node();
  ASSERT_NE(timeout, nullptr);

  diag.set_context("step 'browse'");
  diag.error(*timeout, "timeout must be a duration string");
  diag.warning(*doc["name"].node(), "short name");

  ASSERT_EQ(diag.all().size(), 2u);
  EXPECT_EQ(diag.all()[0].str(),
            "journeys/checkout.toml:4:13: step 'browse': timeout must be a duration string");
  EXPECT_EQ(diag.all()[1].str(), "journeys/checkout.toml:1:8: warning: step 'browse': short name");
  EXPECT_TRUE(diag.has_errors());

  const SourcePos pos = diag.pos(doc["steps"][0]["timeout"].node()->source());
  EXPECT_EQ(pos.file, "journeys/checkout.toml");  // the Diagnostics file, not the parser's
  EXPECT_EQ(pos.line, 4);
  EXPECT_EQ(pos.column, 13);
}

TEST(Diagnostics, ErrorAtSourceRegionAndExplicitPosition) {
  auto doc = toml::parse("a = 1\nbcd = 2\n");
  Diagnostics diag("f.toml");
  for (auto&& [key, value] : doc) {
    if (key.str() == "bcd") diag.error(key.source(), "unknown key 'bcd'");
  }
  diag.error(SourcePos{"other.toml", 9, 2}, "explicit");
  ASSERT_EQ(diag.all().size(), 2u);
  EXPECT_EQ(diag.all()[0].str(), "f.toml:2:1: unknown key 'bcd'");
  EXPECT_EQ(diag.all()[1].str(), "other.toml:9:2: explicit");
}

TEST(Diagnostics, WarningsAloneAreNotErrors) {
  Diagnostics diag("f.toml");
  EXPECT_FALSE(diag.has_errors());
  diag.warning(SourcePos{"f.toml", 1, 1}, "w");
  EXPECT_FALSE(diag.has_errors());
  diag.error(SourcePos{"f.toml", 1, 1}, "e");
  EXPECT_TRUE(diag.has_errors());
  auto taken = diag.take();
  EXPECT_EQ(taken.size(), 2u);
}

TEST(Diagnostics, ContextScopeRestoresThePreviousContext) {
  Diagnostics diag("f.toml");
  diag.set_context("journey");
  {
    ContextScope step(diag, "step 'a'");
    diag.error(SourcePos{}, "inner");
    {
      ContextScope capture(diag, "step 'a' capture 'id'");
      EXPECT_EQ(diag.context(), "step 'a' capture 'id'");
    }
    EXPECT_EQ(diag.context(), "step 'a'");
  }
  diag.error(SourcePos{}, "outer");
  EXPECT_EQ(diag.all()[0].context, "step 'a'");
  EXPECT_EQ(diag.all()[1].context, "journey");
}

TEST(LoadError, WhatJoinsEveryDiagnostic) {
  std::vector<Diagnostic> ds{
      {Severity::error, {"a.toml", 1, 2}, "journey", "first"},
      {Severity::warning, {"a.toml", 3, 4}, "", "second"},
      {Severity::error, {"b.toml", 0, 0}, "", "third"},
  };
  LoadError e(ds);
  EXPECT_STREQ(e.what(), "a.toml:1:2: journey: first\na.toml:3:4: warning: second\nb.toml: third");
  EXPECT_EQ(e.diagnostics().size(), 3u);
  EXPECT_EQ(e.diagnostics()[2].message, "third");
}

struct MeanCase {
  std::string word;
  std::vector<std::string_view> candidates;
  std::string want;
};

class DidYouMean : public testing::TestWithParam<MeanCase> {};

TEST_P(DidYouMean, Suggests) {
  EXPECT_EQ(did_you_mean(GetParam().word, GetParam().candidates), GetParam().want);
}

const std::vector<std::string_view> kExpect{"status",  "latency_ms",    "latency",
                                            "headers", "body_contains", "json"};

INSTANTIATE_TEST_SUITE_P(
    All, DidYouMean,
    testing::Values(MeanCase{"latency_sm", kExpect, "latency_ms"},   // distance 2 <= 10/3
                    MeanCase{"stauts", kExpect, "status"},           // distance 2 <= 6/3
                    MeanCase{"Status", kExpect, "status"},           // case only
                    MeanCase{"HEADERS", kExpect, "headers"},         // case beats distance
                    MeanCase{"jsn", kExpect, "json"},                // distance 1 = max(1, 1)
                    MeanCase{"xml", kExpect, ""},                    // nothing close
                    MeanCase{"body", kExpect, ""},                   // too far from body_contains
                    MeanCase{"latency_msx", kExpect, "latency_ms"},  // the closest wins
                    MeanCase{"a", {"b", "ab"}, "b"},                 // ties: first candidate
                    MeanCase{"anything", {}, ""},
                    MeanCase{"", {"x"}, "x"}));  // distance 1 <= max(1, 0)

}  // namespace
}  // namespace journeys
