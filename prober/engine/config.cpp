// The prober config loader: one pass over prober.toml that reports every problem at once,
// in the journey loader's words ("file:line:col: location 'edge-a': unknown key ..."), so
// `prober check` shows a config and its journeys with one voice.
//
// Like the journey loader, a value that fails is left at its default and the walk goes on;
// the diagnostics are sorted by position at the end, so a file that interleaves
// [locations.a], [scheduler] and [locations.b] still reads top to bottom.

#include "prober/engine/config.hpp"

#include "journeys/toml_read.hpp"

#include <sched.h>

#include <algorithm>
#include <thread>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include <toml++/toml.h>

#include "journeys/duration.hpp"

namespace prober::engine {
namespace {

using journeys::contains;
using journeys::Diagnostic;
using journeys::Diagnostics;
using journeys::Entry;
using journeys::file_error;
using journeys::in_file_order;
using journeys::in_quotes;
using journeys::is_alpha;
using journeys::is_digit;
using journeys::is_header_name;
using journeys::scalar_text;
using journeys::with_hint;
using journeys::Duration;
using journeys::LoadError;

const std::vector<std::string_view> kTopKeys = {"location",  "data_dir",  "log_format",
                                                "scheduler", "locations", "sinks",
                                                "maintenance"};
const std::vector<std::string_view> kMaintenanceKeys = {"title",    "start",     "end",
                                                        "journeys", "locations", "policy"};
const std::vector<std::string_view> kSchedulerKeys = {"late_threshold", "jitter", "grace",
                                                      "stall_threshold", "lag_tolerance", "threads"};
const std::vector<std::string_view> kLocationKeys = {
    "source_address", "interface", "proxy", "resolve", "ip_version", "headers", "labels"};
// The keys that make a location need a NetProfile.
const std::vector<std::string_view> kNetKeys = {"source_address", "interface", "proxy", "resolve",
                                                "ip_version"};
const std::vector<std::string_view> kLogFormats = {"text", "json"};
// Labels every prober metric already carries (DESIGN "Metrics"), and the ones Prometheus gives
// a meaning: a location label of the same name would clash with them in every series.
const std::vector<std::string_view> kReservedLabels = {"journey", "step", "location",
                                                       "reason",  "le",   "quantile"};


bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}
bool has_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), is_space);
}

// Location names end up in metric labels, file names and --location.
bool is_location_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.';
  });
}

// RFC 9110 token: what a header field name may contain.

// Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool is_label_name(std::string_view s) {
  return !s.empty() && !is_digit(s[0]) && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '_';
  });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}



// Paths in a config file are relative to the file's folder (as paths in journeys are, and as
// Prometheus does), so a config works from whatever folder the prober starts in. A config read
// from a string ("<demo locations>") has no folder.
std::string relative_to_config(const std::string& config_file, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute() || config_file.empty() || config_file[0] == '<') return path;
  std::filesystem::path dir = std::filesystem::path(config_file).parent_path();
  return dir.empty() ? path : (dir / p).string();
}

enum class Family { none, v4, v6 };

// inet_pton is the whole grammar: "127.0.0.1", "::1", "fe80::1"; no names, no brackets.
Family ip_family(const std::string& text) {
  if (text.find('\0') != std::string::npos) return Family::none;  // TOML allows "\u0000"
  in6_addr buf{};
  if (inet_pton(AF_INET, text.c_str(), &buf) == 1) return Family::v4;
  if (inet_pton(AF_INET6, text.c_str(), &buf) == 1) return Family::v6;
  return Family::none;
}

// A TCP port as curl takes it: 1..65535, digits only.
bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), is_digit)) return false;
  int port = std::stoi(std::string(s));
  return port >= 1 && port <= 65535;
}

// A scalar as TOML writes it: 2, 1.5, true.

bool comes_before(const toml::node& a, const toml::node& b) {
  const toml::source_position& pa = a.source().begin;
  const toml::source_position& pb = b.source().begin;
  return std::pair(pa.line, pa.column) < std::pair(pb.line, pb.column);
}


// A table's entries in file order (toml++ keeps keys sorted): locations are run, and headers
// sent, in the order they were written.

// ---------------------------------------------------------------------------------------------
// Shape checks of network values. Each returns why the text is unusable, or "" when it is fine.

// A proxy as curl's CURLOPT_PROXY takes it, with the scheme spelled out (curl would otherwise
// guess http) and the port spelled out (curl's default 1080 surprises everyone).
std::string proxy_problem(std::string_view url) {
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos)
    return "missing scheme (http://, https://, socks5:// or socks5h://)";
  std::string scheme = lower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https" && scheme != "socks5" && scheme != "socks5h")
    return "scheme must be http, https, socks5 or socks5h";
  if (has_space(url)) return "contains whitespace";
  std::string_view rest = url.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (std::size_t at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {  // [::1]:3128
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 address";
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return "unexpected text after IPv6 address";
    if (!after.empty()) {
      has_port = true;
      port = after.substr(1);
    }
  } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return "missing host";
  if (!has_port) return "missing port";
  if (!is_port(port)) return "invalid port " + in_quotes(port);
  return {};
}

