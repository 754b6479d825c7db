#include "prober/sinks/report_files.hpp"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using prober::record::Reason;
using prober::record::Result;
using prober::record::RunResult;
using prober::record::StepResult;
using testing::HasSubstr;

RunResult sample() {
  RunResult run;
  run.journey = "checkout";
  run.cuj = "purchase";
  run.location = "edge-a";
  run.run_id = "00000000000000ff";
  run.result = Result::bad;
  run.reason = Reason::status;
  run.failed_step = "pay";
  run.started_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764288000123));
  run.duration_ms = 42.5;
  StepResult good;
  good.name = "browse";
  good.result = Result::good;
  good.status = 200;
  good.method = "GET";
  good.url = "http://shop/api";
  good.timings = {0.1, 0.2, 0, 3.0, 3.5};
  StepResult bad;
  bad.name = "pay";
  bad.result = Result::bad;
  bad.reason = Reason::status;
  bad.status = 503;
  bad.message = "status: expected 200, got 503 <&>";
  bad.failed_checks.push_back({"status", "200", "503", "", false});
  StepResult skipped;
  skipped.name = "receipt";
  skipped.result = Result::skipped;
  skipped.message = "not run: step 'pay' failed";
  run.steps = {good, bad, skipped};
  return run;
}

TEST(JsonOutput, FollowsTheDocumentedSchema) {
  nlohmann::json doc = prober::sinks::runs_to_json({sample()});
  EXPECT_EQ(doc["version"], 1);
  const auto& run = doc["runs"][0];
  EXPECT_EQ(run["journey"], "checkout");
  EXPECT_EQ(run["cuj"], "purchase");
  EXPECT_EQ(run["location"], "edge-a");
  EXPECT_EQ(run["result"], "bad");
  EXPECT_EQ(run["reason"], "status");
  EXPECT_EQ(run["failed_step"], "pay");
  EXPECT_EQ(run["started_at"], "2025-11-28T00:00:00.123Z");
  EXPECT_EQ(run["duration_ms"], 42.5);
  EXPECT_EQ(run["steps"][0]["latency_ms"]["total"], 3.5);
  EXPECT_EQ(run["steps"][0]["latency_ms"]["first_byte"], 3.0);
  EXPECT_EQ(run["steps"][1]["failed_checks"][0]["actual"], "503");
  EXPECT_EQ(run["steps"][2]["result"], "skipped");
  EXPECT_EQ(doc["summary"]["bad"], 1);
  EXPECT_EQ(doc["summary"]["runs"], 1);
}

// What --json writes is the whole document's dump, built one run at a time.
TEST(JsonOutput, TheFileTextIsTheWholeDocumentsDump) {
  auto whole = [](const std::vector<RunResult>& runs) {
    return prober::sinks::runs_to_json(runs).dump(2, ' ', false,
                                                  nlohmann::json::error_handler_t::replace) + "\n";
  };
  RunResult odd = sample();
  odd.journey = "line\nbreak \"quoted\" \xff\xfe not UTF-8";  // escaped, replaced
  odd.maintenance = "db upgrade";
  odd.result = Result::invalid;
  odd.steps[0].final_url = "http://shop/api/v2";
  odd.steps[1].retries.push_back({Result::bad, Reason::connect, "refused", 0, 1.25});
  odd.steps.push_back(StepResult{});  // empty arrays and strings inside a run
  RunResult empty = sample();
  empty.steps.clear();
  for (const auto& runs : std::vector<std::vector<RunResult>>{
           {}, {sample()}, {sample(), odd, empty}, {empty}}) {
    const std::string text = prober::sinks::runs_to_json_text(runs);
    EXPECT_EQ(text, whole(runs)) << runs.size() << " runs";
  }
  EXPECT_EQ(prober::sinks::runs_to_json_text({}),
            "{\n  \"runs\": [],\n  \"summary\": {\n    \"bad\": 0,\n    \"good\": 0,\n"
            "    \"invalid\": 0,\n    \"runs\": 0\n  },\n  \"version\": 1\n}\n");
}

TEST(JunitOutput, OneSuitePerRunOneCasePerStepEscaped) {
  const std::string xml = prober::sinks::runs_to_junit({sample()});
  EXPECT_THAT(xml, HasSubstr("<testsuites name=\"prober\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""));
  EXPECT_THAT(xml, HasSubstr("<testsuite name=\"checkout @ edge-a\" tests=\"3\""));
  EXPECT_THAT(xml, HasSubstr("<testcase classname=\"checkout\" name=\"browse\" time=\"0.004\"/>"));
  EXPECT_THAT(xml, HasSubstr("<failure type=\"status\" message=\"status: expected 200, got 503 &lt;&amp;&gt;\">"));
  EXPECT_THAT(xml, HasSubstr("<skipped message=\"not run: step &apos;pay&apos; failed\"/>"));
}

TEST(JunitOutput, ControlCharactersCannotBreakTheXml) {
  RunResult run = sample();
  run.steps[1].message = std::string("bad\x01\x1b[31m");
  const std::string xml = prober::sinks::runs_to_junit({run});
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
}

TEST(Table, NamesEveryStepAndTheReason) {
  std::ostringstream out;
  prober::sinks::print_table(out, {sample()}, false);
  EXPECT_THAT(out.str(), HasSubstr("checkout"));
  EXPECT_THAT(out.str(), HasSubstr("status: status: expected 200, got 503"));
  EXPECT_THAT(out.str(), HasSubstr("receipt"));
  EXPECT_THAT(out.str(), HasSubstr("1 run: 0 good, 1 bad, 0 invalid"));
  EXPECT_EQ(out.str().find('\033'), std::string::npos);
}

}  // namespace
