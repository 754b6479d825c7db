// `prober review` as a user runs it: the real binary on the fixture store of
// tests/prober/report_fixture.hpp (hand-computed numbers in tests/prober/review_test.cpp), its
// output and exit codes; and `prober demo`, which ends with the SLO report.

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

using testing::HasSubstr;
using testing_support::Output;
using testing_support::TempDir;
namespace fx = report_fixture;

using testing_support::env_or_die;

const char* kIncidents = R"([[incident]]
title = "Payments failing"
start = "2027-01-15T07:53:00Z"
end = "2027-01-15T07:55:00Z"

[[incident]]
title = "Login errors"
start = "2027-01-15T06:30:00Z"
end = "2027-01-15T07:30:00Z"
)";

class ReviewCli : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.write("journeys/checkout.toml", fx::kCheckout);
    tmp_.write("journeys/login.toml", fx::kLogin);
    incidents_ = tmp_.write("incidents.toml", kIncidents);
    tmp_.write("data/.keep", "");
    fx::write_db(tmp_.path() + "/data/prober.db");
  }
  Output review(std::vector<std::string> extra) {
    std::vector<std::string> argv{env_or_die("PROBER"), "review", tmp_.path() + "/journeys",
                                  "--until", "2027-01-15T08:00:00Z"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing_support::run(argv);
  }

  TempDir tmp_;
  std::string incidents_;
};

TEST_F(ReviewCli, TextAndJson) {
  Output o = review({"--incidents", incidents_, "--data-dir", tmp_.path() + "/data"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("2 incidents from " + incidents_));
  EXPECT_THAT(o.out, HasSubstr("(2m): seen\n"));
  EXPECT_THAT(o.out, HasSubstr("journey checkout: 2 bad of 2 runs, burn 10.00x, budget burned "
                               "222.2% of 90%"));
  EXPECT_THAT(o.out, HasSubstr("(1h): MISSED (coverage gap)\n"));
  EXPECT_THAT(o.out, HasSubstr("incidents no SLI saw: 1\n"));
  EXPECT_THAT(o.out, HasSubstr("checkout (SLO 90%): achieved 44.44% over 1d"));

  Output j = review({"--incidents", incidents_, "--db", tmp_.path() + "/data/prober.db", "--format",
                     "json", "--since", "3d"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["missed"], nlohmann::json({"Login errors"}));
  // --since 3d: 10 valid checkout runs, so 2 bad spend 2 / (0.1 x 10) = 200 % of the budget.
  EXPECT_NEAR(doc["incidents"][0]["journeys"][0]["budget_burned"].get<double>(), 2.0, 1e-9);
  EXPECT_EQ(doc["targets"][0]["valid"], 10);
}

TEST_F(ReviewCli, ErrorsExitTwo) {
  Output none = review({"--data-dir", tmp_.path() + "/data"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr("--incidents FILE"));

  const std::string bad = tmp_.write("bad.toml", R"([[incident]]
title = "x"
start = "2027-01-15T07:00:00Z"
end = "2027-01-15T06:00:00Z"
)");
  Output o = review({"--incidents", bad, "--data-dir", tmp_.path() + "/data"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.err, HasSubstr(bad + ":4:7: incident 'x': 'end' must be after 'start'"));

  Output nodb = review({"--incidents", incidents_, "--db", tmp_.path() + "/nope.db"});
  EXPECT_EQ(nodb.exit_code, 2);
  EXPECT_THAT(nodb.err, HasSubstr("nope.db"));
}

// The demo ends with the SLO report of the example journeys, read from its own store.
TEST(Demo, EndsWithTheReport) {
  TempDir tmp;
  const std::string data = tmp.path() + "/data";
  // MALLOC_PERTURB_ fills freed memory: the demo's fault timers once outlived the daemon's
  // io_context and crashed the demo after its summary only under it (meson sets it at random).
  Output o = testing_support::run(
      {env_or_die("PROBER"), "demo", "--duration", "6s", "--no-live", "--data-dir", data},
      {{"MALLOC_PERTURB_", "117"}});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto header = o.out.find("SLO report from " + data + "/prober.db until ");
  ASSERT_NE(header, std::string::npos) << o.out;
  EXPECT_LT(o.out.find("demo: shop stopped"), header) << "the report comes after the summary";
  const std::string report = o.out.substr(header);
  EXPECT_THAT(report, HasSubstr("journey checkout"));
  // The journey's SLI line: "all locations  valid good invalid SLI% ...".
  EXPECT_TRUE(std::regex_search(
      report, std::regex(R"(all locations +[1-9][0-9]* +[0-9]+ +[0-9]+ +[0-9]+\.[0-9]+%)")))
      << report;
  EXPECT_THAT(report, HasSubstr("prober report "));
}

}  // namespace
