// `prober rules` end to end: the built binary writes rule files for fixture journeys, then
// Prometheus' own promtool checks them (`promtool check rules`) and evaluates them on synthetic
// series (`promtool test rules`): a healthy journey never alerts, a fast burn pages at the
// right minute, a slow burn opens tickets but never pages, a location quorum holds back
// what one location alone sees, and a journey-level latency SLO counts slow and timed-out runs.
//
// Expected alert labels and annotations come from prober::report (the same text the binary
// writes; tests/prober/rules_test.cpp pins that text); which alerts fire when is worked out
// by hand below, one comment per expectation.

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/registry.hpp"
#include "journeys/loader.hpp"
#include "prober/report/rules.hpp"
#include "tests/support/proc.hpp"

namespace {

using prober::report::RuleGroup;
using prober::report::RulesOptions;
using prober::report::yaml_quote;
using testing::HasSubstr;
using testing_support::Output;
using testing_support::TempDir;

using testing_support::env_or_die;

const std::string& prober() {
  static std::string p = env_or_die("PROBER");
  return p;
}

// promtool from Debian's `prometheus` package (./dev installs it); "" when missing.
std::string promtool() {
  if (std::filesystem::exists("/usr/bin/promtool")) return "/usr/bin/promtool";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const auto end = dirs.find(':', start);
    const std::string dir = dirs.substr(start, end == std::string::npos ? end : end - start);
    if (!dir.empty() && std::filesystem::exists(dir + "/promtool")) return dir + "/promtool";
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

std::string journey_toml(const std::string& name, const std::string& slo,
                         const std::string& extra = "") {
  return "name = \"" + name + "\"\n" + extra +
         "[[steps]]\nname = \"browse\"\nrequest = { url = \"http://127.0.0.1:1/\" }\n"
         "[[steps]]\nname = \"pay\"\nrequest = { method = \"POST\", url = "
         "\"http://127.0.0.1:1/pay\" }\n" +
         slo;
}

const char* const kAvailability = "[slo]\navailability = 99.5\nwindow = \"28d\"\n";
const char* const kLatency =
    "[slo]\nwindow = \"28d\"\nlatency = { step = \"pay\", threshold_ms = 1000, target = 99.0 }\n";

RuleGroup group_of(const std::string& file, const RulesOptions& options) {
  journeys::LoadOptions load;
  load.checks = &checks::catalog();
  return prober::report::journey_rules(journeys::load_journey_file(file, load), options);
}

// One expected alert: the rule of `group` for this SLO and long window, with its labels and
// annotations as promtool will see them (series labels: journey, slo, and step for a step SLO).
std::string alert(const RuleGroup& group, const std::string& slo, const std::string& long_window,
                  const std::string& step = "") {
  for (const auto& r : group.rules) {
    if (r.alert.empty()) continue;
    std::map<std::string, std::string> labels(r.labels.begin(), r.labels.end());
    if (labels["slo"] != slo || labels["long_window"] != long_window) continue;
    if (!step.empty()) labels["step"] = step;
    std::string out = "          - exp_labels:\n";
    for (const auto& [k, v] : labels)
      out += "              " + k + ": " + yaml_quote(v) + "\n";
    out += "            exp_annotations:\n";
    for (const auto& [k, v] : r.annotations)
      out += "              " + k + ": " + yaml_quote(v) + "\n";
    return out;
  }
  throw std::runtime_error("no alert for " + slo + " over " + long_window + " in " + group.name);
}

// An alert_rule_test entry: the alerts firing at `minute` (none: an empty list).
std::string at(int minute, const std::vector<std::string>& alerts) {
  std::string out = "      - eval_time: " + std::to_string(minute) + "m\n" +
                    "        alertname: ProberErrorBudgetBurn\n";
  if (alerts.empty()) return out + "        exp_alerts: []\n";
  out += "        exp_alerts:\n";
  for (const auto& a : alerts)
    out += a;
  return out;
}

std::string series(const std::string& selector, const std::string& values) {
  return "      - series: " + yaml_quote(selector) + "\n        values: " + yaml_quote(values) +
         "\n";
}

std::string runs(const std::string& journey, const std::string& location, const std::string& good,
                 const std::string& bad, const std::string& invalid) {
  const std::string s = "prober_journey_runs_total{journey=\"" + journey + "\",location=\"" +
                        location + "\",result=\"";
  return series(s + "good\"}", good) + series(s + "bad\"}", bad) +
         series(s + "invalid\"}", invalid);
}

// One `tests:` entry: 1-minute samples.
std::string test_case(const std::string& input, const std::string& checks) {
  return "  - interval: 1m\n    input_series:\n" + input + "    alert_rule_test:\n" + checks;
}

std::string test_file(const std::string& rules, const std::vector<std::string>& cases) {
  std::string out = "rule_files:\n  - " + yaml_quote(rules) + "\nevaluation_interval: 1m\ntests:\n";
  for (const auto& c : cases)
    out += c;
  return out;
}

class RulesPromtool : public testing::Test {
 protected:
  void SetUp() override {
    tool_ = promtool();
    if (tool_.empty())
      GTEST_SKIP() << "promtool not found (/usr/bin/promtool or PATH): install the Debian package "
                      "'prometheus' (./dev installs it); the alert rules are NOT verified";
  }

  // `prober rules ARGS --out FILE`; asserts exit 0 and that promtool accepts the file.
  std::string generate(std::vector<std::string> args, const std::string& out, int want_rules) {
    std::vector<std::string> argv = {prober(), "rules"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--out", out});
    Output o = testing_support::run(argv);
    EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
    Output check = testing_support::run({tool_, "check", "rules", out});
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_THAT(check.out, HasSubstr("SUCCESS: " + std::to_string(want_rules) + " rules found"))
        << check.out << check.err;
    return out;
  }

  Output unit_test(const std::string& file) {
    return testing_support::run({tool_, "test", "rules", file}, {}, std::chrono::seconds(120));
  }

  std::string tool_;
  TempDir tmp_;
};

TEST_F(RulesPromtool, HealthyFastAndSlowBurns) {
  const std::string healthy =
      tmp_.write("main/healthy.toml", journey_toml("healthy", kAvailability));
  const std::string fast = tmp_.write("main/fast.toml", journey_toml("fast", kAvailability));
  const std::string slow = tmp_.write("main/slow.toml", journey_toml("slow", kLatency));
  // Per journey: 7 windows (28d: 4m40s 28m 56m 1h52m 5h36m 22h24m 2d19h12m) + 4 alerts.
  const std::string rules = generate({tmp_.path() + "/main"}, tmp_.path() + "/rules.yaml", 33);
  const RuleGroup f = group_of(fast, {});
  const RuleGroup s = group_of(slow, {});
  (void)healthy;

  // Healthy: 0.1 % of valid runs bad (a 0.2x burn) at two locations, and many invalid runs
  // that must not count: were they errors, the 6x page (3 %) would fire.
  const std::string healthy_case =
      test_case(runs("healthy", "a", "0+99.9x600", "0+0.1x600", "0+5x600") +
                    runs("healthy", "b", "0+99.9x600", "0+0.1x600", "0+5x600"),
                at(30, {}) + at(360, {}) + at(600, {}));

  // Fast burn: 60 good runs a minute for 6 h, then every run bad from minute 361, so at minute
  // 360 + x the 56m error ratio is x / 56 (the 14.4x page needs > 7.2 %: from x = 4.03).
  //   361: nothing (1x ticket: 60 / 21660 = 0.28 % over all the data, needs > 0.5 %)
  //   363: 1x ticket only (180 / 21780 = 0.83 %, and 180 / 20160 over 5h36m); 56m: 5.4 %
  //   365: the 14.4x page (300 / 3360 = 8.9 %; 4m40s: 100 %) and the 1x ticket; not the 6x
  //        page (300 / 20160 = 1.5 % over 5h36m) nor the 3x ticket (300 / 21900 = 1.37 %)
  const std::string fast_case = test_case(
      runs("fast", "a", "0+60x360 21600+0x60", "0+0x360 60+60x60", "0+0x421"),
      at(361, {}) + at(363, {alert(f, "availability", "2d19h12m")}) +
          at(365, {alert(f, "availability", "56m"), alert(f, "availability", "2d19h12m")}));

  // Slow burn on step latency: 100 answers a minute per location; from minute 61, 4 % take
  // longer than 1 s (a 4x burn of a 1 % budget). Location a writes `le` as text format ("1"),
  // b as OpenMetrics ("1.0"): the rules must count both, or the ratio would be ~52 % and page.
  //   70: nothing (0.04 * 10 / 70 = 0.57 %, the 1x ticket needs > 1 %)
  //   100: the 1x ticket (0.04 * 40 / 100 = 1.6 %); the 3x ticket needs > 3 %
  //   360: both tickets (3x: 0.04 * 300 / 360 = 3.3 % over 22h24m, 4 % over 1h52m); the pages
  //        need 6 % and 14.4 %: never
  std::string slow_input;
  for (const auto& [loc, le] : {std::pair<std::string, std::string>{"a", "1"}, {"b", "1.0"}}) {
    const std::string sel = "{journey=\"slow\",step=\"pay\",location=\"" + loc + "\"";
    slow_input += series("prober_step_latency_seconds_bucket" + sel + ",le=\"" + le + "\"}",
                         "0+100x60 6096+96x340");
    slow_input += series("prober_step_latency_seconds_count" + sel + "}", "0+100x400");
  }
  const std::string slow_case = test_case(
      slow_input, at(70, {}) + at(100, {alert(s, "latency:pay:1000ms", "2d19h12m", "pay")}) +
                      at(360, {alert(s, "latency:pay:1000ms", "22h24m", "pay"),
                               alert(s, "latency:pay:1000ms", "2d19h12m", "pay")}));

  const std::string tests =
      tmp_.write("tests.yaml", test_file(rules, {healthy_case, fast_case, slow_case}));
  Output o = unit_test(tests);
  EXPECT_EQ(o.exit_code, 0) << testing_support::read_file(tests) << o.out << o.err;
  EXPECT_THAT(o.out, HasSubstr("SUCCESS")) << o.out << o.err;

  // The harness can fail: claiming silence during the fast burn is refused.
  const std::string wrong =
      tmp_.write("wrong.yaml", test_file(rules, {test_case(runs("fast", "a", "0+60x360 21600+0x60",
                                                                "0+0x360 60+60x60", "0+0x421"),
                                                           at(365, {}))}));
  Output w = unit_test(wrong);
  EXPECT_NE(w.exit_code, 0) << w.out << w.err;
  EXPECT_THAT(w.out + w.err, HasSubstr("ProberErrorBudgetBurn"));
}

TEST_F(RulesPromtool, LocationQuorum) {
  const std::string file =
      tmp_.write("regional/regional.toml", journey_toml("regional", kAvailability));
  const std::string quorum_rules =
      generate({tmp_.path() + "/regional", "--quorum", "2"}, tmp_.path() + "/quorum.yaml", 11);
  const std::string plain_rules =
      generate({tmp_.path() + "/regional"}, tmp_.path() + "/plain.yaml", 11);
  RulesOptions two;
  two.quorum = 2;
  const RuleGroup q = group_of(file, two);
  const RuleGroup p = group_of(file, {});

  // 60 runs a minute at each of a, b, c for 6 h; then every run bad at the burning ones.
  const auto location = [](const std::string& loc, bool burning) {
    return burning ? runs("regional", loc, "0+60x360 21600+0x60", "0+0x360 60+60x60", "0+0x421")
                   : runs("regional", loc, "0+60x421", "0+0x421", "0+0x421");
  };
  const std::string one = location("a", true) + location("b", false) + location("c", false);
  const std::string two_burning = location("a", true) + location("b", true) + location("c", false);

  // One location burning, quorum 2: silence at 367 and 375, though location a alone is far
  // past every page threshold.
  // Two burning: at 367 (x = 7) both count for the 14.4x page (420 / 3360 = 12.5 % each), the
  // 3x ticket (420 / 22020 = 1.9 %, 1h52m: 6.3 %) and the 1x ticket; not the 6x page
  // (420 / 20160 = 2.1 % over 5h36m, needs 3 %).
  const std::string quorum_tests = tmp_.write(
      "quorum_tests.yaml",
      test_file(quorum_rules,
                {test_case(one, at(367, {}) + at(375, {})),
                 test_case(two_burning, at(367, {alert(q, "availability", "56m"),
                                                 alert(q, "availability", "22h24m"),
                                                 alert(q, "availability", "2d19h12m")}))}));
  Output o = unit_test(quorum_tests);
  EXPECT_EQ(o.exit_code, 0) << testing_support::read_file(quorum_tests) << o.out << o.err;

  // Without a quorum the same single burning location pages once the ratio over all three
  // passes 7.2 %: at 375, 900 / (3 * 3360) = 8.9 % over 56m (and 1x ticket: 900 / 67500 =
  // 1.3 % over all the data; 3x needs 1.5 %, 6x 3 %: 900 / 60480 = 1.5 % over 5h36m).
  const std::string plain_tests =
      tmp_.write("plain_tests.yaml",
                 test_file(plain_rules,
                           {test_case(one, at(367, {alert(p, "availability", "2d19h12m")}) +
                                               at(375, {alert(p, "availability", "56m"),
                                                        alert(p, "availability", "2d19h12m")}))}));
  Output pl = unit_test(plain_tests);
  EXPECT_EQ(pl.exit_code, 0) << testing_support::read_file(plain_tests) << pl.out << pl.err;
}

// A journey-level latency SLO (no step): good runs within 2.5 s over good and timed-out runs,
// from prober_journey_duration_seconds (good runs only) and the timeouts among
// prober_step_bad_total. 99 % over 28d: page 14.4x (> 14.4 %) and 6x (> 6 %), ticket 3x
// (> 3 %, 22h24m and 1h52m) and 1x (> 1 %, 2d19h12m and 5h36m). Windows longer than the data
// cover all of it; every series starts at 0 at minute 0, so rate() ratios are increase ratios.
TEST_F(RulesPromtool, JourneyLevelLatency) {
  const std::string file = tmp_.write(
      "whole/whole.toml",
      journey_toml("whole",
                   "[slo]\nwindow = \"28d\"\nlatency = { threshold_ms = 2500, target = 99.0 }\n"));
  // 7 windows + 4 alerts.
  const std::string rules = generate({tmp_.path() + "/whole"}, tmp_.path() + "/whole.yaml", 11);
  const RuleGroup g = group_of(file, {});
  const std::string slo = "latency::2500ms";
  const auto duration = [](const std::string& loc, const std::string& within,
                           const std::string& count) {
    const std::string sel = "{journey=\"whole\",location=\"" + loc + "\"";
    return series("prober_journey_duration_seconds_bucket" + sel + ",le=\"2.5\"}", within) +
           series("prober_journey_duration_seconds_count" + sel + "}", count);
  };

  // Timeouts count: 100 good runs a minute at a and b; from minute 61 location a has 98 of
  // its 100 good runs within 2.5 s and 2 runs a minute time out (at step pay). b never timed
  // out, so it has no timeout series. At minute 60 + x the error ratio over all the data is
  // 4x / (12000 + 202x):
  //   100 (x = 40): 160 / 20080 = 0.8 %: nothing
  //   200 (x = 140): 560 / 40280 = 1.39 % over 2d19h12m and 5h36m (both all the data): the 1x
  //        ticket. Without the timeouts it would be 280 / 40000 = 0.7 %: nothing.
  const std::string timeouts_case = test_case(
      duration("a", "0+100x60 6098+98x340", "0+100x400") +
          duration("b", "0+100x400", "0+100x400") +
          series("prober_step_bad_total{journey=\"whole\",step=\"pay\",location=\"a\","
                 "reason=\"timeout\"}",
                 "0+0x60 2+2x340"),
      at(100, {}) + at(200, {alert(g, slo, "2d19h12m")}));

  // No timeout series at all (the `or 0 * …` branch): location a only, 95 of 100 good runs a
  // minute within 2.5 s from minute 61, so the ratio is 5x / (6000 + 100x):
  //   100 (x = 40): 2 %: the 1x ticket; the 3x ticket needs > 3 %
  //   200 (x = 140): 3.5 % over 22h24m (all the data) and 5 % over 1h52m (only the slow
  //        minutes): the 3x and 1x tickets; the 6x page needs > 6 %: never.
  const std::string slow_case = test_case(
      duration("a", "0+100x60 6095+95x340", "0+100x400"),
      at(100, {alert(g, slo, "2d19h12m")}) +
          at(200, {alert(g, slo, "22h24m"), alert(g, slo, "2d19h12m")}));

  const std::string tests =
      tmp_.write("whole_tests.yaml", test_file(rules, {timeouts_case, slow_case}));
  Output o = unit_test(tests);
  EXPECT_EQ(o.exit_code, 0) << testing_support::read_file(tests) << o.out << o.err;
  EXPECT_THAT(o.out, HasSubstr("SUCCESS")) << o.out << o.err;

  // The harness can fail: without the timeouts' series the first case stays silent at 200.
  const std::string wrong = tmp_.write(
      "whole_wrong.yaml",
      test_file(rules, {test_case(duration("a", "0+100x60 6098+98x340", "0+100x400") +
                                      duration("b", "0+100x400", "0+100x400"),
                                  at(200, {alert(g, slo, "2d19h12m")}))}));
  Output w = unit_test(wrong);
  EXPECT_NE(w.exit_code, 0) << w.out << w.err;
}

TEST_F(RulesPromtool, ErrorsAndNotes) {
  // A threshold the histogram cannot measure: exit 2 with file:line:col.
  tmp_.write(
      "bad/odd.toml",
      journey_toml("odd",
                   "[slo]\nlatency = { step = \"pay\", threshold_ms = 300, target = 99.0 }\n"));
  Output o = testing_support::run({prober(), "rules", tmp_.path() + "/bad"});
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_THAT(o.err, HasSubstr("odd.toml:9:11: slo: latency SLO of step 'pay': threshold_ms 300 is "
                               "not a bucket bound"));
  // A journey without an SLO: a note on stderr and a comment, no rules; still valid.
  tmp_.write("none/none.toml", journey_toml("none", ""));
  const std::string out = generate({tmp_.path() + "/none"}, tmp_.path() + "/none.yaml", 0);
  EXPECT_THAT(testing_support::read_file(out), HasSubstr("# journey 'none' has no [slo]"));
  Output n = testing_support::run({prober(), "rules", tmp_.path() + "/none"});
  EXPECT_EQ(n.exit_code, 0);
  EXPECT_THAT(n.err, HasSubstr("note: journey 'none' has no [slo]"));
  EXPECT_EQ(n.out, testing_support::read_file(out));
  // Usage errors.
  EXPECT_EQ(testing_support::run({prober(), "rules"}).exit_code, 2);
  EXPECT_EQ(
      testing_support::run({prober(), "rules", tmp_.path() + "/none", "--quorum", "0"}).exit_code,
      2);
}

}  // namespace
