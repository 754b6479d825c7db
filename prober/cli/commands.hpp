#pragma once
// The subcommands. Each returns the process exit code: 0 all good, 1 a journey failed,
// 2 usage or journey errors.

#include <string>
#include <vector>

namespace prober::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

int cmd_run(const std::vector<std::string>& args);
int cmd_check(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);  // report_cmd.cpp
int cmd_rules(const std::vector<std::string>& args);   // rules_cmd.cpp
int cmd_review(const std::vector<std::string>& args);  // review_cmd.cpp
int cmd_demo(const std::vector<std::string>& args);

// Dispatches argv[1]; prints usage for help and unknown commands.
int dispatch(int argc, char** argv);

}  // namespace prober::cli
