// The prober config (prober.toml): every field of a full file lands in the struct, an empty
// file gives the defaults, every error class has its exact message and position, and
// select_locations picks what --location asks for.
#include "prober/engine/config.hpp"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <toml++/toml.h>
#include <unistd.h>

#include "journeys/duration.hpp"

namespace prober::engine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using journeys::Diagnostic;
using journeys::LoadError;

Config load(const std::string& text) {
  return load_config_string(text, "p.toml");
}

// Every diagnostic of a text that must not load, as "file:line:col: context: message".
std::vector<std::string> errors_of(const std::string& text) {
  try {
    load(text);
  } catch (const LoadError& e) {
    std::vector<std::string> out;
    for (const Diagnostic& d : e.diagnostics())
      out.push_back(d.str());
    return out;
  }
  ADD_FAILURE() << "loaded without errors:\n" << text;
  return {};
}

std::string duration_error(std::string_view text) {
  std::string err;
  EXPECT_FALSE(journeys::parse_duration(text, &err));
  return err;
}

// ---------------------------------------------------------------------------------------------
// A full file

TEST(Config, FullFileLandsInTheStruct) {
  ::setenv("PROBER_TEST_TOKEN", "s3cret", 1);
  Config c = load(R"(location = "eu-west"
data_dir = "/var/lib/prober"
log_format = "json"

[scheduler]
late_threshold = "2s"
jitter = "1.5s"
grace = "30s"
stall_threshold = "100ms"
lag_tolerance = "2ms"
threads = 3

[locations.edge-b]
source_address = "127.0.0.3"
ip_version = 4
headers = { X-Probe-Location = "edge-b", X-Num = 7 }
labels = { region = "eu", rack = 3 }

[locations.edge-a]
interface = "eth1"

[locations."via.proxy"]
proxy = "socks5h://user:pw@127.0.0.1:1080"
resolve = ["shop.example:443:127.0.0.1", "api.example:8443:[::1],127.0.0.1"]

[locations.v6]
source_address = "::1"
ip_version = 6

[locations.plain]
labels = { tier = "gold" }

[sinks.prometheus]
listen = "127.0.0.1:9464"

[sinks.sqlite]
retention = "30d"
path = "store/p.db"

[sinks.vm]
type = "remote_write"
url = "http://127.0.0.1:8428/api/v1/write"
headers = { X-Scope-OrgID = "team-a" }
bearer_token = { env = "PROBER_TEST_TOKEN" }
batch_size = 500
flush_interval = "5s"
timeout = "2s"
queue_samples = 1000
spill_dir = "spill/vm"
spill_bytes = "64MiB"

[sinks.influx]
type = "influxdb"
url = "http://127.0.0.1:8086"
database = "prober"
basic_auth = { username = "u", password = { env = "PROBER_TEST_TOKEN" } }

[sinks.influx2]
type = "influxdb"
api = "v2"
url = "https://influx.example:8086"
org = "o"
bucket = "b"
token = { env = "PROBER_TEST_TOKEN" }
)");
  EXPECT_EQ(c.file, "p.toml");
  EXPECT_EQ(c.location, "eu-west");
  EXPECT_EQ(c.data_dir, "/var/lib/prober");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.scheduler.late_threshold, 2s);
  EXPECT_EQ(c.scheduler.jitter, 1500ms);
  EXPECT_EQ(c.scheduler.grace, 30s);
  EXPECT_EQ(c.scheduler.stall_threshold, 100ms);
  EXPECT_EQ(c.scheduler.lag_tolerance, 2ms);
  EXPECT_EQ(c.scheduler.threads, 3u);

  // File order, not key order.
  ASSERT_EQ(c.locations.size(), 5u);
  const Location& b = c.locations[0];
  EXPECT_EQ(b.name, "edge-b");
  ASSERT_TRUE(b.net);
  EXPECT_EQ(b.net->source_address, "127.0.0.3");
  EXPECT_EQ(b.net->interface, "");
  EXPECT_EQ(b.net->proxy, "");
  EXPECT_TRUE(b.net->resolve.empty());
  EXPECT_EQ(b.net->ip_version, 4);
  ASSERT_EQ(b.headers.size(), 2u);
  EXPECT_EQ(b.headers[0].name, "X-Probe-Location");
  EXPECT_EQ(b.headers[0].value, "edge-b");
  EXPECT_EQ(b.headers[1].name, "X-Num");
  EXPECT_EQ(b.headers[1].value, "7");

  const Location& a = c.locations[1];
  EXPECT_EQ(a.name, "edge-a");
  ASSERT_TRUE(a.net);
  EXPECT_EQ(a.net->interface, "eth1");
  EXPECT_EQ(a.net->source_address, "");
  EXPECT_EQ(a.net->ip_version, 0);
  EXPECT_TRUE(a.headers.empty());

  const Location& p = c.locations[2];
  EXPECT_EQ(p.name, "via.proxy");
  ASSERT_TRUE(p.net);
  EXPECT_EQ(p.net->proxy, "socks5h://user:pw@127.0.0.1:1080");
  EXPECT_EQ(p.net->resolve, (std::vector<std::string>{"shop.example:443:127.0.0.1",
                                                      "api.example:8443:[::1],127.0.0.1"}));

  const Location& v6 = c.locations[3];
  EXPECT_EQ(v6.name, "v6");
  ASSERT_TRUE(v6.net);
  EXPECT_EQ(v6.net->source_address, "::1");
  EXPECT_EQ(v6.net->ip_version, 6);

  // Labels only: no network profile, the host's defaults.
  const Location& plain = c.locations[4];
  EXPECT_EQ(plain.name, "plain");
  EXPECT_FALSE(plain.net);

  using Labels = std::map<std::string, std::string>;
  EXPECT_EQ(c.location_labels,
            (std::map<std::string, Labels>{{"edge-b", Labels{{"region", "eu"}, {"rack", "3"}}},
                                           {"plain", Labels{{"tier", "gold"}}}}));

  EXPECT_EQ(c.sinks.prometheus.listen, "127.0.0.1:9464");
  EXPECT_TRUE(c.sinks.sqlite.enabled);
  EXPECT_EQ(c.sinks.sqlite.retention, std::chrono::hours(30 * 24));
  EXPECT_EQ(c.sinks.sqlite.path, "store/p.db");  // p.toml has no folder
  ASSERT_EQ(c.sinks.push.size(), 3u);
  const sinks::PushSinkConfig& vm = c.sinks.push[0];
  EXPECT_EQ(vm.name, "vm");
  EXPECT_EQ(vm.kind, sinks::PushKind::remote_write);
  EXPECT_EQ(vm.url, "http://127.0.0.1:8428/api/v1/write");
  EXPECT_EQ(vm.headers, (std::vector<std::pair<std::string, std::string>>{{"X-Scope-OrgID", "team-a"}}));
  EXPECT_EQ(vm.bearer_token.value, "s3cret");
  EXPECT_EQ(vm.bearer_token.source, "env PROBER_TEST_TOKEN");
  EXPECT_EQ(vm.batch_size, 500u);
  EXPECT_EQ(vm.flush_interval, 5s);
  EXPECT_EQ(vm.timeout, 2s);
  EXPECT_EQ(vm.queue_samples, 1000u);
  EXPECT_EQ(vm.spill_dir, "spill/vm");
  EXPECT_EQ(vm.spill_bytes, 64u << 20);
  EXPECT_EQ(vm.pos.line, 40);
  const sinks::PushSinkConfig& influx = c.sinks.push[1];
  EXPECT_EQ(influx.kind, sinks::PushKind::influx_v1);
  EXPECT_EQ(influx.database, "prober");
  EXPECT_EQ(influx.basic_user, "u");
  EXPECT_EQ(influx.basic_password.value, "s3cret");
  EXPECT_EQ(influx.batch_size, 2000u);  // the default
  const sinks::PushSinkConfig& influx2 = c.sinks.push[2];
  EXPECT_EQ(influx2.kind, sinks::PushKind::influx_v2);
  EXPECT_EQ(influx2.org, "o");
  EXPECT_EQ(influx2.bucket, "b");
  EXPECT_EQ(influx2.bearer_token.value, "s3cret");
}

