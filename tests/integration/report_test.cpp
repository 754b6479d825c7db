// `prober report` and `prober check --cujs` as a user runs them: the real binary on the fixture
// store of tests/prober/report_fixture.hpp (hand-computed numbers in tests/prober/report_test.cpp),
// its output and its exit codes (0 ok, 2 usage, journey, catalog or database errors).

#include <cstdlib>
#include <regex>
#include <stdexcept>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/prober/report_fixture.hpp"
#include "tests/support/proc.hpp"

namespace {

using nlohmann::json;
using testing::HasSubstr;
using testing::Not;
using testing_support::Output;
using testing_support::TempDir;
namespace fx = report_fixture;

using testing_support::env_or_die;

const std::string& prober() {
  static std::string p = env_or_die("PROBER");
  return p;
}
const std::string& examples() {
  static std::string p = env_or_die("EXAMPLES_DIR");
  return p;
}

const char* kUntil = "2027-01-15T08:00:00Z";  // fx::kUntil

std::string squeeze(const std::string& s) {
  return std::regex_replace(s, std::regex(" +"), " ");
}

class ReportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    checkout_ = tmp_.write("journeys/checkout.toml", fx::kCheckout);
    login_ = tmp_.write("journeys/login.toml", fx::kLogin);
    cujs_ = tmp_.write("cujs.toml", fx::kCujs);
    db_ = tmp_.path() + "/data/prober.db";
    tmp_.write("data/.keep", "");
    fx::write_db(db_);
  }
  Output report(std::vector<std::string> extra) {
    std::vector<std::string> argv{prober(),  "report", tmp_.path() + "/journeys", "--cujs", cujs_,
                                  "--until", kUntil};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing_support::run(argv);
  }

  TempDir tmp_;
  std::string checkout_, login_, cujs_, db_;
};

TEST_F(ReportCli, TextFromDataDir) {
  Output o = report({"--data-dir", tmp_.path() + "/data"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out.find('\033'), std::string::npos) << "no colour into a pipe";
  const std::string t = squeeze(o.out);
  EXPECT_LT(o.out.find("journey checkout"), o.out.find("journey login"));
  EXPECT_THAT(t, HasSubstr(" all locations 9 4 1 44.44% 90.00% -455.6% 5.56x\n"));
  EXPECT_THAT(
      t, HasSubstr(" browse 9 6 0 66.66% 90.00% -233.3% 3.33x 250 ms 700 ms 700 ms 500 ms 1\n"));
  EXPECT_THAT(t, HasSubstr("latency SLO browse <= 500 ms: 75.00% of 8 (good 6)"));
  EXPECT_THAT(t, HasSubstr(" 2 pay status expected status 200, got 500 (edge-b, "));
  EXPECT_THAT(t, HasSubstr("coverage gaps: 10\n"));
  EXPECT_THAT(t,
              HasSubstr("cuj_no_journey " + cujs_ + ":14:1 CUJ 'returns' (rank 3) has no journey"));
  EXPECT_THAT(t, HasSubstr("location_never_ran checkout location 'edge-c' never ran journey"));
}

TEST_F(ReportCli, JsonToFile) {
  const std::string out = tmp_.path() + "/report.json";
  Output o = report({"--db", db_, "--format", "json", "--out", out});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "");
  json doc = json::parse(testing_support::read_file(out));
  EXPECT_EQ(doc["db"], db_);
  const json& c = doc["journeys"][0];
  EXPECT_EQ(c["name"], "checkout");
  EXPECT_EQ(c["runs"]["valid"], 9);
  EXPECT_NEAR(c["availability"]["burn_rate"].get<double>(), (5.0 / 9) / 0.1, 1e-9);
  EXPECT_EQ(c["steps"][0]["latency"]["p90_ms"], 700.0);
  EXPECT_EQ(c["funnel"][0]["passed"], 6);
  EXPECT_EQ(doc["gaps"].size(), 10u);
  EXPECT_EQ(doc["gaps"][0]["kind"], "cuj_no_journey");
}