// The proxy as shown in messages: a password in it is replaced by "***" (config files are
// shared more widely than the secrets in them should be).
std::string redacted_proxy(std::string_view url) {
  std::size_t sep = url.find("://");
  std::size_t start = sep == std::string_view::npos ? 0 : sep + 3;
  std::size_t end = url.find_first_of("/?#", start);
  std::string_view authority = url.substr(start, end == std::string_view::npos ? end : end - start);
  std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, start + colon + 1)) + "***" +
         std::string(url.substr(start + at));
}

// A curl --resolve entry: "host:port:address", the address list comma-separated, an IPv6
// address bare or in brackets ("shop.example:443:[::1]").
std::string resolve_problem(std::string_view entry) {
  std::size_t first = entry.find(':');
  std::size_t second = first == std::string_view::npos ? first : entry.find(':', first + 1);
  if (second == std::string_view::npos) return "expected host:port:address";
  std::string_view host = entry.substr(0, first);
  std::string_view port = entry.substr(first + 1, second - first - 1);
  std::string_view addresses = entry.substr(second + 1);
  if (host.empty()) return "missing host";
  if (has_space(entry)) return "contains whitespace";
  if (!is_port(port)) return "invalid port " + in_quotes(port);
  if (addresses.empty()) return "missing address";
  while (true) {
    std::size_t comma = addresses.find(',');
    std::string_view address = addresses.substr(0, comma);
    std::string_view bare = address;
    if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']')
      bare = bare.substr(1, bare.size() - 2);
    if (ip_family(std::string(bare)) == Family::none)
      return in_quotes(address) + " is not an IP address";
    if (comma == std::string_view::npos) break;
    addresses.remove_prefix(comma + 1);
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// The loader of one document

class ConfigLoader {
 public:
  explicit ConfigLoader(Diagnostics& d) : d_(d) {}

  void load(const toml::table& root, Config& config);

 private:
  // The shared reads of journeys/toml_read.hpp, bound to this file's diagnostics.
  void type_error(const toml::node& n, std::string_view key, std::string_view expected) {
    journeys::type_error(d_, n, key, expected);
  }
  void check_keys(const toml::table& t, const std::vector<std::string_view>& allowed) {
    journeys::check_keys(d_, t, allowed);
  }
  const toml::table* table_at(const toml::node& n, std::string_view key) {
    return journeys::table_at(d_, n, key);
  }
  std::optional<std::string> string_at(const toml::node& n, std::string_view key) {
    return journeys::string_at(d_, n, key);
  }

  void load_location_name(const toml::node& n, Config& config);
  void load_data_dir(const toml::node& n, Config& config);
  void load_log_format(const toml::node& n, Config& config);
  void load_scheduler(const toml::node& n, SchedulerOptions& s);
  std::optional<std::chrono::milliseconds> duration_at(const toml::node& n, std::string_view key,
                                                       bool zero_allowed);
  void load_locations(const toml::node& n, Config& config);
  void load_location(const Entry& e, Config& config);
  void load_net(const toml::table& t, transport::NetProfile& net);
  std::vector<journeys::Header> load_headers(const toml::node& n);
  std::map<std::string, std::string> load_labels(const toml::node& n);
  void load_sinks(const toml::node& n, Config& config);
  void load_maintenance(const toml::node& n, Config& config);
  std::optional<std::chrono::system_clock::time_point> time_at(const toml::node& n,
                                                               std::string_view key);
  std::vector<std::string> names_at(const toml::node& n, std::string_view key);

  Diagnostics& d_;
};

void ConfigLoader::load(const toml::table& root, Config& config) {
  check_keys(root, kTopKeys);
  if (const toml::node* n = root.get("location")) load_location_name(*n, config);
  if (const toml::node* n = root.get("data_dir")) load_data_dir(*n, config);
  if (const toml::node* n = root.get("log_format")) load_log_format(*n, config);
  if (const toml::node* n = root.get("scheduler")) load_scheduler(*n, config.scheduler);
  if (const toml::node* n = root.get("locations")) load_locations(*n, config);
  if (const toml::node* n = root.get("sinks")) load_sinks(*n, config);
  if (const toml::node* n = root.get("maintenance")) load_maintenance(*n, config);
}

void ConfigLoader::load_location_name(const toml::node& n, Config& config) {
  std::optional<std::string> name = string_at(n, "location");
  if (!name) return;
  if (!is_location_name(*name)) {
    d_.error(
        n, "invalid location name " + in_quotes(*name) + ": use letters, digits, '_', '-' and '.'");
    return;
  }
  config.location = std::move(*name);
}

void ConfigLoader::load_data_dir(const toml::node& n, Config& config) {
  std::optional<std::string> dir = string_at(n, "data_dir");
  if (!dir) return;
  if (dir->empty()) {
    d_.error(n, "'data_dir' must not be empty");
    return;
  }
  config.data_dir = relative_to_config(config.file, *dir);
}

void ConfigLoader::load_log_format(const toml::node& n, Config& config) {
  std::optional<std::string> format = string_at(n, "log_format");
  if (!format) return;
  if (!contains(kLogFormats, *format)) {
    d_.error(n, "'log_format' must be 'text' or 'json', not " + in_quotes(*format));
    return;
  }
  config.log_format = std::move(*format);
}

void ConfigLoader::load_scheduler(const toml::node& n, SchedulerOptions& s) {
  const toml::table* t = table_at(n, "scheduler");
  if (!t) return;
  journeys::ContextScope ctx(d_, "scheduler");
  check_keys(*t, kSchedulerKeys);
  auto read = [&](std::string_view key, std::chrono::milliseconds& out, bool zero_allowed) {
    if (const toml::node* v = t->get(key))
      if (auto ms = duration_at(*v, key, zero_allowed)) out = *ms;
  };
  read("late_threshold", s.late_threshold, false);
  read("jitter", s.jitter, true);
  read("grace", s.grace, false);
  read("stall_threshold", s.stall_threshold, false);
  read("lag_tolerance", s.lag_tolerance, false);
  if (const toml::node* v = t->get("threads")) {
    if (const auto* text = v->as_string(); text && text->get() == "auto") {
      s.threads = auto_threads();
    } else if (const auto* i = v->as_integer(); i && i->get() >= 1 && i->get() <= kMaxThreads) {
      s.threads = static_cast<std::size_t>(i->get());
    } else {
      d_.error(*v, "'threads' must be \"auto\" (one per CPU) or 1 to " + std::to_string(kMaxThreads) +
                       ", not " + scalar_text(*v));
    }
  }
}

// A duration written as a string ("250ms"). The scheduler counts in milliseconds, so a
// positive value below 1ms is refused rather than silently rounded to 0 (which would turn
// jitter off or make every tick a stall); finer digits of larger values are dropped.
std::optional<std::chrono::milliseconds> ConfigLoader::duration_at(const toml::node& n,
                                                                   std::string_view key,
                                                                   bool zero_allowed) {
  const auto* s = n.as_string();
  if (!s) {
    type_error(n, key, "a string (a duration like \"30s\")");
    return std::nullopt;
  }
  std::string err;
  std::optional<Duration> v = journeys::parse_duration(s->get(), &err);
  if (!v) {
    d_.error(n, in_quotes(key) + ": " + err);
    return std::nullopt;
  }
  if (v->count() == 0) {
    if (zero_allowed) return std::chrono::milliseconds{0};
    d_.error(n, in_quotes(key) + " must be greater than 0");
    return std::nullopt;
  }
  if (*v < std::chrono::milliseconds{1}) {
    d_.error(n, in_quotes(key) + " must be " + (zero_allowed ? "0 or " : "") +
                    "at least 1ms, not " + journeys::format_duration(*v));
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*v);
}

void ConfigLoader::load_locations(const toml::node& n, Config& config) {
  const toml::table* t = table_at(n, "locations");
  if (!t) return;
  // TOML itself refuses a name defined twice ([locations.a] twice is a syntax error), so
  // names are unique here.
  for (const Entry& e : in_file_order(*t))
    load_location(e, config);
}

void ConfigLoader::load_location(const Entry& e, Config& config) {
  std::string name(e.key);
  bool name_ok = is_location_name(name);
  if (!name_ok)
    d_.error(e.key_node->source(), "invalid location name " + in_quotes(name) +
                                       ": use letters, digits, '_', '-' and '.'");
  const toml::table* t = table_at(*e.node, "locations." + name);
  if (!t) return;
  journeys::ContextScope ctx(d_, "location " + in_quotes(name));
  check_keys(*t, kLocationKeys);

  Location location;
  location.name = name;
  bool has_net = std::any_of(kNetKeys.begin(), kNetKeys.end(),
                             [&](std::string_view key) { return t->contains(key); });
  if (has_net) {
    auto net = std::make_shared<transport::NetProfile>();
    load_net(*t, *net);
    location.net = std::move(net);
  }
  if (const toml::node* n = t->get("headers")) location.headers = load_headers(*n);
  std::map<std::string, std::string> labels;
  if (const toml::node* n = t->get("labels")) labels = load_labels(*n);
  if (!name_ok) return;
  if (!labels.empty()) config.location_labels[name] = std::move(labels);
  config.locations.push_back(std::move(location));
}

void ConfigLoader::load_net(const toml::table& t, transport::NetProfile& net) {
  Family source_family = Family::none;
  const toml::node* source_node = t.get("source_address");
  const toml::node* interface_node = t.get("interface");
  if (source_node) {
    if (auto s = string_at(*source_node, "source_address")) {
      source_family = ip_family(*s);
      if (source_family == Family::none)
        d_.error(*source_node,
                 "'source_address' must be an IPv4 or IPv6 address, not " + in_quotes(*s));
      else
        net.source_address = std::move(*s);
    }
  }
  if (interface_node) {
    if (auto s = string_at(*interface_node, "interface")) {
      if (s->empty())
        d_.error(*interface_node, "'interface' must not be empty");
      else if (has_space(*s))
        d_.error(*interface_node, "invalid interface " + in_quotes(*s) + ": contains whitespace");
      // The transport binds with "if!NAME", a kernel interface name: IFNAMSIZ - 1 at most.
      else if (s->size() >= IF_NAMESIZE)
        d_.error(*interface_node, "invalid interface " + in_quotes(*s) + ": longer than " +
                                      std::to_string(IF_NAMESIZE - 1) + " characters");
      else
        net.interface = std::move(*s);
    }
  }
  if (source_node && interface_node) {
    // Reported at whichever comes second, like a second body of a journey request.
    bool interface_second = comes_before(*source_node, *interface_node);
    d_.error(interface_second ? *interface_node : *source_node,
             std::string("a location binds to at most one address, but it has both ") +
                 (interface_second ? "'source_address' and 'interface'"
                                   : "'interface' and 'source_address'"));
  }
  if (const toml::node* n = t.get("proxy")) {
    if (auto s = string_at(*n, "proxy")) {
      if (std::string problem = proxy_problem(*s); !problem.empty())
        d_.error(*n, "invalid proxy " + in_quotes(redacted_proxy(*s)) + ": " + problem);
      else
        net.proxy = std::move(*s);
    }
  }
  if (const toml::node* n = t.get("resolve")) {
    if (const toml::array* a = n->as_array()) {
      for (const toml::node& item : *a) {
        const auto* s = item.as_string();
        if (!s) {
          d_.error(item, "'resolve' must contain only strings, not " +
                             std::string(journeys::type_name(item)));
          continue;
        }
        if (std::string problem = resolve_problem(s->get()); !problem.empty())
          d_.error(item, "invalid resolve entry " + in_quotes(s->get()) + ": " + problem);
        else
          net.resolve.push_back(s->get());
      }
    } else {
      type_error(*n, "resolve", "an array of strings (\"host:port:address\")");
    }
  }
  if (const toml::node* n = t.get("ip_version")) {
    if (const auto* i = n->as_integer()) {
      if (i->get() != 4 && i->get() != 6) {
        d_.error(*n, "'ip_version' must be 4 or 6, not " + std::to_string(i->get()));
      } else {
        net.ip_version = static_cast<int>(i->get());
        // curl would only say "couldn't connect" at every run.
        Family wanted = net.ip_version == 4 ? Family::v4 : Family::v6;
        if (source_family != Family::none && source_family != wanted)
          d_.error(*n, "'ip_version' is " + std::to_string(net.ip_version) +
                           " but 'source_address' " + in_quotes(net.source_address) + " is an IPv" +
                           (source_family == Family::v4 ? "4" : "6") + " address");
      }
    } else {
      type_error(*n, "ip_version", "an integer (4 or 6)");
    }
  }
}

// headers: a table of name = value, in file order. Numbers and booleans are taken as their
// text, as in journey files.
std::vector<journeys::Header> ConfigLoader::load_headers(const toml::node& n) {
  std::vector<journeys::Header> out;
  const toml::table* t = table_at(n, "headers");
  if (!t) return out;
  for (const Entry& e : in_file_order(*t)) {
    std::string name(e.key);
    if (!is_header_name(name)) {
      d_.error(*e.node, "invalid header name " + in_quotes(name));
      continue;
    }
    std::string value;
    if (const auto* s = e.node->as_string()) {
      value = s->get();
    } else if (e.node->is_integer() || e.node->is_floating_point() || e.node->is_boolean()) {
      value = scalar_text(*e.node);
    } else {
      type_error(*e.node, "headers." + name, "a string");
      continue;
    }
    // A line break would end the header and start another one (header injection).
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      d_.error(*e.node, "invalid value for header " + in_quotes(name) + ": contains a line break");
      continue;
    }
    out.push_back(journeys::Header{std::move(name), std::move(value)});
  }
  return out;
}

