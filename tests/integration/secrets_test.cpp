// Secrets never leak: journeys use a value from the environment everywhere a secret can go (an
// Authorization header, the URL path and query, JSON and form bodies, a capture of a response
// that echoes it, failing checks whose expected and got values would show it), and a push sink
// reads its bearer token from a secret file. Every output of `prober run --once` and of the
// daemon is then searched for the values, raw and in the encoded forms the journeys send:
// stdout, stderr (JSON logs), --json, --junit, every byte under --data-dir (the SQLite file,
// its -wal and -shm) and the /metrics scrapes.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/helpers.hpp"
#include "tests/support/child.hpp"
#include "tests/support/proc.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HasSubstr;
using testing_support::Server;
using testing_support::TempDir;
using namespace std::chrono_literals;

using itest::free_port;
using itest::log_lines;
using testing_support::env_or_die;
const std::string& prober() { static std::string p = env_or_die("PROBER"); return p; }
const std::string& badserver() { static std::string p = env_or_die("BADSERVER"); return p; }

// The secret from the environment: '/' and '+' so its URL-encoded form differs from it.
const std::string kToken = "Sx9-s3cr3t/T0k+3n~Q7";
// The secret in the token file of the push sink.
const std::string kFileToken = "F1le-t0ken-8c2b5a";
// The variable the journeys read it from.
const std::string kVar = "SECRETS_TEST_TOKEN";

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

std::string urlencode(const std::string& in) {
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

// The forms a leak could take: raw, base64, URL-encoded (upper and lower hex), the form
// encoding of a space ('+'), JSON-escaped ('/' as "\/"), and a long-enough core of the value.
std::vector<std::string> forms(const std::string& secret) {
  std::string lower = urlencode(secret);
  for (std::size_t i = 0; i + 2 < lower.size(); ++i)
    if (lower[i] == '%') lower[i + 1] = (char)std::tolower(lower[i + 1]), lower[i + 2] = (char)std::tolower(lower[i + 2]);
  std::vector<std::string> f = {secret, base64(secret), urlencode(secret), lower, base64("Bearer " + secret)};
  std::string escaped;
  for (char c : secret) escaped += c == '/' ? std::string("\\/") : std::string(1, c);
  f.push_back(escaped);
  f.push_back(secret.substr(0, secret.size() / 2 + 1));  // a prefix: a truncated leak is a leak
  return f;
}

// Every form of every secret found in `text`: how often, and the first place in context.
std::string leaks(const std::string& where, const std::string& text, const std::vector<std::string>& secrets) {
  std::string found;
  for (const std::string& s : secrets)
    for (const std::string& f : forms(s)) {
      std::size_t count = 0, first = std::string::npos;
      for (auto pos = text.find(f); pos != std::string::npos; pos = text.find(f, pos + 1)) {
        if (count++ == 0) first = pos;
      }
      if (count == 0) continue;
      const std::size_t from = first < 60 ? 0 : first - 60;
      found += std::to_string(count) + " x '" + f + "' in " + where + ", first: ..." +
               text.substr(from, 140) + "...\n";
    }
  return found;
}

// Every file under dir, byte for byte.
std::map<std::string, std::string> files_under(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) out[e.path().string()] = testing_support::read_file(e.path().string());
  return out;
}