TEST(Config, EmptyFileGivesTheDefaults) {
  Config c = load("");
  Config defaults;
  EXPECT_EQ(c.file, "p.toml");
  EXPECT_EQ(c.location, "local");
  EXPECT_EQ(c.data_dir, "prober-data");
  EXPECT_EQ(c.log_format, "text");
  EXPECT_TRUE(c.locations.empty());
  EXPECT_TRUE(c.location_labels.empty());
  EXPECT_TRUE(c.sinks.push.empty());
  EXPECT_TRUE(c.sinks.sqlite.enabled);  // the embedded store is on unless turned off
  EXPECT_EQ(c.sinks.sqlite.path, "");   // <data_dir>/prober.db
  EXPECT_EQ(sinks::sqlite_path(c.sinks, c.data_dir), "prober-data/prober.db");
  EXPECT_EQ(c.sinks.prometheus.listen, "");  // no scrape endpoint unless asked for
  EXPECT_EQ(c.scheduler.late_threshold, defaults.scheduler.late_threshold);
  EXPECT_EQ(c.scheduler.jitter, defaults.scheduler.jitter);
  EXPECT_EQ(c.scheduler.grace, defaults.scheduler.grace);
  EXPECT_EQ(c.scheduler.stall_threshold, defaults.scheduler.stall_threshold);
  EXPECT_EQ(c.scheduler.lag_tolerance, prober::engine::kDefaultLagTolerance);
  EXPECT_EQ(c.scheduler.threads, 1u);
  EXPECT_EQ(defaults.scheduler.late_threshold, 1s);
  EXPECT_EQ(defaults.scheduler.grace, 10s);
}

TEST(Config, ThreadsAutoIsOnePerCpuThisProcessMayUse) {
  const auto c = prober::engine::load_config_string("[scheduler]\nthreads = \"auto\"\n", "p.toml");
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  EXPECT_EQ(c.scheduler.threads, static_cast<std::size_t>(std::min(CPU_COUNT(&set), 64)));
  EXPECT_EQ(prober::engine::auto_threads(), c.scheduler.threads);
}