std::map<std::string, std::string> ConfigLoader::load_labels(const toml::node& n) {
  std::map<std::string, std::string> out;
  const toml::table* t = table_at(n, "labels");
  if (!t) return out;
  for (const Entry& e : in_file_order(*t)) {
    std::string name(e.key);
    if (!is_label_name(name)) {
      d_.error(*e.node, "invalid label name " + in_quotes(name) +
                            ": use letters, digits and '_', not starting with a digit");
      continue;
    }
    if (name.starts_with("__")) {
      d_.error(*e.node, "invalid label name " + in_quotes(name) +
                            ": names starting with '__' are reserved by Prometheus");
      continue;
    }
    if (contains(kReservedLabels, name)) {
      d_.error(*e.node, "label " + in_quotes(name) + " is set by the prober itself");
      continue;
    }
    if (const auto* s = e.node->as_string()) {
      out[name] = s->get();
    } else if (e.node->is_integer() || e.node->is_floating_point() || e.node->is_boolean()) {
      out[name] = scalar_text(*e.node);
    } else {
      type_error(*e.node, "labels." + name, "a string");
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// [sinks.*]


const std::vector<std::string_view> kSinkTypes = {"sqlite", "prometheus", "remote_write",
                                                  "influxdb"};
const std::vector<std::string_view> kSqliteKeys = {"type", "enabled", "path", "retention"};
const std::vector<std::string_view> kScrapeKeys = {"type", "listen"};
// Keys every push sink has; influxdb adds kInfluxKeys.
const std::vector<std::string_view> kPushKeys = {
    "type",    "url",           "headers",       "basic_auth", "bearer_token", "batch_size",
    "timeout", "flush_interval", "queue_samples", "spill_dir",  "spill_bytes"};
const std::vector<std::string_view> kInfluxKeys = {"api", "database", "org", "bucket", "token"};
const std::vector<std::string_view> kSecretKeys = {"env", "file"};
const std::vector<std::string_view> kBasicAuthKeys = {"username", "password"};

// "IP:port" or "[IPv6]:port"; returns why not, or "".
std::string listen_problem(const std::string& text) {
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return "expected [IPv6]:port";
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (ip_family(host) != Family::v6) return in_quotes(host) + " is not an IPv6 address";
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) return "expected IP:port, e.g. \"127.0.0.1:9464\"";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty())
      return "give the address to bind: \"127.0.0.1:" + port +
             "\" (this host only) or \"0.0.0.0:" + port + "\" (every interface)";
    if (ip_family(host) != Family::v4)
      return in_quotes(host) + " is not an IPv4 address (IPv6: \"[::1]:" + port + "\")";
  }
  if (port == "0") return {};  // an ephemeral port (tests)
  if (!is_port(port)) return "invalid port " + in_quotes(port);
  return {};
}

