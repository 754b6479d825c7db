#pragma once
// The prober config file (prober.toml): this process's location, in-process vantage points,
// scheduler settings, sinks. Everything is optional: with no file there is one location
// "local" with the host's network defaults.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "journeys/diag.hpp"
#include "prober/engine/location.hpp"
#include "prober/sinks/sink_config.hpp"

namespace prober::engine {

// The default lag_tolerance. A sanitized (ASan) build runs several times slower, and its loop
// is busy that much longer: ten times the tolerance there, so ./dev sanitize tests memory,
// not how fast instrumented code is.
#ifdef __SANITIZE_ADDRESS__
inline constexpr std::chrono::milliseconds kDefaultLagTolerance{50};
#else
inline constexpr std::chrono::milliseconds kDefaultLagTolerance{5};
#endif

// The most event loops `threads` may ask for, and what "auto" means: one per CPU this
// process may run on (at most kMaxThreads).
inline constexpr std::int64_t kMaxThreads = 64;
std::size_t auto_threads();

struct SchedulerOptions {
  // A run that starts later than its slot by more than this is recorded as invalid
  // (late_start): the prober, not the target, was slow.
  std::chrono::milliseconds late_threshold{1000};
  // Random delay added to each slot, uniformly in [0, jitter).
  std::chrono::milliseconds jitter{0};
  // On SIGTERM/SIGINT, runs in flight get this long to finish; then they are cancelled and
  // recorded as invalid (cancelled).
  std::chrono::milliseconds grace{10000};
  // The event loop is "stalled" when a 100 ms tick fires later than this; runs that were in
  // flight then are recorded as invalid.
  std::chrono::milliseconds stall_threshold{250};
  // A step whose answer waited longer than this in the kernel before the prober read it (the
  // loop was busy) is invalid (loop_stall): its measured time is partly the prober's own.
  std::chrono::milliseconds lag_tolerance{kDefaultLagTolerance};
  // Event loops that run the journeys, one thread each (engine::Workers). 1: the scheduler's
  // own loop runs them. More uses more cores for thousands of steps a second; a pair always
  // runs on the same loop. Read at start (a SIGHUP does not change it).
  std::size_t threads = 1;
};

// A declared maintenance window: runs that start inside it are marked with its title. With
// counts = false (policy "exclude", the default) they are recorded as invalid (reason
// maintenance) and stay out of the SLI; with counts = true (policy "count") they count as usual.
struct MaintenanceWindow {
  std::string title;
  std::chrono::system_clock::time_point start, end;  // [start, end)
  std::vector<std::string> journeys;   // empty: every journey
  std::vector<std::string> locations;  // empty: every location
  bool counts = false;
  journeys::SourcePos pos;
  bool covers(const std::string& journey, const std::string& location,
              std::chrono::system_clock::time_point t) const;
};

struct Config {
  std::string file;                // "" when built from defaults
  std::string location = "local";  // this process's location in a regional fleet
  std::string data_dir = "prober-data";
  // In-process vantage points. Empty: one location named `location` with no network profile.
  std::vector<Location> locations;
  std::map<std::string, std::map<std::string, std::string>> location_labels;  // name -> labels
  SchedulerOptions scheduler;
  std::string log_format = "text";  // "text" or "json"
  std::vector<MaintenanceWindow> maintenance;  // [[maintenance]], in file order
  // [sinks.*], validated (see prober/sinks/sink_config.hpp for the keys).
  sinks::SinksConfig sinks;
};

// Loads a config file. Throws journeys::LoadError with every problem at file:line:col
// (unknown keys with a did-you-mean, wrong types, bad durations, a source_address that is not
// an IP address, a proxy URL that is not http/https/socks5, malformed resolve entries
// "host:port:address", ip_version other than 4 or 6, duplicate location names; in [sinks.*]:
// unknown types, URLs that are not http(s), listen addresses that are not IP:port, secrets
// whose environment variable is unset or whose file cannot be read).
Config load_config(const std::string& path);
Config load_config_string(const std::string& text, const std::string& file_name);

// The locations to run from: config.locations if any, else one named config.location. If
// only is non-empty (--location NAME), keep only that one (a config without [locations]
// gets one location of that name). Throws std::runtime_error for an unknown name.
std::vector<Location> select_locations(const Config& config, const std::string& only);

}  // namespace prober::engine