TEST(Config, SmallValues) {
  Config c = load(
      "[scheduler]\njitter = \"0s\"\nlate_threshold = \"1ms\"\n"
      "[locations.empty]\n[sinks.prometheus]\n");
  EXPECT_EQ(c.scheduler.jitter, 0ms);
  EXPECT_EQ(c.scheduler.late_threshold, 1ms);
  ASSERT_EQ(c.locations.size(), 1u);
  EXPECT_FALSE(c.locations[0].net);
  EXPECT_EQ(c.sinks.prometheus.listen, "127.0.0.1:9464");  // loopback unless written out
}

TEST(Config, MaintenanceWindows) {
  Config c = load(
      "[[maintenance]]\ntitle = \"db upgrade\"\nstart = 2026-12-01T02:00:00Z\n"
      "end = 2026-12-01T04:30:00+01:00\njourneys = [\"checkout\"]\n"
      "[[maintenance]]\ntitle = \"edge move\"\nstart = 2026-12-02T00:00:00Z\n"
      "end = 2026-12-02T01:00:00Z\nlocations = [\"edge-a\"]\npolicy = \"count\"\n");
  ASSERT_EQ(c.maintenance.size(), 2u);
  const MaintenanceWindow& db = c.maintenance[0];
  using std::chrono::system_clock;
  const auto t0 = system_clock::from_time_t(1796090400);  // 2026-12-01T02:00:00Z
  EXPECT_EQ(db.title, "db upgrade");
  EXPECT_EQ(db.start, t0);
  EXPECT_EQ(db.end, t0 + 90min);  // 04:30+01:00 is 03:30Z
  EXPECT_FALSE(db.counts);
  EXPECT_TRUE(db.covers("checkout", "any", t0));
  EXPECT_TRUE(db.covers("checkout", "any", t0 + 89min));
  EXPECT_FALSE(db.covers("checkout", "any", t0 + 90min));  // [start, end)
  EXPECT_FALSE(db.covers("checkout", "any", t0 - 1s));
  EXPECT_FALSE(db.covers("login", "any", t0 + 1min));
  const MaintenanceWindow& edge = c.maintenance[1];
  EXPECT_TRUE(edge.counts);
  EXPECT_TRUE(edge.covers("login", "edge-a", t0 + 22h + 30min));
  EXPECT_FALSE(edge.covers("login", "edge-b", t0 + 22h + 30min));
}

// ---------------------------------------------------------------------------------------------
// Errors, one class per case

struct ErrorCase {
  std::string name;
  std::string toml;
  std::vector<std::string> expected;
};

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class ConfigErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrors, ReportsExactDiagnostics) {
  EXPECT_EQ(errors_of(GetParam().toml), GetParam().expected);
}

const std::string kEdge = "[locations.edge-a]\n";