// An http(s) URL with a host; returns why not, or "".
std::string push_url_problem(std::string_view url) {
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return "missing scheme (http:// or https://)";
  std::string scheme = lower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https") return "scheme must be http or https";
  if (has_space(url) || url.find('\0') != std::string_view::npos) return "contains whitespace";
  std::string_view rest = url.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority[0] == ':') return "missing host";
  return {};
}

// A byte size: an integer, or a string "512MiB" / "1GiB" / "64KiB" / "100MB".
std::optional<std::uint64_t> parse_bytes(std::string_view text) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < text.size() && is_digit(text[i])) {
    if (n > (std::uint64_t{1} << 50)) return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string unit = lower(text.substr(i));
  static const std::vector<std::pair<std::string_view, std::uint64_t>> kUnits = {
      {"", 1},          {"b", 1},           {"kb", 1000},          {"mb", 1000 * 1000},
      {"gb", 1000000000}, {"kib", 1 << 10}, {"mib", 1 << 20},      {"gib", 1ull << 30}};
  for (const auto& [name, factor] : kUnits)
    if (unit == name) return n * factor;
  return std::nullopt;
}

class SinkLoader {
 public:
  SinkLoader(Diagnostics& d, const std::string& config_file) : d_(d), file_(config_file) {}

  void load(const toml::table& sinks, sinks::SinksConfig& out) {
    bool has_sqlite = false, has_scrape = false;
    for (const Entry& e : in_file_order(sinks)) {
      std::string name(e.key);
      journeys::ContextScope ctx(d_, "sinks." + name);
      const toml::table* t = journeys::table_at(d_, *e.node, "sinks." + name);
      if (!t) continue;
      if (!is_location_name(name)) {
        d_.error(*e.node, "invalid sink name " + in_quotes(name) +
                              ": use letters, digits, '_', '-' and '.'");
        continue;
      }
      std::string type = name;
      if (const toml::node* n = t->get("type")) {
        auto v = journeys::string_at(d_, *n, "type");
        if (!v) continue;
        type = *v;
        if (!contains(kSinkTypes, type)) {
          d_.error(*n, with_hint("unknown sink type " + in_quotes(type) +
                                     " (sqlite, prometheus, remote_write, influxdb)",
                                 type, kSinkTypes));
          continue;
        }
      } else if (!contains(kSinkTypes, name)) {
        d_.error(*t, with_hint("sink " + in_quotes(name) +
                                   " needs a 'type' (sqlite, prometheus, remote_write, influxdb)",
                               name, kSinkTypes));
        continue;
      }
      if (type == "sqlite") {
        if (has_sqlite) d_.error(*t, "a second sqlite sink: there is one embedded store");
        has_sqlite = true;
        load_sqlite(*t, out.sqlite);
      } else if (type == "prometheus") {
        if (has_scrape) d_.error(*t, "a second prometheus scrape endpoint: there is one");
        has_scrape = true;
        load_scrape(*t, out.prometheus);
      } else {
        sinks::PushSinkConfig push;
        push.name = name;
        push.pos = d_.pos(*t);
        load_push(*t, type, push);
        out.push.push_back(std::move(push));
      }
    }
  }

