#include "journeys/duration.hpp"

#include <gtest/gtest.h>

namespace journeys {
namespace {

using namespace std::chrono_literals;

struct ParseCase {
  std::string text;
  Duration want;
};

class ParseDuration : public testing::TestWithParam<ParseCase> {};

TEST_P(ParseDuration, Parses) {
  std::string error = "stale";
  auto d = parse_duration(GetParam().text, &error);
  ASSERT_TRUE(d) << error;
  EXPECT_EQ(*d, GetParam().want);
  EXPECT_EQ(error, "");
}

INSTANTIATE_TEST_SUITE_P(
    All, ParseDuration,
    testing::Values(ParseCase{"250ms", 250ms}, ParseCase{"30s", 30s}, ParseCase{"1m30s", 90s},
                    ParseCase{"1.5s", 1500ms}, ParseCase{"28d", 24h * 28},
                    ParseCase{"2w", 24h * 14}, ParseCase{"1h30m", 90min},
                    ParseCase{"1w2d3h4m5s6ms7us8ns", 24h * 9 + 3h + 4min + 5s + 6ms + 7us + 8ns},
                    ParseCase{"0s", 0s}, ParseCase{"0.5ms", 500us}, ParseCase{"1.25h", 75min},
                    ParseCase{"10ns", 10ns}, ParseCase{"1.5ns", 1ns},  // below 1 ns: truncated
                    ParseCase{"007s", 7s}, ParseCase{"1.000000001s", 1s + 1ns},
                    ParseCase{"9223372036854775807ns", Duration::max()}));

struct BadCase {
  std::string text;
  std::string error;
};

class ParseDurationError : public testing::TestWithParam<BadCase> {};

TEST_P(ParseDurationError, Rejects) {
  std::string error;
  EXPECT_FALSE(parse_duration(GetParam().text, &error));
  EXPECT_EQ(error, GetParam().error);
  EXPECT_FALSE(parse_duration(GetParam().text));  // the error pointer is optional
}

INSTANTIATE_TEST_SUITE_P(
    All, ParseDurationError,
    testing::Values(
        BadCase{"", "invalid duration '': empty (write e.g. \"30s\")"},
        BadCase{"-5s", "invalid duration '-5s': negative durations are not allowed"},
        BadCase{"5 minutes",
                "invalid duration '5 minutes': unknown unit 'minutes' (use ns, us, ms, s, m, h, d, "
                "w)"},
        BadCase{"5sec",
                "invalid duration '5sec': unknown unit 'sec' (use ns, us, ms, s, m, h, d, w)"},
        BadCase{"5µs", "invalid duration '5µs': unknown unit 'µs' (use ns, us, ms, s, m, h, d, w)"},
        BadCase{"5 s", "invalid duration '5 s': unexpected space before 's'"},
        BadCase{"30",
                "invalid duration '30': missing unit after '30' (use ns, us, ms, s, m, h, d, w)"},
        BadCase{"1m30",
                "invalid duration '1m30': missing unit after '30' (use ns, us, ms, s, m, h, d, "
                "w)"},
        BadCase{"s", "invalid duration 's': expected a number at 's'"},
        BadCase{".5s", "invalid duration '.5s': expected a number at '.5s'"},
        BadCase{"1.s", "invalid duration '1.s': expected digits after '.'"},
        BadCase{"1h 30m", "invalid duration '1h 30m': expected a number at ' 30m'"},
        BadCase{"30s1m",
                "invalid duration '30s1m': units must be in decreasing order, each at most once "
                "(e.g. 1m30s)"},
        BadCase{"1s2s",
                "invalid duration '1s2s': units must be in decreasing order, each at most once "
                "(e.g. 1m30s)"},
        BadCase{"9223372036854775808ns", "invalid duration '9223372036854775808ns': too large"},
        BadCase{"100000w", "invalid duration '100000w': too large"},
        BadCase{"99999999999999999999999s",
                "invalid duration '99999999999999999999999s': too large"},
        BadCase{"15250w3d", "invalid duration '15250w3d': too large"}));

struct FormatCase {
  Duration d;
  std::string want;
};

class FormatDuration : public testing::TestWithParam<FormatCase> {};

TEST_P(FormatDuration, FormatsAndRoundTrips) {
  EXPECT_EQ(format_duration(GetParam().d), GetParam().want);
  if (GetParam().d >= Duration::zero()) {
    auto back = parse_duration(GetParam().want);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, GetParam().d);
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, FormatDuration,
    testing::Values(FormatCase{0s, "0s"}, FormatCase{1500ms, "1.5s"}, FormatCase{90s, "1m30s"},
                    FormatCase{250ms, "250ms"}, FormatCase{30s, "30s"}, FormatCase{2h, "2h"},
                    FormatCase{24h * 28, "28d"}, FormatCase{24h * 14, "14d"},
                    FormatCase{1500us, "1.5ms"}, FormatCase{1ns, "1ns"},
                    FormatCase{1001ns, "1.001us"}, FormatCase{1min + 500ms, "1m500ms"},
                    FormatCase{1min + 1500ms, "1m1.5s"}, FormatCase{1h + 1s, "1h1s"},
                    FormatCase{1s + 1ns, "1.000000001s"}, FormatCase{25h + 30min, "1d1h30m"},
                    FormatCase{-1500ms, "-1.5s"},
                    FormatCase{Duration::max(), "106751d23h47m16.854775807s"}));

TEST(Duration, ToMs) {
  EXPECT_DOUBLE_EQ(to_ms(1500us), 1.5);
  EXPECT_DOUBLE_EQ(to_ms(2s), 2000.0);
}

}  // namespace
}  // namespace journeys