std::vector<ErrorCase> error_cases() {
  return {
      // --- top level
      {"unknown_key",
       "locaton = \"x\"\n",
       {"p.toml:1:11: unknown key 'locaton' (did you mean 'location'?)"}},
      {"unknown_key_without_hint", "colour = 1\n", {"p.toml:1:10: unknown key 'colour'"}},
      {"location_type",
       "location = 3\n",
       {"p.toml:1:12: 'location' must be a string, not an integer"}},
      {"location_name",
       "location = \"eu west\"\n",
       {"p.toml:1:12: invalid location name 'eu west': use letters, digits, '_', '-' and '.'"}},
      {"data_dir_type",
       "data_dir = [\"a\"]\n",
       {"p.toml:1:12: 'data_dir' must be a string, not an array"}},
      {"data_dir_empty", "data_dir = \"\"\n", {"p.toml:1:12: 'data_dir' must not be empty"}},
      {"log_format",
       "log_format = \"xml\"\n",
       {"p.toml:1:14: 'log_format' must be 'text' or 'json', not 'xml'"}},
      // --- scheduler
      {"scheduler_type",
       "scheduler = 1\n",
       {"p.toml:1:13: 'scheduler' must be a table, not an integer"}},
      {"scheduler_unknown_key",
       "[scheduler]\njiter = \"1s\"\n",
       {"p.toml:2:9: scheduler: unknown key 'jiter' (did you mean 'jitter'?)"}},
      {"duration_type",
       "[scheduler]\njitter = 30\n",
       {"p.toml:2:10: scheduler: 'jitter' must be a string (a duration like \"30s\"), not an "
        "integer"}},
      {"bad_duration",
       "[scheduler]\ngrace = \"ten\"\n",
       {"p.toml:2:9: scheduler: 'grace': " + duration_error("ten")}},
      {"zero_duration",
       "[scheduler]\nstall_threshold = \"0s\"\n",
       {"p.toml:2:19: scheduler: 'stall_threshold' must be greater than 0"}},
      {"threads_zero",
       "[scheduler]\nthreads = 0\n",
       {"p.toml:2:11: scheduler: 'threads' must be \"auto\" (one per CPU) or 1 to 64, not 0"}},
      {"threads_word",
       "[scheduler]\nthreads = \"many\"\n",
       {"p.toml:2:11: scheduler: 'threads' must be \"auto\" (one per CPU) or 1 to 64, not 'many'"}},
      {"threads_too_many",
       "[scheduler]\nthreads = 65\n",
       {"p.toml:2:11: scheduler: 'threads' must be \"auto\" (one per CPU) or 1 to 64, not 65"}},
      {"lag_tolerance_below_1ms",
       "[scheduler]\nlag_tolerance = \"500us\"\n",
       {"p.toml:2:17: scheduler: 'lag_tolerance' must be at least 1ms, not 500us"}},
      {"duration_below_1ms",
       "[scheduler]\nlate_threshold = \"500us\"\n",
       {"p.toml:2:18: scheduler: 'late_threshold' must be at least 1ms, not 500us"}},
      {"jitter_below_1ms",
       "[scheduler]\njitter = \"500us\"\n",
       {"p.toml:2:10: scheduler: 'jitter' must be 0 or at least 1ms, not 500us"}},
      // --- locations
      {"locations_type",
       "locations = [\"a\"]\n",
       {"p.toml:1:13: 'locations' must be a table, not an array"}},
      {"location_entry_type",
       "[locations]\na = 1\n",
       {"p.toml:2:5: 'locations.a' must be a table, not an integer"}},
      {"location_key_name",
       "[locations.\"edge a\"]\n",
       {"p.toml:1:12: invalid location name 'edge a': use letters, digits, '_', '-' and '.'"}},
      {"location_unknown_key",
       kEdge + "sourc_address = \"127.0.0.2\"\n",
       {"p.toml:2:17: location 'edge-a': unknown key 'sourc_address' (did you mean "
        "'source_address'?)"}},
      {"source_address_type",
       kEdge + "source_address = 2130706433\n",
       {"p.toml:2:18: location 'edge-a': 'source_address' must be a string, not an integer"}},
      {"source_address_not_ip",
       kEdge + "source_address = \"localhost\"\n",
       {"p.toml:2:18: location 'edge-a': 'source_address' must be an IPv4 or IPv6 address, not "
        "'localhost'"}},
      {"source_address_bad_octet",
       kEdge + "source_address = \"127.0.0.256\"\n",
       {"p.toml:2:18: location 'edge-a': 'source_address' must be an IPv4 or IPv6 address, not "
        "'127.0.0.256'"}},
      {"source_address_and_interface",
       kEdge + "interface = \"eth1\"\nsource_address = \"127.0.0.2\"\n",
       {"p.toml:3:18: location 'edge-a': a location binds to at most one address, but it has "
        "both 'interface' and 'source_address'"}},
      {"interface_empty",
       kEdge + "interface = \"\"\n",
       {"p.toml:2:13: location 'edge-a': 'interface' must not be empty"}},
      {"interface_whitespace",
       kEdge + "interface = \"eth 1\"\n",
       {"p.toml:2:13: location 'edge-a': invalid interface 'eth 1': contains whitespace"}},
      {"interface_too_long",
       kEdge + "interface = \"a-very-long-ifname\"\n",
       {"p.toml:2:13: location 'edge-a': invalid interface 'a-very-long-ifname': longer than 15 "
        "characters"}},
      {"proxy_type",
       kEdge + "proxy = { url = \"http://h:1\" }\n",
       {"p.toml:2:9: location 'edge-a': 'proxy' must be a string, not a table"}},
      {"proxy_no_scheme",
       kEdge + "proxy = \"127.0.0.1:3128\"\n",
       {"p.toml:2:9: location 'edge-a': invalid proxy '127.0.0.1:3128': missing scheme "
        "(http://, https://, socks5:// or socks5h://)"}},
      {"proxy_scheme",
       kEdge + "proxy = \"ftp://127.0.0.1:21\"\n",
       {"p.toml:2:9: location 'edge-a': invalid proxy 'ftp://127.0.0.1:21': scheme must be "
        "http, https, socks5 or socks5h"}},
      {"proxy_no_host",
       kEdge + "proxy = \"http://:3128\"\n",
       {"p.toml:2:9: location 'edge-a': invalid proxy 'http://:3128': missing host"}},
      {"proxy_no_port",
       kEdge + "proxy = \"http://127.0.0.1\"\n",
       {"p.toml:2:9: location 'edge-a': invalid proxy 'http://127.0.0.1': missing port"}},
      {"proxy_bad_port",
       kEdge + "proxy = \"socks5://[::1]:99999\"\n",
       {"p.toml:2:9: location 'edge-a': invalid proxy 'socks5://[::1]:99999': invalid port "
        "'99999'"}},
      {"proxy_password_not_shown",
       kEdge + "proxy = \"http://bob:hunter2@proxy.test\"\n",
       {"p.toml:2:9: location 'edge-a': invalid proxy 'http://bob:***@proxy.test': missing "
        "port"}},
      {"proxy_password_not_shown_without_scheme",
       kEdge + "proxy = \"bob:hunter2@proxy.test:3128\"\n",
       {"p.toml:2:9: location 'edge-a': invalid proxy 'bob:***@proxy.test:3128': missing "
        "scheme (http://, https://, socks5:// or socks5h://)"}},
      {"resolve_type",
       kEdge + "resolve = \"shop.example:443:127.0.0.1\"\n",
       {"p.toml:2:11: location 'edge-a': 'resolve' must be an array of strings "
        "(\"host:port:address\"), not a string"}},
      {"resolve_element_type",
       kEdge + "resolve = [\"a:1:127.0.0.1\", 7]\n",
       {"p.toml:2:29: location 'edge-a': 'resolve' must contain only strings, not an integer"}},
      {"resolve_shape",
       kEdge + "resolve = [\"shop.example:443\"]\n",
       {"p.toml:2:12: location 'edge-a': invalid resolve entry 'shop.example:443': expected "
        "host:port:address"}},
      {"resolve_no_host",
       kEdge + "resolve = [\":443:127.0.0.1\"]\n",
       {"p.toml:2:12: location 'edge-a': invalid resolve entry ':443:127.0.0.1': missing host"}},
      {"resolve_port",
       kEdge + "resolve = [\"shop:https:127.0.0.1\"]\n",
       {"p.toml:2:12: location 'edge-a': invalid resolve entry 'shop:https:127.0.0.1': invalid "
        "port 'https'"}},
      {"resolve_address",
       kEdge + "resolve = [\"shop:443:nowhere\"]\n",
       {"p.toml:2:12: location 'edge-a': invalid resolve entry 'shop:443:nowhere': 'nowhere' is "
        "not an IP address"}},
      {"resolve_v6_address",
       kEdge + "resolve = [\"shop:443:127.0.0.1,[::g]\"]\n",
       {"p.toml:2:12: location 'edge-a': invalid resolve entry 'shop:443:127.0.0.1,[::g]': "
        "'[::g]' is not an IP address"}},
      {"ip_version_value",
       kEdge + "ip_version = 5\n",
       {"p.toml:2:14: location 'edge-a': 'ip_version' must be 4 or 6, not 5"}},
      {"ip_version_type",
       kEdge + "ip_version = \"4\"\n",
       {"p.toml:2:14: location 'edge-a': 'ip_version' must be an integer (4 or 6), not a "
        "string"}},
      {"ip_version_against_source_address",
       kEdge + "source_address = \"127.0.0.2\"\nip_version = 6\n",
       {"p.toml:3:14: location 'edge-a': 'ip_version' is 6 but 'source_address' '127.0.0.2' is "
        "an IPv4 address"}},
      {"headers_type",
       kEdge + "headers = \"X-A: b\"\n",
       {"p.toml:2:11: location 'edge-a': 'headers' must be a table, not a string"}},
      {"header_name",
       kEdge + "headers = { \"X A\" = \"b\" }\n",
       {"p.toml:2:21: location 'edge-a': invalid header name 'X A'"}},
      {"header_value_type",
       kEdge + "headers = { X-A = [\"b\"] }\n",
       {"p.toml:2:19: location 'edge-a': 'headers.X-A' must be a string, not an array"}},
      {"header_value_line_break",
       kEdge + "headers = { X-A = \"b\\r\\nX-B: c\" }\n",
       {"p.toml:2:19: location 'edge-a': invalid value for header 'X-A': contains a line "
        "break"}},
      {"labels_type",
       kEdge + "labels = [\"eu\"]\n",
       {"p.toml:2:10: location 'edge-a': 'labels' must be a table, not an array"}},
      {"label_name",
       kEdge + "labels = { eu-region = \"x\" }\n",
       {"p.toml:2:24: location 'edge-a': invalid label name 'eu-region': use letters, digits "
        "and '_', not starting with a digit"}},
      {"label_name_reserved_prefix",
       kEdge + "labels = { __name__ = \"x\" }\n",
       {"p.toml:2:23: location 'edge-a': invalid label name '__name__': names starting with "
        "'__' are reserved by Prometheus"}},
      {"label_set_by_the_prober",
       kEdge + "labels = { location = \"x\" }\n",
       {"p.toml:2:23: location 'edge-a': label 'location' is set by the prober itself"}},
      {"label_value_type",
       kEdge + "labels = { region = { a = 1 } }\n",
       {"p.toml:2:21: location 'edge-a': 'labels.region' must be a string, not a table"}},
      // --- maintenance
      {"maintenance_mistakes",
       "[[maintenance]]\ntitle = \"x\"\nstart = \"2026-12-01\"\nend = 2026-12-01T01:00:00\n"
       "polcy = \"count\"\n[[maintenance]]\ntitle = \"y\"\nstart = 2026-12-01T02:00:00Z\n"
       "end = 2026-12-01T01:00:00Z\npolicy = \"ignore\"\n[[maintenance]]\nstart = "
       "2026-12-01T02:00:00Z\n",
       {"p.toml:3:9: maintenance #1: 'start' must be a date-time with an offset, like "
        "2026-12-01T02:00:00Z",
        "p.toml:4:7: maintenance #1: 'end' must be a date-time with an offset, like "
        "2026-12-01T02:00:00Z",
        "p.toml:5:9: maintenance #1: unknown key 'polcy' (did you mean 'policy'?)",
        "p.toml:9:7: maintenance #2: 'end' must be after 'start'",
        "p.toml:10:10: maintenance #2: 'policy' must be \"exclude\" (runs inside are invalid, not "
        "in the SLI) or \"count\" (they count as usual), not 'ignore'",
        "p.toml:11:1: maintenance #3: missing 'title'",
        "p.toml:11:1: maintenance #3: missing 'end'"}},
      // --- sinks
      {"sinks_type",
       "sinks = \"prometheus\"\n",
       {"p.toml:1:9: 'sinks' must be a table, not a string"}},
      {"sink_type",
       "[sinks]\nprometheus = true\n",
       {"p.toml:2:14: sinks.prometheus: 'sinks.prometheus' must be a table, not a boolean"}},
      {"sink_unknown_type",
       "[sinks.x]\ntype = \"remote_writ\"\n",
       {"p.toml:2:8: sinks.x: unknown sink type 'remote_writ' (sqlite, prometheus, remote_write, "
        "influxdb) (did you mean 'remote_write'?)"}},
      {"sink_needs_type",
       "[sinks.mystore]\nurl = \"http://127.0.0.1:1/\"\n",
       {"p.toml:1:1: sinks.mystore: sink 'mystore' needs a 'type' (sqlite, prometheus, "
        "remote_write, influxdb)"}},
      {"sink_unknown_key",
       "[sinks.prometheus]\nlisen = \"127.0.0.1:1\"\n",
       {"p.toml:2:9: sinks.prometheus: unknown key 'lisen' (did you mean 'listen'?)"}},
      {"listen_without_host",
       "[sinks.prometheus]\nlisten = \":9464\"\n",
       {"p.toml:2:10: sinks.prometheus: 'listen': give the address to bind: \"127.0.0.1:9464\" "
        "(this host only) or \"0.0.0.0:9464\" (every interface)"}},
      {"listen_name",
       "[sinks.prometheus]\nlisten = \"localhost:9464\"\n",
       {"p.toml:2:10: sinks.prometheus: 'listen': 'localhost' is not an IPv4 address (IPv6: "
        "\"[::1]:9464\")"}},
      {"listen_port",
       "[sinks.prometheus]\nlisten = \"127.0.0.1:99999\"\n",
       {"p.toml:2:10: sinks.prometheus: 'listen': invalid port '99999'"}},
      {"push_url_missing_and_scheme",
       "[sinks.a]\ntype = \"remote_write\"\n[sinks.b]\ntype = \"remote_write\"\nurl = "
       "\"ftp://x/\"\n",
       {"p.toml:1:1: sinks.a: missing 'url'",
        "p.toml:5:7: sinks.b: 'url': scheme must be http or https"}},
      {"secret_inline",
       "[sinks.a]\ntype = \"remote_write\"\nurl = \"http://h/\"\nbearer_token = \"abc\"\n",
       {"p.toml:4:16: sinks.a: 'bearer_token' must not be written in the config: use { env = "
        "\"VAR\" } or { file = \"path\" }"}},
      {"secret_env_unset",
       "[sinks.a]\ntype = \"remote_write\"\nurl = \"http://h/\"\nbearer_token = { env = "
       "\"PROBER_TEST_UNSET_VAR\" }\n",
       {"p.toml:4:24: sinks.a: 'bearer_token': environment variable 'PROBER_TEST_UNSET_VAR' is "
        "not set or empty"}},
      {"secret_file_missing",
       "[sinks.a]\ntype = \"remote_write\"\nurl = \"http://h/\"\nbearer_token = { file = "
       "\"/nonexistent/token\" }\n",
       {"p.toml:4:25: sinks.a: 'bearer_token': cannot read '/nonexistent/token': No such file "
        "or directory"}},
      {"secret_both",
       "[sinks.a]\ntype = \"remote_write\"\nurl = \"http://h/\"\nbearer_token = { env = "
       "\"A\", file = \"b\" }\n",
       {"p.toml:4:16: sinks.a: 'bearer_token' needs exactly one of 'env' and 'file'"}},
      {"influx_v1_needs_database",
       "[sinks.i]\ntype = \"influxdb\"\nurl = \"http://h:8086\"\norg = \"o\"\n",
       {"p.toml:1:1: sinks.i: api \"v1\" needs 'database'",
        "p.toml:4:7: sinks.i: 'org' is for api = \"v2\"; api \"v1\" writes to 'database'"}},
      {"influx_v2_needs_org_bucket",
       "[sinks.i]\ntype = \"influxdb\"\napi = \"v2\"\nurl = \"http://h:8086\"\n",
       {"p.toml:1:1: sinks.i: api \"v2\" needs 'org'", "p.toml:1:1: sinks.i: api \"v2\" needs 'bucket'"}},
      {"remote_write_has_no_database",
       "[sinks.r]\ntype = \"remote_write\"\nurl = \"http://h/\"\ndatabase = \"x\"\n",
       {"p.toml:4:12: sinks.r: unknown key 'database'"}},
      {"batch_size_range",
       "[sinks.r]\ntype = \"remote_write\"\nurl = \"http://h/\"\nbatch_size = 0\n",
       {"p.toml:4:14: sinks.r: 'batch_size' must be between 1 and 1000000, not 0"}},
      {"spill_bytes_bad",
       "[sinks.r]\ntype = \"remote_write\"\nurl = \"http://h/\"\nspill_bytes = \"lots\"\n",
       {"p.toml:4:15: sinks.r: 'spill_bytes' must be a positive size like 536870912 or "
        "\"512MiB\""}},
      {"retention_short",
       "[sinks.sqlite]\nretention = \"10m\"\n",
       {"p.toml:2:13: sinks.sqlite: 'retention' must be at least 1h, not 10m"}},
      {"sqlite_enabled_type",
       "[sinks.sqlite]\nenabled = \"no\"\n",
       {"p.toml:2:11: sinks.sqlite: 'enabled' must be a boolean, not a string"}},
  };
}