 private:
  void load_sqlite(const toml::table& t, sinks::SqliteSinkConfig& s) {
    journeys::check_keys(d_, t, kSqliteKeys);
    if (const toml::node* n = t.get("enabled")) {
      if (const auto* b = n->as_boolean())
        s.enabled = b->get();
      else
        journeys::type_error(d_, *n, "enabled", "a boolean");
    }
    if (const toml::node* n = t.get("path")) {
      if (auto v = journeys::string_at(d_, *n, "path")) {
        if (v->empty())
          d_.error(*n, "'path' must not be empty");
        else
          s.path = relative_to_config(*v);
      }
    }
    if (const toml::node* n = t.get("retention")) {
      if (auto d = duration(*n, "retention")) {
        if (*d < std::chrono::hours(1))
          d_.error(*n, "'retention' must be at least 1h, not " + journeys::format_duration(*d));
        else
          s.retention = std::chrono::duration_cast<std::chrono::hours>(*d);
      }
    }
  }

  void load_scrape(const toml::table& t, sinks::PrometheusSinkConfig& s) {
    journeys::check_keys(d_, t, kScrapeKeys);
    s.listen = "127.0.0.1:9464";  // loopback unless another address is written out
    if (const toml::node* n = t.get("listen")) {
      if (auto v = journeys::string_at(d_, *n, "listen")) {
        if (std::string why = listen_problem(*v); !why.empty())
          d_.error(*n, "'listen': " + why);
        else
          s.listen = *v;
      }
    }
  }

