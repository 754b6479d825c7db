#pragma once
// One-pass outputs: the terminal table, the JSON document (a public interface, documented in
// the README) and JUnit XML for CI systems.

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "prober/record/event.hpp"

namespace prober::sinks {

// {"version": 1, "runs": [...], "summary": {...}} — see README "JSON output".
nlohmann::json runs_to_json(const std::vector<record::RunResult>& runs);

// One <testsuite> per journey and location, one <testcase> per step.
std::string runs_to_junit(const std::vector<record::RunResult>& runs);

// The readable per-step table and a summary line. color: ANSI colours for a terminal.
void print_table(std::ostream& out, const std::vector<record::RunResult>& runs, bool color);

// Writes text to path atomically (temp file + rename). Throws std::runtime_error naming the
// path on failure.
void write_file_atomic(const std::string& path, const std::string& text);

using record::format_time;

}  // namespace prober::sinks