// Three journeys; every step that can pass does, so the later ones run.
void write_journeys(const TempDir& tmp, const std::string& url) {
  const std::string env = "{{env." + kVar + "}}";
  auto fill = [&](std::string t) {
    for (auto p = t.find("{URL}"); p != std::string::npos; p = t.find("{URL}")) t.replace(p, 5, url);
    for (auto p = t.find("{ENV}"); p != std::string::npos; p = t.find("{ENV}")) t.replace(p, 5, env);
    return t;
  };
  fs::create_directories(tmp.path() + "/journeys");
  // Header, query, JSON body, base64 filter; a capture of the echoed header reused in a form
  // body; a capture of the echoed body; a response header that carries it; checks that fail
  // on it with both "expected" and "got" showing it.
  tmp.write("journeys/everywhere.toml", fill(R"(name = "everywhere"
interval = "300ms"
timeout = "5s"

[[steps]]
name = "json-body"
request = { method = "POST", url = "{URL}/echo?q={{env.)" + kVar + R"( | urlencode}}", headers = { Authorization = "Bearer {ENV}", X-B64 = "{{env.)" + kVar + R"( | base64}}" }, json = { token = "{ENV}", nested = { list = ["{ENV}"] } } }
expect = { status = 200, json = [ { path = "$.headers.authorization", type = "string" } ] }
capture = { echoed = { json = "$.headers.authorization" }, sent = { json = "$.body" } }

[[steps]]
name = "form-body"
request = { method = "POST", url = "{URL}/echo", headers = { X-Again = "{{echoed}}", X-Sent = "{{sent | base64}}" }, form = { token = "{ENV}", again = "{{echoed}}" } }
expect = { status = 200, body_contains = "token=" }
capture = { form_echo = { json = "$.body" } }

[[steps]]
name = "response-header"
request = { url = "{URL}/headers?X-Tok={{env.)" + kVar + R"( | urlencode}}" }
expect = { status = 200 }
capture = { from_header = { header = "X-Tok" } }

[[steps]]
name = "failing-checks"
request = { method = "POST", url = "{URL}/echo?k={{from_header | urlencode}}", body = "{{form_echo}}" }
expect = { body_contains = "{ENV}-not-there", headers = { Content-Type = { equals = "{ENV}" } }, json = [ { path = "$.args.k", equals = "x{ENV}" }, { path = "$.body", equals = "nope" }, { path = "$.args.k", matches = "^nope{ENV}$" } ] }
)"));
  // The secret in the URL path (badserver answers 404: a failing status check).
  tmp.write("journeys/path.toml", fill(R"(name = "in-path"
interval = "300ms"
timeout = "5s"

[[steps]]
name = "path"
request = { url = "{URL}/users/{{env.)" + kVar + R"( | urlencode}}/{ENV}/profile?token={{env.)" + kVar + R"( | urlencode}}" }
expect = { status = 200 }
)"));
  // A response header check that fails on the echoed secret.
  tmp.write("journeys/header-check.toml", fill(R"(name = "header-check"
interval = "300ms"
timeout = "5s"

[[steps]]
name = "echo-header"
request = { url = "{URL}/headers?X-Tok={{env.)" + kVar + R"( | urlencode}}", headers = { Authorization = "Basic {{env.)" + kVar + R"( | base64}}" } }
expect = { status = 200, headers = { X-Tok = { equals = "wrong" } } }
)"));
}


// The journeys really sent the secret: the target's log has it, raw and encoded.
void expect_target_saw_it(const std::string& target_log) {
  EXPECT_THAT(target_log, HasSubstr("Bearer " + kToken));
  EXPECT_THAT(target_log, HasSubstr(base64(kToken)));
  EXPECT_THAT(target_log, HasSubstr(urlencode(kToken)));
  EXPECT_THAT(target_log, HasSubstr("/users/"));
}

TEST(Secrets, OnceNeverShowsThemInTerminalJsonJunitOrStore) {
  TempDir tmp;
  Server bad({badserver(), "--port", "0", "--log", tmp.path() + "/target.log"});
  write_journeys(tmp, bad.url());
  const std::string json_path = tmp.path() + "/out.json", junit_path = tmp.path() + "/out.xml";
  const std::string data = tmp.path() + "/data";
  auto o = testing_support::run({prober(), "run", "--once", "--lag-tolerance", "1s", tmp.path() + "/journeys", "--json", json_path,
                                 "--junit", junit_path, "--data-dir", data},
                                {{kVar, kToken}});
  ASSERT_EQ(o.exit_code, 1) << o.out << o.err;
  const std::string json_text = testing_support::read_file(json_path);
  const std::string junit_text = testing_support::read_file(junit_path);
  std::string found = leaks("stdout", o.out, {kToken}) + leaks("stderr", o.err, {kToken}) +
                      leaks("--json", json_text, {kToken}) + leaks("--junit", junit_text, {kToken});
  auto stored = files_under(data);
  EXPECT_FALSE(stored.empty());
  for (const auto& [path, bytes] : stored) found += leaks(path, bytes, {kToken});
  EXPECT_EQ(found, "");
  expect_target_saw_it(testing_support::read_file(tmp.path() + "/target.log"));

  // Every step ran as designed: the passing ones passed (so the captures held the secret),
  // the failing ones failed on their checks with *** where the secret was.
  json doc = json::parse(json_text);
  std::map<std::string, std::string> results;
  for (const auto& run : doc["runs"])
    for (const auto& s : run["steps"]) results[s["name"].get<std::string>()] = s["result"].get<std::string>();
  EXPECT_EQ(results["json-body"], "good") << json_text;
  EXPECT_EQ(results["form-body"], "good") << json_text;
  EXPECT_EQ(results["response-header"], "good") << json_text;
  EXPECT_EQ(results["failing-checks"], "bad") << json_text;
  EXPECT_EQ(results["path"], "bad") << json_text;
  EXPECT_EQ(results["echo-header"], "bad") << json_text;
  EXPECT_THAT(json_text, HasSubstr("***"));
}

TEST(Secrets, TheDaemonNeverShowsThemInLogsStoreMetricsOrReports) {
  TempDir tmp;
  Server bad({badserver(), "--port", "0", "--log", tmp.path() + "/target.log"});
  write_journeys(tmp, bad.url());
  const std::string token_file = tmp.write("push-token", kFileToken + "\n");
  const int port = free_port();
  const int closed = free_port();  // nothing listens: every push fails and is logged
  const std::string config = tmp.write(
      "prober.toml", "[scheduler]\ngrace = \"2s\"\n[sinks.prometheus]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n"
                     "[sinks.push]\ntype = \"remote_write\"\nurl = \"http://127.0.0.1:" +
                         std::to_string(closed) + "/api/v1/write\"\nbearer_token = { file = \"" +
                         token_file + "\" }\nflush_interval = \"500ms\"\ntimeout = \"1s\"\n");
  const std::string json_path = tmp.path() + "/out.json", junit_path = tmp.path() + "/out.xml";
  const std::string data = tmp.path() + "/data";
  ::setenv(kVar.c_str(), kToken.c_str(), 1);
  support::Child d({prober(), "run", tmp.path() + "/journeys", "--config", config, "--duration", "2500ms",
                    "--no-live", "--log-format", "json", "--data-dir", data, "--json", json_path,
                    "--junit", junit_path},
                   /*capture_stderr=*/true);
  ::unsetenv(kVar.c_str());
  const std::vector<std::string> secrets = {kToken, kFileToken};
  std::string found;
  int scrapes = 0;
  for (int i = 0; i < 15; ++i) {  // scrape and read the store while it is being written
    std::this_thread::sleep_for(150ms);
    const itest::HttpAnswer answer =
        itest::http_get("http://127.0.0.1:" + std::to_string(port) + "/metrics");
    const std::string metrics = answer.status == 200 ? answer.body : std::string();
    if (!metrics.empty()) ++scrapes;
    found += leaks("/metrics", metrics, secrets);
    for (const auto& [path, bytes] : files_under(data)) found += leaks(path + " (running)", bytes, secrets);
  }
  std::string out;
  while (auto l = d.read_line(30s)) out += *l + "\n";
  const std::string err = d.read_stderr(30s);
  ASSERT_EQ(d.wait(30s).value_or(-1), 0) << err;
  EXPECT_GE(scrapes, 3);
  ASSERT_EQ(log_lines(err, "stopped").size(), 1u) << err;
  EXPECT_GE(log_lines(err, "stopped")[0]["bad"].get<long long>(), 6) << err;
  const std::string json_text = testing_support::read_file(json_path);
  const std::string junit_text = testing_support::read_file(junit_path);
  found += leaks("stdout", out, secrets) + leaks("stderr", err, secrets) + leaks("--json", json_text, secrets) +
           leaks("--junit", junit_text, secrets);
  auto stored = files_under(data);
  EXPECT_FALSE(stored.empty());
  for (const auto& [path, bytes] : stored) found += leaks(path, bytes, secrets);
  EXPECT_EQ(found, "");
  expect_target_saw_it(testing_support::read_file(tmp.path() + "/target.log"));
  // The push sink really tried (and failed) with its token: its failure is in the log.
  EXPECT_THAT(err, HasSubstr(std::to_string(closed))) << err;
  EXPECT_THAT(json_text, HasSubstr("***"));
}

}  // namespace