  void load_push(const toml::table& t, const std::string& type, sinks::PushSinkConfig& p) {
    std::vector<std::string_view> keys = kPushKeys;
    if (type == "influxdb") keys.insert(keys.end(), kInfluxKeys.begin(), kInfluxKeys.end());
    journeys::check_keys(d_, t, keys);
    if (const toml::node* n = t.get("url")) {
      if (auto v = journeys::string_at(d_, *n, "url")) {
        if (std::string why = push_url_problem(*v); !why.empty())
          d_.error(*n, "'url': " + why);
        else
          p.url = *v;
      }
    } else {
      d_.error(t, "missing 'url'");
    }
    if (const toml::node* n = t.get("headers")) load_headers(*n, p.headers);
    if (const toml::node* n = t.get("basic_auth")) {
      if (const toml::table* b = journeys::table_at(d_, *n, "basic_auth")) {
        journeys::check_keys(d_, *b, kBasicAuthKeys);
        if (const toml::node* u = b->get("username")) {
          if (auto v = journeys::string_at(d_, *u, "basic_auth.username")) p.basic_user = *v;
        } else {
          d_.error(*b, "'basic_auth' needs 'username'");
        }
        if (const toml::node* pw = b->get("password"))
          p.basic_password = secret(*pw, "basic_auth.password");
        else
          d_.error(*b, "'basic_auth' needs 'password' ({ env = \"VAR\" } or { file = \"path\" })");
      }
    }
    if (const toml::node* n = t.get("bearer_token")) p.bearer_token = secret(*n, "bearer_token");
    if (!p.basic_user.empty() && !p.bearer_token.empty())
      d_.error(t, "give 'basic_auth' or 'bearer_token', not both");
    size_key(t, "batch_size", p.batch_size, 1, 1'000'000);
    size_key(t, "queue_samples", p.queue_samples, 1, 1'000'000'000);
    if (const toml::node* n = t.get("timeout"))
      if (auto d = duration(*n, "timeout")) p.timeout = at_least_ms(*n, "timeout", *d);
    if (const toml::node* n = t.get("flush_interval"))
      if (auto d = duration(*n, "flush_interval"))
        p.flush_interval = at_least_ms(*n, "flush_interval", *d);
    if (const toml::node* n = t.get("spill_dir")) {
      if (auto v = journeys::string_at(d_, *n, "spill_dir")) {
        if (v->empty())
          d_.error(*n, "'spill_dir' must not be empty (leave it out to keep the queue in memory)");
        else
          p.spill_dir = relative_to_config(*v);
      }
    }
    if (const toml::node* n = t.get("spill_bytes")) {
      std::optional<std::uint64_t> bytes;
      if (const auto* i = n->as_integer()) {
        if (i->get() > 0) bytes = static_cast<std::uint64_t>(i->get());
      } else if (const auto* s = n->as_string()) {
        bytes = parse_bytes(s->get());
      } else {
        journeys::type_error(d_, *n, "spill_bytes", "an integer or a size like \"512MiB\"");
      }
      if (bytes && *bytes > 0)
        p.spill_bytes = *bytes;
      else if (n->is_integer() || n->is_string())
        d_.error(*n, "'spill_bytes' must be a positive size like 536870912 or \"512MiB\"");
    }
    if (type == "remote_write") {
      p.kind = sinks::PushKind::remote_write;
      return;
    }
    // influxdb
    std::string api = "v1";
    if (const toml::node* n = t.get("api")) {
      if (auto v = journeys::string_at(d_, *n, "api")) {
        if (*v != "v1" && *v != "v2")
          d_.error(*n, "'api' must be \"v1\" (InfluxDB 1.x, VictoriaMetrics) or \"v2\", not " +
                           in_quotes(*v));
        else
          api = *v;
      }
    }
    auto str = [&](std::string_view key, std::string& out) {
      if (const toml::node* n = t.get(key))
        if (auto v = journeys::string_at(d_, *n, key)) out = *v;
    };
    str("database", p.database);
    str("org", p.org);
    str("bucket", p.bucket);
    if (const toml::node* n = t.get("token")) p.bearer_token = secret(*n, "token");
    if (api == "v1") {
      p.kind = sinks::PushKind::influx_v1;
      for (std::string_view key : {"org", "bucket", "token"})
        if (const toml::node* n = t.get(key))
          d_.error(*n, in_quotes(key) + " is for api = \"v2\"; api \"v1\" writes to 'database'");
      if (p.database.empty()) d_.error(t, "api \"v1\" needs 'database'");
    } else {
      p.kind = sinks::PushKind::influx_v2;
      if (const toml::node* n = t.get("database"))
        d_.error(*n, "'database' is for api = \"v1\"; api \"v2\" writes to 'org' and 'bucket'");
      if (p.org.empty()) d_.error(t, "api \"v2\" needs 'org'");
      if (p.bucket.empty()) d_.error(t, "api \"v2\" needs 'bucket'");
    }
  }

  // { env = "VAR" } or { file = "path" }; never a literal (configs get shared and committed).
  sinks::Secret secret(const toml::node& n, const std::string& key) {
    sinks::Secret out;
    if (n.is_string()) {
      d_.error(n, in_quotes(key) +
                      " must not be written in the config: use { env = \"VAR\" } or "
                      "{ file = \"path\" }");
      return out;
    }
    const toml::table* t = journeys::table_at(d_, n, key);
    if (!t) return out;
    journeys::check_keys(d_, *t, kSecretKeys);
    const toml::node* env = t->get("env");
    const toml::node* file = t->get("file");
    if ((env != nullptr) == (file != nullptr)) {
      d_.error(n, in_quotes(key) + " needs exactly one of 'env' and 'file'");
      return out;
    }
    if (env) {
      auto name = journeys::string_at(d_, *env, key + ".env");
      if (!name) return out;
      const char* value = name->empty() ? nullptr : std::getenv(name->c_str());
      if (!value || !*value) {
        d_.error(*env, in_quotes(key) + ": environment variable " + in_quotes(*name) +
                           " is not set or empty");
        return out;
      }
      out.value = value;
      out.source = "env " + *name;
      return out;
    }
    auto path = journeys::string_at(d_, *file, key + ".file");
    if (!path) return out;
    std::string full = relative_to_config(*path);
    std::error_code ec;
    // A regular file of at most kMaxSecretBytes: "/dev/zero" or a FIFO must not hang the start.
    if (std::filesystem::exists(full, ec) && !std::filesystem::is_regular_file(full, ec)) {
      d_.error(*file, in_quotes(key) + ": " + in_quotes(full) + " is not a regular file");
      return out;
    }
    std::ifstream in(full, std::ios::binary);
    if (!in) {
      d_.error(*file, in_quotes(key) + ": cannot read " + in_quotes(full) + ": " +
                          std::generic_category().message(errno));
      return out;
    }
    constexpr std::size_t kMaxSecretBytes = 64 * 1024;
    std::string text(kMaxSecretBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxSecretBytes) {
      d_.error(*file, in_quotes(key) + ": " + in_quotes(full) + " is larger than 64 KiB");
      return out;
    }
    out.value = std::move(text);
    // A file written by `echo` ends with a line break that is not part of the secret.
    while (!out.value.empty() && (out.value.back() == '\n' || out.value.back() == '\r'))
      out.value.pop_back();
    if (out.value.empty()) {
      d_.error(*file, in_quotes(key) + ": " + in_quotes(full) + " is empty");
      return out;
    }
    out.source = "file " + full;
    return out;
  }

  void load_headers(const toml::node& n, std::vector<std::pair<std::string, std::string>>& out) {
    const toml::table* t = journeys::table_at(d_, n, "headers");
    if (!t) return;
    for (const Entry& e : in_file_order(*t)) {
      std::string name(e.key);
      if (!is_header_name(name)) {
        d_.error(*e.node, "invalid header name " + in_quotes(name));
        continue;
      }
      auto v = journeys::string_at(d_, *e.node, "headers." + name);
      if (!v) continue;
      if (v->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        d_.error(*e.node, "invalid value for header " + in_quotes(name) + ": contains a line break");
        continue;
      }
      out.emplace_back(std::move(name), std::move(*v));
    }
  }

  void size_key(const toml::table& t, std::string_view key, std::size_t& out, std::int64_t min,
                std::int64_t max) {
    const toml::node* n = t.get(key);
    if (!n) return;
    const auto* i = n->as_integer();
    if (!i) {
      journeys::type_error(d_, *n, key, "an integer");
      return;
    }
    if (i->get() < min || i->get() > max) {
      d_.error(*n, in_quotes(key) + " must be between " + std::to_string(min) + " and " +
                       std::to_string(max) + ", not " + std::to_string(i->get()));
      return;
    }
    out = static_cast<std::size_t>(i->get());
  }

  std::optional<Duration> duration(const toml::node& n, std::string_view key) {
    const auto* s = n.as_string();
    if (!s) {
      journeys::type_error(d_, n, key, "a string (a duration like \"30s\")");
      return std::nullopt;
    }
    std::string err;
    std::optional<Duration> v = journeys::parse_duration(s->get(), &err);
    if (!v) d_.error(n, in_quotes(key) + ": " + err);
    return v;
  }

  std::chrono::milliseconds at_least_ms(const toml::node& n, std::string_view key, Duration d) {
    if (d < std::chrono::milliseconds(1)) {
      d_.error(n, in_quotes(key) + " must be at least 1ms, not " + journeys::format_duration(d));
      return std::chrono::milliseconds(1);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
  }

  std::string relative_to_config(const std::string& path) const {
    return engine::relative_to_config(file_, path);
  }

  Diagnostics& d_;
  std::string file_;
};

void ConfigLoader::load_sinks(const toml::node& n, Config& config) {
  const toml::table* t = table_at(n, "sinks");
  if (!t) return;
  SinkLoader(d_, config.file).load(*t, config.sinks);
}

// [[maintenance]]: title, start, end (TOML date-times with an offset), optional journeys and
// locations, policy "exclude" (default) or "count".
void ConfigLoader::load_maintenance(const toml::node& n, Config& config) {
  const toml::array* windows = n.as_array();
  if (!windows || !windows->is_array_of_tables()) {
    type_error(n, "maintenance", "an array of tables ([[maintenance]])");
    return;
  }
  int index = 0;
  for (const toml::node& w : *windows) {
    ++index;
    const toml::table& t = *w.as_table();
    journeys::ContextScope ctx(d_, "maintenance #" + std::to_string(index));
    check_keys(t, kMaintenanceKeys);
    MaintenanceWindow m;
    m.pos = d_.pos(t);
    if (const toml::node* v = t.get("title")) {
      if (auto title = string_at(*v, "title")) m.title = *title;
    } else {
      d_.error(t, "missing 'title'");
    }
    std::optional<std::chrono::system_clock::time_point> start, end;
    if (const toml::node* v = t.get("start"))
      start = time_at(*v, "start");
    else
      d_.error(t, "missing 'start'");
    if (const toml::node* v = t.get("end"))
      end = time_at(*v, "end");
    else
      d_.error(t, "missing 'end'");
    if (start && end && *end <= *start) d_.error(*t.get("end"), "'end' must be after 'start'");
    if (const toml::node* v = t.get("journeys")) m.journeys = names_at(*v, "journeys");
    if (const toml::node* v = t.get("locations")) m.locations = names_at(*v, "locations");
    if (const toml::node* v = t.get("policy")) {
      if (auto policy = string_at(*v, "policy")) {
        if (*policy == "count")
          m.counts = true;
        else if (*policy != "exclude")
          d_.error(*v, "'policy' must be \"exclude\" (runs inside are invalid, not in the SLI) or "
                       "\"count\" (they count as usual), not " + in_quotes(*policy));
      }
    }
    if (start && end && *end > *start) {
      m.start = *start;
      m.end = *end;
      config.maintenance.push_back(std::move(m));
    }
  }
}

std::optional<std::chrono::system_clock::time_point> ConfigLoader::time_at(const toml::node& n,
                                                                           std::string_view key) {
  const auto* dt = n.as_date_time();
  if (!dt || !dt->get().offset) {
    d_.error(n, in_quotes(key) + " must be a date-time with an offset, like 2026-12-01T02:00:00Z");
    return std::nullopt;
  }
  const toml::date_time& v = dt->get();
  using namespace std::chrono;
  const sys_days day{year{v.date.year} / month{v.date.month} / std::chrono::day{v.date.day}};
  return system_clock::time_point(day) + hours(v.time.hour) + minutes(v.time.minute) +
         seconds(v.time.second) +
         duration_cast<system_clock::duration>(nanoseconds(v.time.nanosecond)) -
         minutes(v.offset->minutes);
}

std::vector<std::string> ConfigLoader::names_at(const toml::node& n, std::string_view key) {
  return journeys::strings_at(d_, n, key).value_or(std::vector<std::string>{});
}

}  // namespace

bool MaintenanceWindow::covers(const std::string& journey, const std::string& location,
                               std::chrono::system_clock::time_point t) const {
  if (t < start || t >= end) return false;
  if (!journeys.empty() && std::find(journeys.begin(), journeys.end(), journey) == journeys.end())
    return false;
  return locations.empty() ||
         std::find(locations.begin(), locations.end(), location) != locations.end();
}

std::size_t auto_threads() {
  cpu_set_t set;
  CPU_ZERO(&set);
  long n = 0;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n <= 0) n = static_cast<long>(std::thread::hardware_concurrency());
  return static_cast<std::size_t>(std::clamp<long>(n, 1, kMaxThreads));
}

