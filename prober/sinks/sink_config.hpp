#pragma once
// The [sinks.*] tables of prober.toml, validated. A sink is named by its table; its type is
// the `type` key, or the name itself when that is a type ("sqlite", "prometheus",
// "remote_write", "influxdb"), so `[sinks.prometheus]` and `[sinks.vm] type = "remote_write"`
// both work. Several push sinks of one type may exist under different names.
//
//   [sinks.sqlite]                      # the embedded store: on unless enabled = false
//   retention = "90d"                   # path: <data_dir>/prober.db (data_dir at top level)
//
//   [sinks.prometheus]                  # scrape endpoint; off unless configured
//   listen = "127.0.0.1:9464"           # loopback by default; other addresses are explicit
//
//   [sinks.prom]                        # Prometheus remote write 1.0
//   type = "remote_write"
//   url = "http://127.0.0.1:9090/api/v1/write"
//   headers = { X-Scope-OrgID = "team-a" }
//   bearer_token = { env = "PROM_TOKEN" }             # or { file = "/run/secrets/token" }
//   basic_auth = { username = "u", password = { env = "PW" } }
//   batch_size = 2000                   # samples per request
//   flush_interval = "15s"              # how often the counters are sampled and pushed
//   timeout = "10s"                     # per request
//   queue_samples = 200000              # bound of the queue; beyond it samples are dropped
//   spill_dir = "prober-data/spill/prom" # optional: the queue overflows to disk up to
//   spill_bytes = "512MiB"              #   this bound before anything is dropped
//
//   [sinks.influx]                      # InfluxDB line protocol over HTTP
//   type = "influxdb"
//   url = "http://127.0.0.1:8086"       # base URL: the sink appends the endpoint
//   api = "v1"                          # v1: POST /write?db=DATABASE (InfluxDB 1.x,
//   database = "prober"                 #     VictoriaMetrics); v2: POST /api/v2/write
//   # org = "o", bucket = "b", token = { env = "INFLUX_TOKEN" }   (api = "v2")
//   (batch_size, flush_interval, timeout, queue_samples, spill_dir, headers, basic_auth as above)
//
// Secrets (tokens, passwords) come from the environment or a file, never inline in the
// config, and are never logged: Secret::source says where they came from for messages.
//
// The prober config loader (prober/engine/config.cpp) validates these tables with the rest of
// the file, so every mistake is reported at its own line and column, and a secret's missing
// environment variable or unreadable file fails at start, not at the first push. This header
// is plain data so that the loader and the sinks share it without depending on each other.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "journeys/diag.hpp"

namespace prober::sinks {

struct Secret {
  std::string value;   // never print this
  std::string source;  // "env PROM_TOKEN" or "file /run/secrets/token", for messages
  bool empty() const { return source.empty(); }
};

struct SqliteSinkConfig {
  bool enabled = true;
  std::string path;  // "" = <data_dir>/prober.db (see sqlite_path())
  std::chrono::hours retention{24 * 90};
};

struct PrometheusSinkConfig {
  std::string listen;  // "" = no scrape endpoint
};

enum class PushKind { remote_write, influx_v1, influx_v2 };

struct PushSinkConfig {
  std::string name;  // the table name, "prom" for [sinks.prom]
  PushKind kind = PushKind::remote_write;
  std::string url;   // remote_write: the endpoint; influxdb: the base URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string basic_user;  // "" = no basic auth
  Secret basic_password;
  Secret bearer_token;     // remote_write bearer token / InfluxDB v2 token
  std::string database;    // influx v1 (?db=)
  std::string org, bucket; // influx v2
  std::size_t batch_size = 2000;
  std::chrono::milliseconds flush_interval{15000};
  std::chrono::milliseconds timeout{10000};
  std::size_t queue_samples = 200000;
  std::string spill_dir;         // "" = memory only
  std::uint64_t spill_bytes = 512ull << 20;
  journeys::SourcePos pos;       // the [sinks.NAME] table, for messages
};

struct SinksConfig {
  SqliteSinkConfig sqlite;
  PrometheusSinkConfig prometheus;
  std::vector<PushSinkConfig> push;
};

// The store's file: sqlite.path if set, else <data_dir>/prober.db.
inline std::string sqlite_path(const SinksConfig& sinks, const std::string& data_dir) {
  if (!sinks.sqlite.path.empty()) return sinks.sqlite.path;
  return (data_dir.empty() ? std::string(".") : data_dir) + "/prober.db";
}

}  // namespace prober::sinks
