#pragma once
// `prober run` without --once: the scheduler runs every journey from every location until
// SIGTERM/SIGINT or --duration; SIGHUP reloads config and journeys atomically.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace prober::cli {

struct DaemonOptions {
  std::vector<std::string> paths;      // journey files and folders
  std::optional<std::string> config;   // --config FILE
  std::optional<std::string> data_dir; // --data-dir DIR: overrides the config's data_dir
  std::string location;                // --location NAME ("" = all configured)
  std::optional<std::chrono::nanoseconds> duration;  // --duration D
  std::chrono::nanoseconds interval_override{};      // --interval D (0: the journeys')
  std::optional<std::string> json_path;   // with --duration: every run, at the end
  std::optional<std::string> junit_path;
  std::optional<std::string> log_format;  // overrides the config's
  bool live = true;                       // live view when stdout is a terminal
  std::optional<std::size_t> threads;     // --threads: overrides the config's
  std::optional<std::chrono::milliseconds> lag_tolerance;  // --lag-tolerance: overrides the config's
  // Called once the scheduler runs, on the loop thread (the demo schedules its faults here).
  std::function<void(boost::asio::io_context&, std::chrono::nanoseconds duration)> on_start;
  // Called once the loop has stopped, before its io_context is destroyed: release every I/O
  // object on_start made (a timer that outlives its io_context is a use after free).
  std::function<void()> on_stop;
  // Overrides the config's locations (the demo's three vantage points).
  std::optional<std::string> locations_toml;
};

// Returns the exit code: 0 after a clean stop, 2 for config or journey errors at start.
int run_daemon(const DaemonOptions& options);

}  // namespace prober::cli