Config load_config_string(const std::string& text, const std::string& file_name) {
  Diagnostics diag(file_name);
  toml::table root = journeys::parse_or_throw(diag, text);
  Config config;
  config.file = file_name;
  ConfigLoader(diag).load(root, config);
  // The walk goes key by key; the reader goes line by line.
  std::vector<Diagnostic> errors = diag.take();
  std::stable_sort(errors.begin(), errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
  });
  if (!errors.empty()) throw LoadError(std::move(errors));
  return config;
}

Config load_config(const std::string& path) {
  std::error_code ec;
  // An ifstream opens a folder without complaint and then reads nothing.
  if (std::filesystem::is_directory(path, ec))
    throw LoadError(
        {file_error(path, "cannot read file: " + std::generic_category().message(EISDIR))});
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw LoadError(
        {file_error(path, "cannot read file: " + std::generic_category().message(errno))});
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw LoadError({file_error(path, "cannot read file")});
  return load_config_string(text.str(), path);
}

std::vector<Location> select_locations(const Config& config, const std::string& only) {
  if (config.locations.empty()) {
    Location location;
    location.name = only.empty() ? config.location : only;
    return {location};
  }
  if (only.empty()) return config.locations;
  for (const Location& location : config.locations)
    if (location.name == only) return {location};
  std::string names;
  for (const Location& location : config.locations)
    names += (names.empty() ? "" : ", ") + location.name;
  throw std::runtime_error("unknown location " + in_quotes(only) + " (config has: " + names + ")");
}

}  // namespace prober::engine
