#include "prober/engine/log.hpp"

#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using prober::engine::Logger;
using testing::HasSubstr;
using testing::MatchesRegex;

constexpr const char* kTs = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z";

// The text after the timestamp and its space.
std::string after_ts(const std::string& line) {
  const auto sp = line.find(' ');
  return sp == std::string::npos ? line : line.substr(sp + 1);
}

TEST(Logger, TextLineFormat) {
  std::ostringstream out;
  Logger log(out);
  log.info("reloaded", {{"journeys", 12}, {"file", "prober.toml"}});
  EXPECT_THAT(out.str(), MatchesRegex(std::string(kTs) + " INFO  reloaded journeys=12 "
                                                         "file=prober.toml\n"));
}

TEST(Logger, LevelsArePaddedToOneWidth) {
  std::ostringstream out;
  Logger log(out, Logger::Format::text, Logger::Level::debug);
  log.debug("a");
  log.info("b");
  log.warn("c");
  log.error("d");
  std::istringstream in(out.str());
  std::vector<std::string> got;
  for (std::string l; std::getline(in, l);)
    got.push_back(after_ts(l));
  EXPECT_THAT(got, testing::ElementsAre("DEBUG a", "INFO  b", "WARN  c", "ERROR d"));
}

TEST(Logger, BelowTheMinimumLevelIsDropped) {
  std::ostringstream out;
  Logger log(out, Logger::Format::text, Logger::Level::warn);
  log.debug("no");
  log.info("no");
  log.warn("yes");
  log.error("yes");
  std::istringstream in(out.str());
  int n = 0;
  for (std::string l; std::getline(in, l);) {
    EXPECT_THAT(l, HasSubstr("yes"));
    ++n;
  }
  EXPECT_EQ(n, 2);
}

struct TextValueCase {
  const char* name;
  Logger::Value value;
  const char* text;  // as written after "k="
};

class LoggerTextValue : public testing::TestWithParam<TextValueCase> {};

TEST_P(LoggerTextValue, QuotesAndEscapes) {
  std::ostringstream out;
  Logger log(out);
  log.info("m", {{"k", GetParam().value}});
  EXPECT_EQ(after_ts(out.str()), std::string("INFO  m k=") + GetParam().text + "\n");
}

INSTANTIATE_TEST_SUITE_P(
    Logger, LoggerTextValue,
    testing::Values(TextValueCase{"bare", std::string("edge-a"), "edge-a"},
                    TextValueCase{"url", std::string("http://shop/api/x?y"), "http://shop/api/x?y"},
                    TextValueCase{"backslash bare", std::string("a\\b"), "a\\b"},
                    TextValueCase{"empty", std::string(""), "\"\""},
                    TextValueCase{"space", std::string("two words"), "\"two words\""},
                    TextValueCase{"equals", std::string("a=b"), "\"a=b\""},
                    TextValueCase{"quote", std::string("say \"hi\""), "\"say \\\"hi\\\"\""},
                    TextValueCase{"backslash quoted", std::string("a \\ b"), "\"a \\\\ b\""},
                    TextValueCase{"newline", std::string("line1\nline2"), "\"line1\\nline2\""},
                    TextValueCase{"tab and cr", std::string("a\tb\r"), "\"a\\tb\\r\""},
                    TextValueCase{"other control", std::string("\x1b[31m"), "\"\\x1b[31m\""},
                    TextValueCase{"utf8", std::string("zürich"), "zürich"},
                    TextValueCase{"integer", 12LL, "12"}, TextValueCase{"negative", -3LL, "-3"},
                    TextValueCase{"double", 12.5, "12.5"},
                    TextValueCase{"double shortest", 0.1, "0.1"},
                    TextValueCase{"true", true, "true"}, TextValueCase{"false", false, "false"}),
    [](const testing::TestParamInfo<TextValueCase>& info) {
      std::string n = info.param.name;
      for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

TEST(Logger, MessageStaysOnOneLine) {
  std::ostringstream out;
  Logger log(out);
  log.warn("bad\nthing\x07", {{"k", 1}});
  EXPECT_EQ(after_ts(out.str()), "WARN  bad\\nthing\\x07 k=1\n");
}

TEST(Logger, KeysCannotBreakTheLine) {
  std::ostringstream out;
  Logger log(out);
  log.info("m", {{"a key=x", 1}, {"", 2}});
  EXPECT_EQ(after_ts(out.str()), "INFO  m a_key_x=1 _=2\n");
}

TEST(Logger, JsonLine) {
  std::ostringstream out;
  Logger log(out, Logger::Format::json);
  log.info("reloaded", {{"journeys", 12}, {"file", "prober.toml"}, {"ratio", 0.5}, {"ok", true}});
  const std::string line = out.str();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  // ts, level, msg first, then the fields in order
  EXPECT_THAT(line, MatchesRegex(std::string("\\{\"ts\":\"") + kTs +
                                 "\",\"level\":\"info\",\"msg\":\"reloaded\",\"journeys\":12,"
                                 "\"file\":\"prober.toml\",\"ratio\":0.5,\"ok\":true\\}\n"));
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["journeys"], 12);
  EXPECT_EQ(j["file"], "prober.toml");
  EXPECT_EQ(j["ratio"], 0.5);
  EXPECT_EQ(j["ok"], true);
}

TEST(Logger, JsonLevelsAndEscapes) {
  std::ostringstream out;
  Logger log(out, Logger::Format::json, Logger::Level::debug);
  log.debug("a");
  log.warn("line1\nline2 \"q\"", {{"msg", "field named msg"}, {"ts", 1}});
  log.error("bad utf8 \xff", {{"body", "\xc3("}});
  std::istringstream in(out.str());
  std::vector<nlohmann::json> got;
  for (std::string l; std::getline(in, l);)
    got.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0]["level"], "debug");
  EXPECT_EQ(got[1]["level"], "warn");
  EXPECT_EQ(got[1]["msg"], "line1\nline2 \"q\"");
  // a field never replaces ts / level / msg
  EXPECT_EQ(got[1]["msg_"], "field named msg");
  EXPECT_EQ(got[1]["ts_"], 1);
  EXPECT_TRUE(got[1]["ts"].is_string());
  EXPECT_EQ(got[2]["level"], "error");
  EXPECT_EQ(got[2]["msg"], "bad utf8 \xef\xbf\xbd");  // replaced, not thrown
}

TEST(Logger, SetFormatSwitches) {
  std::ostringstream out;
  Logger log(out);
  log.set_format(Logger::Format::json);
  log.info("x");
  EXPECT_EQ(nlohmann::json::parse(out.str())["msg"], "x");
}

// Each line is written whole even when threads log at once.
TEST(Logger, ConcurrentLinesStayWhole) {
  std::ostringstream out;
  Logger log(out);
  constexpr int kThreads = 4, kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kLines; ++i)
        log.info("tick", {{"thread", static_cast<long long>(t)},
                          {"i", static_cast<long long>(i)},
                          {"pad", std::string(200, 'x')}});
    });
  for (auto& th : threads)
    th.join();
  std::istringstream in(out.str());
  std::set<std::pair<int, int>> seen;
  int n = 0;
  const std::string pad(200, 'x');
  for (std::string l; std::getline(in, l); ++n) {
    int t = -1, i = -1;
    ASSERT_EQ(std::sscanf(after_ts(l).c_str(), "INFO  tick thread=%d i=%d", &t, &i), 2) << l;
    ASSERT_TRUE(l.ends_with(" pad=" + pad)) << l;
    seen.insert({t, i});
  }
  EXPECT_EQ(n, kThreads * kLines);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kLines));
}

}  // namespace