TEST_F(ReportCli, SinceShortensTheWindow) {
  Output o = report({"--db", db_, "--format", "json", "--since", "4m"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  json doc = json::parse(o.out);
  EXPECT_EQ(doc["since_window"], "4m");
  EXPECT_EQ(doc["journeys"][0]["runs"]["valid"], 4);  // r7..r10
  EXPECT_EQ(doc["journeys"][0]["runs"]["good"], 1);
}

TEST_F(ReportCli, Errors) {
  Output missing = report({"--db", tmp_.path() + "/nope.db"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("no database at " + tmp_.path() + "/nope.db"));
  EXPECT_EQ(missing.out, "");

  const std::string other = tmp_.write("other.db", "not a database at all, but long enough text");
  Output junk = report({"--db", other});
  EXPECT_EQ(junk.exit_code, 2);
  EXPECT_THAT(junk.err, HasSubstr(other));

  Output both = report({"--db", db_, "--data-dir", tmp_.path()});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("give --db FILE or --data-dir DIR, not both"));
  Output format = report({"--db", db_, "--format", "yaml"});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_THAT(format.err, HasSubstr("--format must be text, json or html, not 'yaml'"));
  Output since = report({"--db", db_, "--since", "soon"});
  EXPECT_EQ(since.exit_code, 2);
  EXPECT_THAT(since.err, HasSubstr("--since"));
  Output until = report({"--db", db_, "--until", "yesterday"});
  EXPECT_EQ(until.exit_code, 2);
  EXPECT_THAT(until.err, HasSubstr("--until must be a UTC time"));
  Output none = testing_support::run({prober(), "report", "--db", db_});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr("report: give the journey files"));

  const std::string bad_cujs =
      tmp_.write("bad.toml", "[[cuj]]\nname = \"x\"\nrank = 1\nownr = \"me\"\n");
  Output catalog = testing_support::run(
      {prober(), "report", tmp_.path() + "/journeys", "--db", db_, "--cujs", bad_cujs});
  EXPECT_EQ(catalog.exit_code, 2);
  EXPECT_THAT(catalog.err,
              HasSubstr(bad_cujs + ":4:8: cuj 'x': unknown key 'ownr' (did you mean 'owner'?)"));
}

TEST_F(ReportCli, CheckListsCatalogGaps) {
  Output o = testing_support::run({prober(), "check", "--cujs", cujs_, tmp_.path() + "/journeys"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_THAT(
      o.out,
      HasSubstr(cujs_ + ":14:1: gap (cuj_no_journey): CUJ 'returns' (rank 3) has no journey\n"));
  EXPECT_THAT(o.out,
              HasSubstr("5 steps OK; 5 coverage gaps"));  // + status_only, 2 no_latency, no_slo
  EXPECT_THAT(o.err, Not(HasSubstr("warning")));

  // A journey naming a CUJ the catalog lacks is a warning, not an error.
  const std::string stray = tmp_.write("stray.toml", R"(name = "stray"
cuj = "purchse"
[[steps]]
name = "s"
request = { url = "http://127.0.0.1:1/" }
expect = { status = 200, latency_ms = 100 }
[slo]
availability = 99
)");
  Output w = testing_support::run({prober(), "check", "--cujs", cujs_, stray});
  EXPECT_EQ(w.exit_code, 0) << w.err;
  EXPECT_THAT(w.err, HasSubstr(stray +
                               ":1:8: warning: journey 'stray': CUJ 'purchse' is not in "
                               "the catalog " +
                               cujs_ + " (did you mean 'purchase'?)"));
}

// The example catalog covers the example journeys' CUJs; "returns" is the deliberate gap.
TEST(ReportExamples, CatalogMatchesTheJourneys) {
  Output o = testing_support::run(
      {prober(), "check", "--cujs", examples() + "/cujs.toml", examples() + "/journeys"},
      {{"SHOP_URL", "http://127.0.0.1:1"}});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_THAT(o.err, Not(HasSubstr("is not in the catalog")));
  EXPECT_THAT(o.out, HasSubstr("gap (cuj_no_journey): CUJ 'returns' (rank 4) has no journey"));
}

}  // namespace
