#pragma once
// The journey model: what a journey file means, fully validated and compiled. Immutable
// once loaded and shared (std::shared_ptr<const Journey>) by every run of it.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "journeys/capture.hpp"
#include "journeys/check.hpp"
#include "journeys/diag.hpp"
#include "journeys/duration.hpp"
#include "journeys/template.hpp"

namespace journeys {

struct NamedTemplate {
  std::string name;
  Template value;
  SourcePos pos;
};

// A JSON request body written as a TOML table/array: strings in it may be templates.
struct JsonBody {
  nlohmann::json skeleton;  // the document with template strings left as they are
  struct Slot {
    nlohmann::json::json_pointer where;  // a string in skeleton to replace
    Template value;
  };
  std::vector<Slot> slots;
};

struct Request {
  enum class BodyKind { none, raw, json, form };

  std::string method = "GET";
  Template url;
  SourcePos url_pos;
  std::vector<NamedTemplate> headers;  // defaults merged in: step headers override defaults
  std::vector<NamedTemplate> query;    // appended to the URL, percent-encoded
  BodyKind body_kind = BodyKind::none;
  Template body;                       // raw body
  JsonBody json;                       // json body
  std::vector<NamedTemplate> form;     // application/x-www-form-urlencoded
};

struct Step {
  std::string name;
  SourcePos pos;
  Request request;
  Duration timeout{};                 // resolved: step timeout, else defaults.timeout, else journey
  int max_redirects = 0;              // 0: do not follow redirects
  std::size_t max_body_bytes = 0;     // resolved (default 1 MiB)
  bool tls_verify = true;
  std::string ca_file;                // absolute path of a PEM CA bundle; "" = the system's CAs
  // Attempts after a bad first one, recorded as diagnostics only: the first attempt decides
  // the step's event, so a retry never hides a failure.
  int retries = 0;
  std::vector<CheckPtr> checks;       // in file order
  std::vector<Capture> captures;      // in file order
  std::optional<double> latency_threshold_ms;  // from a latency check on total, if any
};

struct LatencySlo {
  std::string step;  // "" for the whole journey
  double threshold_ms = 0;
  double target = 0;  // percent, e.g. 99.0
  SourcePos pos;
};

struct Slo {
  std::optional<double> availability;  // percent of runs that must succeed, e.g. 99.5
  std::vector<LatencySlo> latency;
  Duration window = std::chrono::hours(24 * 28);
  SourcePos pos;
};

struct Var {
  std::string name;
  Template value;
  bool secret = false;
  SourcePos pos;
};

struct Journey {
  std::string name;
  std::string description;
  std::string cuj;
  std::string file;  // path it was loaded from
  SourcePos pos;
  std::vector<std::string> tags;
  std::vector<std::string> locations;  // empty: every location
  Duration interval = std::chrono::seconds(60);
  Duration timeout = std::chrono::seconds(30);  // whole-run deadline
  bool reuse_connections = true;
  std::vector<Var> vars;  // evaluated in order at the start of each run
  std::vector<Step> steps;
  std::optional<Slo> slo;
  std::vector<Diagnostic> warnings;  // non-fatal findings of the loader
};

using JourneyPtr = std::shared_ptr<const Journey>;

inline constexpr std::size_t kDefaultMaxBodyBytes = 1024 * 1024;
inline constexpr int kDefaultMaxRedirects = 10;  // `follow_redirects = true`

}  // namespace journeys
