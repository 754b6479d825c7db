#include "prober/cli/args.hpp"

#include <gtest/gtest.h>

namespace {

using prober::cli::parse_args;
using prober::cli::UsageError;

TEST(Args, ValuesFlagsAndPositionals) {
  auto a = parse_args({"--once", "a.toml", "--json", "x.json", "--junit=y.xml", "dir"}, {"json", "junit"}, {"once"});
  EXPECT_TRUE(a.has("once"));
  EXPECT_EQ(a.get("json"), "x.json");
  EXPECT_EQ(a.get("junit"), "y.xml");
  EXPECT_EQ(a.positional, (std::vector<std::string>{"a.toml", "dir"}));
}

TEST(Args, ErrorsNameTheOption) {
  auto message = [](std::vector<std::string> argv) {
    try {
      parse_args(argv, {"json"}, {"once"});
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({"--jsn", "x"}), "unknown option '--jsn'");
  EXPECT_EQ(message({"--json"}), "option '--json' needs a value");
  EXPECT_EQ(message({"--once=yes"}), "option '--once' takes no value");
  EXPECT_EQ(message({"-x"}), "unknown option '-x'");
}

TEST(Args, DoubleDashEndsOptions) {
  auto a = parse_args({"--", "--once"}, {}, {"once"});
  EXPECT_FALSE(a.has("once"));
  EXPECT_EQ(a.positional, std::vector<std::string>{"--once"});
}

}  // namespace
