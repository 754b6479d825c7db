// `prober report --format html` rendered by a real browser: the real binary writes the page for
// the fixture store (tests/prober/report_fixture.hpp), headless Chromium (Debian `chromium`)
// takes a screenshot of it and dumps the DOM it built, and the plots' data-* numbers are checked
// against the fixture's hand-computed ones (tests/prober/report_test.cpp has the arithmetic).
// Skips loudly when /usr/bin/chromium is not installed.

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/prober/report_fixture.hpp"
#include "tests/support/proc.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;
using testing_support::Output;
using testing_support::TempDir;
namespace fx = report_fixture;
namespace fs = std::filesystem;

constexpr const char* kChromium = "/usr/bin/chromium";

using testing_support::env_or_die;

using Attrs = std::map<std::string, std::string>;

// Every start tag <tag ...> in html whose class attribute contains cls, as its attributes.
std::vector<Attrs> elements(const std::string& html, const std::string& tag,
                            const std::string& cls) {
  std::vector<Attrs> out;
  static const std::regex attr_re(R"re(([A-Za-z_:][-A-Za-z0-9_:.]*)="([^"]*)")re");
  const std::regex tag_re("<" + tag + R"re(\b([^>]*)>)re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag_re);
       it != std::sregex_iterator(); ++it) {
    const std::string body = (*it)[1];
    Attrs a;
    for (auto at = std::sregex_iterator(body.begin(), body.end(), attr_re);
         at != std::sregex_iterator(); ++at)
      a[(*at)[1]] = (*at)[2];
    std::vector<std::string> classes;
    std::istringstream words(a["class"]);
    for (std::string w; words >> w;)
      classes.push_back(w);
    if (std::find(classes.begin(), classes.end(), cls) != classes.end()) out.push_back(a);
  }
  return out;
}

// The journey's <section> of the page.
std::string section(const std::string& html, const std::string& journey) {
  const std::string open = "<section class=\"journey\" data-journey=\"" + journey + "\"";
  const auto begin = html.find(open);
  if (begin == std::string::npos) return "";
  return html.substr(begin, html.find("</section>", begin) - begin);
}

double number(const Attrs& a, const std::string& name) {
  auto it = a.find(name);
  if (it == a.end()) throw std::runtime_error("no attribute " + name);
  return std::stod(it->second);
}

class ReportHtml : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kChromium, X_OK) != 0)
      GTEST_SKIP() << "SKIPPED: " << kChromium
                   << " is not installed (Debian package `chromium`, in PACKAGES of ./dev): the "
                      "HTML report is NOT checked in a browser";
    // The fixture's checkout with a description that must come out as text, not markup.
    std::string checkout = fx::kCheckout;
    checkout.insert(checkout.find('\n') + 1,
                    "description = \"Buy <b>now</b> & pay \\\"fast\\\"\"\n");
    tmp_.write("journeys/checkout.toml", checkout);
    tmp_.write("journeys/login.toml", fx::kLogin);
    cujs_ = tmp_.write("cujs.toml", fx::kCujs);
    db_ = tmp_.path() + "/data/prober.db";
    tmp_.write("data/.keep", "");
    fx::write_db(db_);
    page_ = tmp_.path() + "/report.html";
    // --since 12m: [until - 12m, until) holds r1..r10, as checkout's 1d window does, in
    // 48 buckets of 15 s: run k falls in bucket 4 (k + 1).
    Output o = testing_support::run({env_or_die("PROBER"), "report", tmp_.path() + "/journeys",
                                     "--cujs", cujs_, "--db", db_, "--until",
                                     "2027-01-15T08:00:00Z", "--since", "12m", "--format", "html",
                                     "--out", page_});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    ASSERT_TRUE(fs::exists(page_));
  }

  Output chromium(std::vector<std::string> extra) {
    std::vector<std::string> argv{kChromium,
                                  "--headless",
                                  "--no-sandbox",
                                  "--disable-gpu",
                                  "--disable-background-networking",
                                  "--disable-component-update",
                                  "--disable-sync",
                                  "--no-first-run",
                                  "--user-data-dir=" + tmp_.path() + "/profile"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("file://" + page_);
    return testing_support::run(argv, {{"HOME", tmp_.path()}}, std::chrono::seconds(60));
  }

  TempDir tmp_;
  std::string cujs_, db_, page_;
};