INSTANTIATE_TEST_SUITE_P(Config, ConfigErrors, testing::ValuesIn(error_cases()),
                         [](const testing::TestParamInfo<ErrorCase>& info) {
                           return info.param.name;
                         });

TEST(ConfigSyntax, ReportsTheOneSyntaxErrorWithItsPosition) {
  std::vector<std::string> errors = errors_of("location = \"a\"\n[locations\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("p.toml:2:", 0), 0u) << errors[0];
  EXPECT_NE(errors[0].find(": syntax error: "), std::string::npos) << errors[0];
}

// TOML does not let a name be defined twice, so duplicate locations never reach the loader.
TEST(ConfigSyntax, DuplicateLocationIsASyntaxError) {
  std::vector<std::string> errors =
      errors_of("[locations.a]\ninterface = \"eth1\"\n[locations.a]\ninterface = \"eth2\"\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("p.toml:3:", 0), 0u) << errors[0];
  EXPECT_NE(errors[0].find("syntax error: "), std::string::npos) << errors[0];
}

TEST(Config, EveryMistakeIsReportedInFileOrder) {
  // [locations.b] comes after [scheduler] in the file: its error must too.
  const char* text = R"(locaton = "eu"
log_format = "yaml"

[locations.a]
source_address = "not-an-ip"
proxy = "http://127.0.0.1"

[scheduler]
grace = "0s"

[locations.b]
ip_version = 5
headers = { "bad name" = "x" }
)";
  std::vector<std::string> expected = {
      "p.toml:1:11: unknown key 'locaton' (did you mean 'location'?)",
      "p.toml:2:14: 'log_format' must be 'text' or 'json', not 'yaml'",
      "p.toml:5:18: location 'a': 'source_address' must be an IPv4 or IPv6 address, not "
      "'not-an-ip'",
      "p.toml:6:9: location 'a': invalid proxy 'http://127.0.0.1': missing port",
      "p.toml:9:9: scheduler: 'grace' must be greater than 0",
      "p.toml:12:14: location 'b': 'ip_version' must be 4 or 6, not 5",
      "p.toml:13:26: location 'b': invalid header name 'bad name'",
  };
  EXPECT_EQ(errors_of(text), expected);
}

TEST(Config, LoadErrorWhatListsEveryDiagnostic) {
  try {
    load("colour = 1\nshape = 2\n");
    FAIL() << "no LoadError";
  } catch (const LoadError& e) {
    EXPECT_EQ(std::string(e.what()),
              "p.toml:1:10: unknown key 'colour'\np.toml:2:9: unknown key 'shape'");
  }
}

// ---------------------------------------------------------------------------------------------
// Files

class ConfigFiles : public testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() / ("config_test_" + std::to_string(::getpid()) + "_" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string write(const std::string& name, const std::string& text) {
    fs::path p = root_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  static std::vector<std::string> errors_of_file(const std::string& path) {
    try {
      load_config(path);
    } catch (const LoadError& e) {
      std::vector<std::string> out;
      for (const Diagnostic& d : e.diagnostics())
        out.push_back(d.str());
      return out;
    }
    ADD_FAILURE() << "loaded without errors";
    return {};
  }

  fs::path root_;
};

TEST_F(ConfigFiles, LoadsAFile) {
  std::string path = write("prober.toml", "location = \"us-east\"\n");
  Config c = load_config(path);
  EXPECT_EQ(c.file, path);
  EXPECT_EQ(c.location, "us-east");
}

// Paths in a config are relative to its folder; a secret file loses its final line break.
TEST_F(ConfigFiles, PathsAreRelativeToTheConfigAndSecretFilesAreRead) {
  write("token", "t0ken\n");
  std::string path = write("prober.toml",
                           "data_dir = \"data\"\n"
                           "[sinks.sqlite]\npath = \"db/x.db\"\n"
                           "[sinks.r]\ntype = \"remote_write\"\nurl = \"http://127.0.0.1:1/\"\n"
                           "bearer_token = { file = \"token\" }\nspill_dir = \"/abs/spill\"\n");
  Config c = load_config(path);
  EXPECT_EQ(c.data_dir, (root_ / "data").string());
  EXPECT_EQ(c.sinks.sqlite.path, (root_ / "db/x.db").string());
  ASSERT_EQ(c.sinks.push.size(), 1u);
  EXPECT_EQ(c.sinks.push[0].bearer_token.value, "t0ken");
  EXPECT_EQ(c.sinks.push[0].bearer_token.source, "file " + (root_ / "token").string());
  EXPECT_EQ(c.sinks.push[0].spill_dir, "/abs/spill");
}

// A secret "file" that is a device or a folder, or too big, is refused without reading it all.
TEST_F(ConfigFiles, SecretFilesMustBeSmallRegularFiles) {
  write("big", std::string(70 * 1024, 'x'));
  fs::create_directory(root_ / "dir");
  std::string path = write("prober.toml",
                           "[sinks.a]\ntype = \"remote_write\"\nurl = \"http://h/\"\n"
                           "bearer_token = { file = \"/dev/zero\" }\n"
                           "[sinks.b]\ntype = \"remote_write\"\nurl = \"http://h/\"\n"
                           "bearer_token = { file = \"big\" }\n"
                           "[sinks.c]\ntype = \"remote_write\"\nurl = \"http://h/\"\n"
                           "bearer_token = { file = \"dir\" }\n");
  EXPECT_EQ(errors_of_file(path),
            (std::vector<std::string>{
                path + ":4:25: sinks.a: 'bearer_token': '/dev/zero' is not a regular file",
                path + ":8:25: sinks.b: 'bearer_token': '" + (root_ / "big").string() +
                    "' is larger than 64 KiB",
                path + ":12:25: sinks.c: 'bearer_token': '" + (root_ / "dir").string() +
                    "' is not a regular file"}));
}

// A secret never shows up in a diagnostic, even when the rest of the sink is wrong.
TEST_F(ConfigFiles, SecretValuesAreNotInErrors) {
  write("token", "very-secret-value");
  std::string path = write("prober.toml",
                           "[sinks.r]\ntype = \"remote_write\"\nurl = \"gopher://x\"\n"
                           "bearer_token = { file = \"token\" }\nbatch_size = -1\n");
  std::vector<std::string> errors = errors_of_file(path);
  ASSERT_EQ(errors.size(), 2u);
  for (const std::string& e : errors) EXPECT_EQ(e.find("very-secret-value"), std::string::npos) << e;
}

TEST_F(ConfigFiles, ErrorsNameTheFile) {
  std::string path = write("prober.toml", "\nlocation = 1\n");
  EXPECT_EQ(errors_of_file(path),
            std::vector<std::string>{path + ":2:12: 'location' must be a string, not an integer"});
}

TEST_F(ConfigFiles, MissingFileIsALoadError) {
  std::string path = (root_ / "missing.toml").string();
  EXPECT_EQ(errors_of_file(path),
            std::vector<std::string>{path + ": cannot read file: No such file or directory"});
}

TEST_F(ConfigFiles, FolderIsALoadError) {
  std::string path = root_.string();
  EXPECT_EQ(errors_of_file(path),
            std::vector<std::string>{path + ": cannot read file: Is a directory"});
}

// ---------------------------------------------------------------------------------------------
// select_locations

Config two_locations() {
  return load(
      "location = \"eu-west\"\n"
      "[locations.a]\nsource_address = \"127.0.0.2\"\n"
      "[locations.b]\nheaders = { X-From = \"b\" }\n");
}

struct SelectCase {
  std::string name;
  Config config;
  std::string only;
  std::vector<std::string> expected;  // names
};

void PrintTo(const SelectCase& c, std::ostream* os) {
  *os << c.name;
}

class ConfigSelect : public testing::TestWithParam<SelectCase> {};

TEST_P(ConfigSelect, PicksTheLocations) {
  std::vector<Location> got = select_locations(GetParam().config, GetParam().only);
  std::vector<std::string> names;
  for (const Location& l : got)
    names.push_back(l.name);
  EXPECT_EQ(names, GetParam().expected);
}

std::vector<SelectCase> select_cases() {
  return {
      {"defaults", Config{}, "", {"local"}},
      {"no_locations_uses_location", load("location = \"eu-west\"\n"), "", {"eu-west"}},
      {"no_locations_with_flag", load("location = \"eu-west\"\n"), "us-east", {"us-east"}},
      {"all_locations", two_locations(), "", {"a", "b"}},
      {"one_location", two_locations(), "b", {"b"}},
  };
}

INSTANTIATE_TEST_SUITE_P(Config, ConfigSelect, testing::ValuesIn(select_cases()),
                         [](const testing::TestParamInfo<SelectCase>& info) {
                           return info.param.name;
                         });

TEST(ConfigSelectOne, KeepsTheLocationsProfileAndHeaders) {
  Config c = two_locations();
  std::vector<Location> a = select_locations(c, "a");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_TRUE(a[0].net);
  EXPECT_EQ(a[0].net->source_address, "127.0.0.2");
  EXPECT_EQ(a[0].net, c.locations[0].net);  // shared, not copied

  std::vector<Location> b = select_locations(c, "b");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_FALSE(b[0].net);
  ASSERT_EQ(b[0].headers.size(), 1u);
  EXPECT_EQ(b[0].headers[0].name, "X-From");
}

TEST(ConfigSelectOne, DefaultLocationHasNoProfile) {
  std::vector<Location> l = select_locations(Config{}, "");
  ASSERT_EQ(l.size(), 1u);
  EXPECT_FALSE(l[0].net);
  EXPECT_TRUE(l[0].headers.empty());
}

TEST(ConfigSelectOne, UnknownLocationListsTheKnownOnes) {
  try {
    select_locations(two_locations(), "c");
    FAIL() << "no error";
  } catch (const LoadError&) {
    FAIL() << "a LoadError: --location is not a file position";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "unknown location 'c' (config has: a, b)");
  }
}

}  // namespace
}  // namespace prober::engine
