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

// The same document as the text --json writes: runs_to_json(runs).dump(2) with bytes that are
// not UTF-8 replaced (a server's bytes must not lose the whole file), and a final newline. Built
// one run at a time: the whole tree of a large --once run (~2.4 KB per step) is never held.
std::string runs_to_json_text(const std::vector<record::RunResult>& runs);

// One <testsuite> per journey and location, one <testcase> per step.
std::string runs_to_junit(const std::vector<record::RunResult>& runs);

// The readable per-step table and a summary line. color: ANSI colours for a terminal.
void print_table(std::ostream& out, const std::vector<record::RunResult>& runs, bool color);

// Writes text to path atomically (temp file + rename). Throws std::runtime_error naming the
// path on failure.
void write_file_atomic(const std::string& path, const std::string& text);

using record::format_time;

}  // namespace prober::sinks