TEST_F(ReportHtml, SelfContained) {
  const std::string html = testing_support::read_file(page_);
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http://127")));  // nothing of the journeys' URLs is fetched
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, HasSubstr("Buy &lt;b&gt;now&lt;/b&gt; &amp; pay &quot;fast&quot;"));
}

TEST_F(ReportHtml, Screenshot) {
  const std::string shot = tmp_.path() + "/shot.png";
  Output o = chromium({"--screenshot=" + shot, "--window-size=1280,2000", "--hide-scrollbars"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  ASSERT_TRUE(fs::exists(shot)) << o.err;
  const std::string png = testing_support::read_file(shot);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // A blank 1280x2000 page compresses to a few KB; the charts and text make it far larger.
  EXPECT_GT(png.size(), 40'000u);
  if (const char* keep = std::getenv("REPORT_HTML_SCREENSHOT"))
    fs::copy_file(shot, keep, fs::copy_options::overwrite_existing);
}

TEST_F(ReportHtml, DomCarriesTheNumbers) {
  Output o = chromium({"--dump-dom"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string& dom = o.out;
  ASSERT_THAT(dom, HasSubstr("</html>"));
  // The description is text in the DOM, not a <b> element.
  EXPECT_THAT(dom, HasSubstr("Buy &lt;b&gt;now&lt;/b&gt; &amp; pay \"fast\""));
  EXPECT_THAT(dom, Not(HasSubstr("<b>now</b>")));

  // Report order (CUJ rank): checkout, then login; each with its four plots.
  const auto checkout_at = dom.find("data-journey=\"checkout\"");
  const auto login_at = dom.find("data-journey=\"login\"");
  ASSERT_NE(checkout_at, std::string::npos);
  ASSERT_NE(login_at, std::string::npos);
  EXPECT_LT(checkout_at, login_at);
  const std::string checkout = section(dom, "checkout");
  const std::string login = section(dom, "login");
  for (const char* plot : {"sli-plot", "budget-plot", "funnel-plot", "latency-plot"}) {
    EXPECT_EQ(elements(checkout, "svg", plot).size(), 1u) << plot;
    EXPECT_EQ(elements(login, "svg", plot).size(), 1u) << plot;
  }
  auto top = elements(dom, "div", "top");
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0]["data-until"], "2027-01-15T08:00:00.000Z");

  // Availability: 4 good of 9 valid runs (r6 invalid), SLO 90: budget 1 - 5 / 0.9, burn
  // (5 / 9) / 0.1.
  auto objectives = elements(checkout, "div", "objective");
  ASSERT_EQ(objectives.size(), 2u);  // availability, browse latency
  EXPECT_EQ(objectives[0]["data-kind"], "availability");
  EXPECT_NEAR(number(objectives[0], "data-sli"), 400.0 / 9, 1e-5);
  EXPECT_EQ(number(objectives[0], "data-target"), 90);
  EXPECT_EQ(number(objectives[0], "data-valid"), 9);
  EXPECT_EQ(number(objectives[0], "data-good"), 4);
  EXPECT_NEAR(number(objectives[0], "data-budget-remaining"), 1 - 5 / 0.9, 1e-5);
  EXPECT_NEAR(number(objectives[0], "data-burn-rate"), (5.0 / 9) / 0.1, 1e-5);
  // browse within 500 ms, target 75: valid = 7 answered + 1 timeout (r8), good = 6 answered
  // within 500 ms (not r5's 700 ms).
  EXPECT_EQ(objectives[1]["data-kind"], "latency");
  EXPECT_EQ(number(objectives[1], "data-threshold-ms"), 500);
  EXPECT_EQ(number(objectives[1], "data-valid"), 8);
  EXPECT_EQ(number(objectives[1], "data-good"), 6);
  EXPECT_NEAR(number(objectives[1], "data-sli"), 75, 1e-9);

  // Funnel: browse reached by the 9 valid runs, passed by 6 (r5, r8, r10 failed it); pay reached
  // by those 6, passed by 4 (r4, r9 failed it).
  auto reached = elements(checkout, "rect", "reached");
  ASSERT_EQ(reached.size(), 2u);
  EXPECT_EQ(reached[0]["data-step"], "browse");
  EXPECT_EQ(number(reached[0], "data-reached"), 9);
  EXPECT_EQ(number(reached[0], "data-passed"), 6);
  EXPECT_EQ(reached[1]["data-step"], "pay");
  EXPECT_EQ(number(reached[1], "data-reached"), 6);
  EXPECT_EQ(number(reached[1], "data-passed"), 4);
  auto passed = elements(checkout, "rect", "passed");
  ASSERT_EQ(passed.size(), 2u);
  // The passed bar is 6/9 of the reached one.
  EXPECT_NEAR(number(passed[0], "width") / number(reached[0], "width"), 6.0 / 9, 1e-4);

  // SLI over time: one point per run with a valid result, in bucket 4 (k + 1); r6 is invalid.
  std::set<std::tuple<std::string, int, double>> points;
  for (Attrs& a : elements(checkout, "circle", "point"))
    if (a.count("data-sli"))
      points.emplace(a["data-location"], std::stoi(a["data-bucket"]), number(a, "data-sli"));
  const std::set<std::tuple<std::string, int, double>> expected_points{
      {"edge-a", 8, 100}, {"edge-a", 12, 100}, {"edge-a", 16, 100}, {"edge-a", 20, 0},
      {"edge-a", 24, 0},  {"edge-b", 32, 100}, {"edge-b", 36, 0},   {"edge-b", 40, 0},
      {"edge-b", 44, 0}};
  EXPECT_EQ(points, expected_points);
  auto target = elements(checkout, "line", "target");
  ASSERT_EQ(target.size(), 1u);
  EXPECT_EQ(number(target[0], "data-target"), 90);

  // Error budget, cumulative: 100 % from r1 (bucket 8) to r3; r4 (3 good of 4): 1 - 1 / 0.4;
  // r5 (3 of 5): 1 - 2 / 0.5; the last bucket: 1 - 5 / 0.9. One point per bucket from 8 to 47.
  std::map<int, double> budget;
  for (Attrs& a : elements(checkout, "circle", "point"))
    if (a.count("data-budget-remaining"))
      budget[std::stoi(a["data-bucket"])] = number(a, "data-budget-remaining");
  ASSERT_EQ(budget.size(), 40u);
  EXPECT_EQ(budget.begin()->first, 8);
  EXPECT_NEAR(budget[8], 1, 1e-9);
  EXPECT_NEAR(budget[19], 1, 1e-9);
  EXPECT_NEAR(budget[20], 1 - 1 / 0.4, 1e-5);
  EXPECT_NEAR(budget[24], 1 - 2 / 0.5, 1e-5);
  EXPECT_NEAR(budget[47], 1 - 5 / 0.9, 1e-5);

  // Latency of browse: answered valid events 100 150 200 250 300 400 700 (nearest rank: p50 the
  // 4th, p90 and p99 the 7th), threshold 500 ms, one slower.
  std::map<std::string, double> browse;
  for (Attrs& a : elements(checkout, "rect", "pct"))
    if (a["data-step"] == "browse") browse[a["data-percentile"]] = number(a, "data-ms");
  EXPECT_EQ(browse, (std::map<std::string, double>{
                        {"p50", 250}, {"p90", 700}, {"p99", 700}, {"max", 700}}));
  auto thresholds = elements(checkout, "line", "threshold");
  ASSERT_EQ(thresholds.size(), 1u);  // pay has no latency check
  EXPECT_EQ(thresholds[0]["data-step"], "browse");
  EXPECT_EQ(number(thresholds[0], "data-threshold-ms"), 500);
  auto groups = elements(checkout, "g", "step-latency");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(number(groups[0], "data-count"), 7);
  EXPECT_EQ(number(groups[0], "data-over-threshold"), 1);
  // pay answered: 200 300 250 50 100 80 (r6's pay is invalid): p50 the 3rd = 100.
  EXPECT_EQ(number(groups[1], "data-count"), 6);

  // login: no run in the last 12 minutes, no SLO: empty plots that say so, no points.
  EXPECT_TRUE(elements(login, "circle", "point").empty());
  EXPECT_THAT(login, HasSubstr("no valid runs in the window"));
  auto login_reached = elements(login, "rect", "reached");
  ASSERT_EQ(login_reached.size(), 3u);
  EXPECT_EQ(number(login_reached[0], "data-reached"), 0);

  // Gaps are listed, edge-c never ran checkout.
  EXPECT_THAT(dom, HasSubstr("location 'edge-c' never ran journey 'checkout' in the window"));
}

}  // namespace
