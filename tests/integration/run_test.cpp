// The built `prober` binary against real loopback servers: the demo shop and a server that
// misbehaves on purpose. Asserts exact per-step results, the JSON and JUnit files, exit codes.

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/proc.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using nlohmann::json;
using testing::HasSubstr;
using testing_support::Output;
using testing_support::Server;
using testing_support::TempDir;

using testing_support::env_or_die;

const std::string& prober() { static std::string p = env_or_die("PROBER"); return p; }
const std::string& shop() { static std::string p = env_or_die("PROBER_SHOP"); return p; }
const std::string& badserver() { static std::string p = env_or_die("BADSERVER"); return p; }
const std::string& examples() { static std::string p = env_or_die("EXAMPLES_DIR"); return p; }

// A loopback port that nothing listens on: bound to find a free one, then closed. (No fixed
// port is safe: a test runner may have anything listening anywhere.)
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("cannot bind a loopback port");
  ::close(fd);
  return ntohs(a.sin_port);
}

// Finds a run's step in the JSON output.
const json& step(const json& doc, const std::string& journey, const std::string& name) {
  for (const auto& run : doc.at("runs"))
    if (run.at("journey") == journey)
      for (const auto& s : run.at("steps"))
        if (s.at("name") == name) return s;
  throw std::runtime_error("no step " + journey + "/" + name);
}

TEST(DemoShop, EveryExampleStepIsGoodAndOutputsAgree) {
  Server shop_server({shop(), "--port", "0"});
  TempDir tmp;
  const std::string json_path = tmp.path() + "/out.json", junit_path = tmp.path() + "/out.xml";
  Output o = testing_support::run(
      {prober(), "run", "--once", "--lag-tolerance", "1s", examples() + "/journeys", "--json", json_path, "--junit", junit_path},
      {{"SHOP_URL", shop_server.url()}});
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  json doc = json::parse(testing_support::read_file(json_path));
  ASSERT_EQ(doc["version"], 1);
  ASSERT_GE(doc["runs"].size(), 3u);
  int steps = 0;
  for (const auto& run : doc["runs"]) {
    EXPECT_EQ(run["result"], "good") << run.dump(2);
    EXPECT_EQ(run["location"], "local");
    EXPECT_TRUE(run["failed_step"].is_null());
    EXPECT_EQ(run["run_id"].get<std::string>().size(), 16u);
    for (const auto& s : run["steps"]) {
      ++steps;
      EXPECT_EQ(s["result"], "good") << s.dump(2);
      EXPECT_GT(s["status"].get<int>(), 0);
      EXPECT_GT(s["latency_ms"]["total"].get<double>(), 0.0);
      EXPECT_GE(s["latency_ms"]["total"].get<double>(), s["latency_ms"]["first_byte"].get<double>());
    }
  }
  EXPECT_EQ(doc["summary"]["good"], doc["runs"].size());
  // JUnit: one testcase per step, no failures.
  const std::string xml = testing_support::read_file(junit_path);
  std::regex testcase("<testcase ");
  EXPECT_EQ(std::distance(std::sregex_iterator(xml.begin(), xml.end(), testcase), std::sregex_iterator()), steps);
  EXPECT_THAT(xml, HasSubstr("failures=\"0\" errors=\"0\""));
  // The table names every step.
  EXPECT_THAT(o.out, HasSubstr("completePurchase"));
  EXPECT_THAT(o.out, HasSubstr("bad, 0 invalid"));
}

TEST(DemoShop, InjectedErrorsOnCompletePurchaseFailThatStepAndExitOne) {
  Server shop_server({shop(), "--port", "0", "--error-rate", "completePurchase=1"});
  TempDir tmp;
  const std::string json_path = tmp.path() + "/out.json", junit_path = tmp.path() + "/out.xml";
  Output o = testing_support::run({prober(), "run", "--once", "--lag-tolerance", "1s", examples() + "/journeys/checkout.toml",
                                   "--json", json_path, "--junit", junit_path},
                                  {{"SHOP_URL", shop_server.url()}});
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_THAT(o.out, HasSubstr("completePurchase"));
  EXPECT_THAT(o.out, HasSubstr("status: expected 200, got 503"));
  json doc = json::parse(testing_support::read_file(json_path));
  EXPECT_EQ(doc["runs"][0]["result"], "bad");
  EXPECT_EQ(doc["runs"][0]["failed_step"], "completePurchase");
  EXPECT_EQ(step(doc, "checkout", "browse")["result"], "good");
  EXPECT_EQ(step(doc, "checkout", "addToCart")["result"], "good");
  const json& s = step(doc, "checkout", "completePurchase");
  EXPECT_EQ(s["result"], "bad");
  EXPECT_EQ(s["reason"], "status");
  EXPECT_EQ(s["status"], 503);
  ASSERT_GE(s["failed_checks"].size(), 1u);
  EXPECT_EQ(s["failed_checks"][0]["check"], "status");
  EXPECT_EQ(s["failed_checks"][0]["expected"], "200");
  EXPECT_EQ(s["failed_checks"][0]["actual"], "503");
  const std::string xml = testing_support::read_file(junit_path);
  EXPECT_THAT(xml, HasSubstr("<failure type=\"status\""));
  EXPECT_THAT(xml, HasSubstr("failures=\"1\""));
}

TEST(DemoShop, AFailedStepSkipsTheRest) {
  Server shop_server({shop(), "--port", "0", "--error-rate", "cart_add=1"});
  TempDir tmp;
  const std::string json_path = tmp.path() + "/out.json";
  Output o = testing_support::run(
      {prober(), "run", "--once", "--lag-tolerance", "1s", examples() + "/journeys/checkout.toml", "--json", json_path},
      {{"SHOP_URL", shop_server.url()}});
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  json doc = json::parse(testing_support::read_file(json_path));
  EXPECT_EQ(step(doc, "checkout", "browse")["result"], "good");
  EXPECT_EQ(step(doc, "checkout", "addToCart")["result"], "bad");
  const json& last = step(doc, "checkout", "completePurchase");
  EXPECT_EQ(last["result"], "skipped");
  EXPECT_EQ(last["message"], "not run: step 'addToCart' failed");
}

TEST(Secrets, NeverAppearInAnyOutputEvenWhenTheTargetEchoesThem) {
  const std::string token = "s3cr3t-T0ken-9f8e7d";
  const std::string token_b64 = "czNjcjN0LVQwa2VuLTlmOGU3ZA==";
  const std::string other = "0ther-S3cret-42";
  Server bad({badserver(), "--port", "0"});
  TempDir tmp;
  std::string toml = R"(name = "secrets"
[vars]
key = "{{env.API_TOKEN}}"

[[steps]]
name = "echo"
request = { method = "POST", url = "{URL}/echo?q={{env.API_TOKEN}}", headers = { Authorization = "Bearer {{env.API_TOKEN}}", X-Key = "{{key | base64}}" }, body = "token={{key}}" }
expect = { status = 200, json = [ { path = "$.headers.authorization", type = "string" } ] }
capture = { echoed = { json = "$.headers.authorization" } }

[[steps]]
name = "reuse"
request = { url = "{URL}/echo?again={{echoed | urlencode}}", headers = { X-Key = "{{key | base64}}", X-Inline = "{{env.OTHER_SECRET}}" } }
expect = { body_contains = "definitely-not-there", json = [ { path = "$.headers.x-key", equals = "nope" }, { path = "$.headers.x-inline", equals = "nope" } ] }
)";
  for (auto pos = toml.find("{URL}"); pos != std::string::npos; pos = toml.find("{URL}"))
    toml.replace(pos, 5, bad.url());
  const std::string file = tmp.write("secrets.toml", toml);
  const std::string json_path = tmp.path() + "/out.json", junit_path = tmp.path() + "/out.xml";
  Output o = testing_support::run({prober(), "run", "--once", "--lag-tolerance", "1s", file, "--json", json_path, "--junit", junit_path},
                                  {{"API_TOKEN", token}, {"OTHER_SECRET", other}});
  ASSERT_EQ(o.exit_code, 1) << o.out << o.err;
  const std::string json_text = testing_support::read_file(json_path);
  const std::string junit_text = testing_support::read_file(junit_path);
  for (const std::string* text : std::vector<const std::string*>{&o.out, &o.err, &json_text, &junit_text}) {
    EXPECT_EQ(text->find(token), std::string::npos) << *text;
    EXPECT_EQ(text->find(token_b64), std::string::npos) << *text;
    EXPECT_EQ(text->find("s3cr3t"), std::string::npos) << *text;
    EXPECT_EQ(text->find(other), std::string::npos) << *text;
  }
  // The run really sent it and really failed on the echo, and says so with *** in place.
  json doc = json::parse(json_text);
  EXPECT_EQ(step(doc, "secrets", "echo")["result"], "good");
  EXPECT_EQ(step(doc, "secrets", "echo")["url"].get<std::string>().find("q=***"), bad.url().size() + 6);
  const json& reuse = step(doc, "secrets", "reuse");
  EXPECT_EQ(reuse["result"], "bad");
  EXPECT_THAT(reuse["url"].get<std::string>(), HasSubstr("again=***"));
  // Both echoed values were compared (so they were in the body) and shown hidden.
  ASSERT_EQ(reuse["failed_checks"].size(), 3u) << reuse.dump(2);
  EXPECT_EQ(reuse["failed_checks"][1]["actual"], "\"***\"");
  EXPECT_EQ(reuse["failed_checks"][2]["actual"], "\"***\"");
  EXPECT_THAT(json_text, HasSubstr("***"));
}

TEST(Retries, AreRecordedButNeverHideTheFirstFailure) {
  Server bad({badserver(), "--port", "0"});
  TempDir tmp;
  const std::string file = tmp.write("r.toml", "name = \"retry\"\n[[steps]]\nname = \"s\"\nretries = 2\n"
                                     "request = { url = \"" + bad.url() + "/status/503\" }\nexpect = { status = 200 }\n");
  const std::string json_path = tmp.path() + "/out.json";
  Output o = testing_support::run({prober(), "run", "--once", "--lag-tolerance", "1s", file, "--json", json_path});
  EXPECT_EQ(o.exit_code, 1) << o.err;
  json doc = json::parse(testing_support::read_file(json_path));
  const json& s = step(doc, "retry", "s");
  EXPECT_EQ(s["result"], "bad");
  EXPECT_EQ(s["reason"], "status");
  ASSERT_EQ(s["retries"].size(), 2u);
  EXPECT_EQ(s["retries"][0]["result"], "bad");
  EXPECT_EQ(s["retries"][1]["status"], 503);

  const std::string wrong = tmp.write("w.toml", "name = \"w\"\n[[steps]]\nname = \"s\"\nretries = -1\n"
                                      "request = { url = \"http://127.0.0.1:1/\" }\n");
  Output e = testing_support::run({prober(), "check", wrong});
  EXPECT_EQ(e.exit_code, 2);
  EXPECT_THAT(e.err, HasSubstr("w.toml:4:11: step 's': 'retries' must be 0 to 10, not -1"));
}

TEST(Journeys, FiveMistakesGiveFiveLocatedErrorsAndExitTwo) {
  TempDir tmp;
  const std::string file = tmp.write("broken.toml", R"(name = "broken"
interval = "5 minutes"

[[steps]]
name = "a"
request = { url = "http://127.0.0.1:1/x" }
expect = { statsu = 200 }

[[steps]]
name = "a"
request = { url = "http://127.0.0.1:1/{{nope}}", methd = "GET" }
)");
  Output o = testing_support::run({prober(), "run", "--once", file});
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  // interval, statsu, duplicate name, unknown variable, methd.
  std::regex located(tmp.path() + "/broken.toml:[0-9]+:[0-9]+: ");
  const auto n = std::distance(std::sregex_iterator(o.err.begin(), o.err.end(), located), std::sregex_iterator());
  EXPECT_EQ(n, 5) << o.err;
  EXPECT_THAT(o.err, HasSubstr("broken.toml:2:12: "));
  EXPECT_THAT(o.err, HasSubstr("did you mean 'status'"));
  EXPECT_THAT(o.err, HasSubstr("did you mean 'method'"));
  EXPECT_THAT(o.err, HasSubstr("duplicate step name 'a'"));
  EXPECT_THAT(o.err, HasSubstr("nope"));
  // `check` reports the same and also exits 2.
  Output c = testing_support::run({prober(), "check", file});
  EXPECT_EQ(c.exit_code, 2);
}

// The README's first command is `./dev demo`: the binary it execs must be the one meson builds
// (it once pointed at build/prober, a folder).
TEST(DevScript, DemoExecsTheBuiltProberBinary) {
  const std::string dev = testing_support::read_file(env_or_die("SOURCE_ROOT") + "/dev");
  const std::string marker = "exec \"$BUILD_DIR/";
  const auto at = dev.find(marker);
  ASSERT_NE(at, std::string::npos) << "dev has no exec of the built binary";
  const auto end = dev.find('"', at + marker.size());
  const std::string rel = dev.substr(at + marker.size(), end - at - marker.size());
  EXPECT_EQ(env_or_die("BUILD_ROOT") + "/" + rel, prober());
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(testing_support::run({prober(), "run", "--once"}).exit_code, 2);
  EXPECT_EQ(testing_support::run({prober(), "frobnicate"}).exit_code, 2);
  Output o = testing_support::run({prober(), "run", "--once", "--jsn", "x", "a.toml"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_THAT(o.err, HasSubstr("unknown option '--jsn'"));
  Output missing = testing_support::run({prober(), "run", "--once", "/nonexistent/journeys"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/journeys"));
}

// `prober version`: ours, curl's, and the library that really serves malloc in the binary:
// mimalloc unless the build chose otherwise (meson -Dallocator, sanitizers).
TEST(Cli, VersionNamesTheLibraryThatServesMalloc) {
  Output o = testing_support::run({prober(), "version"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_THAT(o.out, testing::StartsWith("prober 0."));
  EXPECT_THAT(o.out, HasSubstr("\nlibcurl/"));
  if (env_or_die("PROBER_ALLOCATOR") == "mimalloc")
    EXPECT_THAT(o.out, HasSubstr("\nmalloc: libmimalloc.so"));
  else
    EXPECT_THAT(o.out, testing::Not(HasSubstr("mimalloc")));
  EXPECT_EQ(testing_support::run({prober(), "--version"}).out, o.out);
  EXPECT_EQ(testing_support::run({prober(), "version", "extra"}).exit_code, 2);
}

TEST(Check, ListsStaticCoverageGaps) {
  TempDir tmp;
  const std::string file = tmp.write("gappy.toml", R"(name = "gappy"
[[steps]]
name = "only-status"
request = { url = "http://127.0.0.1:1/" }
expect = { status = 200 }
)");
  // Environment references resolve at load time, for `check` as for `run`.
  Output o = testing_support::run({prober(), "check", file, examples() + "/journeys"},
                                  {{"SHOP_URL", "http://127.0.0.1:1"}});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("status_only"));
  EXPECT_THAT(o.out, HasSubstr("no_latency"));
  EXPECT_THAT(o.out, HasSubstr("no_slo"));
  EXPECT_THAT(o.out, HasSubstr("'only-status'"));
}

// Each misbehaviour of the target gives an exact, distinct result.
struct Misbehaviour {
  const char* name;
  const char* step_toml;  // with {URL}
  const char* result;
  const char* reason;
  const char* message_part;
};

class Misbehaving : public testing::TestWithParam<Misbehaviour> {};

TEST_P(Misbehaving, GivesTheExactStepResult) {
  const Misbehaviour& m = GetParam();
  Server bad({badserver(), "--port", "0"});
  TempDir tmp;
  std::string toml = std::string("name = \"hostile\"\ntimeout = \"10s\"\n\n[[steps]]\nname = \"s\"\n") +
                     m.step_toml + "\n\n[[steps]]\nname = \"after\"\nrequest = { url = \"{URL}/ok\" }\n";
  for (auto pos = toml.find("{URL}"); pos != std::string::npos; pos = toml.find("{URL}"))
    toml.replace(pos, 5, bad.url());
  for (auto pos = toml.find("{CLOSED}"); pos != std::string::npos; pos = toml.find("{CLOSED}"))
    toml.replace(pos, 8, "http://127.0.0.1:" + std::to_string(closed_port()));
  const std::string file = tmp.write("j.toml", toml);
  const std::string json_path = tmp.path() + "/out.json";
  Output o = testing_support::run({prober(), "run", "--once", "--lag-tolerance", "1s", file, "--json", json_path});
  ASSERT_NE(o.exit_code, 2) << o.err;
  json doc = json::parse(testing_support::read_file(json_path));
  const json& s = step(doc, "hostile", "s");
  EXPECT_EQ(s["result"], m.result) << s.dump(2);
  EXPECT_EQ(s["reason"], m.reason) << s.dump(2);
  EXPECT_THAT(s["message"].get<std::string>(), HasSubstr(m.message_part)) << s.dump(2);
  const bool good = std::string(m.result) == "good";
  EXPECT_EQ(o.exit_code, good ? 0 : 1);
  EXPECT_EQ(step(doc, "hostile", "after")["result"], good ? "good" : "skipped");
}

INSTANTIATE_TEST_SUITE_P(
    Loopback, Misbehaving,
    testing::Values(
        Misbehaviour{"ok", R"(request = { url = "{URL}/ok" }
expect = { status = 200, json = [ { path = "$.ok", equals = true } ] })", "good", "", ""},
        Misbehaviour{"server_error", R"(request = { url = "{URL}/status/500" }
expect = { status = "2xx" })", "bad", "status", "status: expected 2xx, got 500"},
        Misbehaviour{"slow_past_timeout", R"(request = { url = "{URL}/slow?ms=3000" }
timeout = "300ms")", "bad", "timeout", "no complete answer within 300ms"},
        Misbehaviour{"invalid_json", R"(request = { url = "{URL}/invalid-json" }
expect = { json = [ { path = "$.items", exists = true } ] })", "bad", "json", "could not evaluate"},
        Misbehaviour{"reset_mid_body", R"(request = { url = "{URL}/reset" })", "bad", "recv", ""},
        Misbehaviour{"redirect_loop", R"(request = { url = "{URL}/redirect-loop" }
follow_redirects = 5)", "bad", "redirect", "redirect"},
        Misbehaviour{"redirect_chain_followed", R"(request = { url = "{URL}/redirect/3" }
follow_redirects = 5
expect = { status = 200 })", "good", "", ""},
        Misbehaviour{"redirect_not_followed", R"(request = { url = "{URL}/redirect/3" }
expect = { status = 200 })", "bad", "status", "got 302"},
        Misbehaviour{"body_over_limit", R"(request = { url = "{URL}/big?bytes=200000" }
max_body_bytes = 100000)", "bad", "body_too_large", "max_body_bytes (100000)"},
        Misbehaviour{"endless_body", R"(request = { url = "{URL}/endless" }
max_body_bytes = 100000)", "bad", "body_too_large", "max_body_bytes (100000)"},
        Misbehaviour{"never_answers", R"(request = { url = "{URL}/never" }
timeout = "300ms")", "bad", "timeout", "300ms"},
        Misbehaviour{"connection_refused", R"(request = { url = "{CLOSED}/" })", "bad", "connect", ""},
        Misbehaviour{"capture_missing", R"(request = { url = "{URL}/ok" }
capture = { t = { json = "$.token" } })", "bad", "capture", "capture 't'"}),
    [](const testing::TestParamInfo<Misbehaviour>& info) { return std::string(info.param.name); });

// --threads N: the runs are shared among N event loops, each on its own thread with its own
// connections; every run is done exactly once, in the journeys' order in the outputs, and the
// target sees exactly the requests the prober reports.
TEST(RunOnceThreads, EveryRunExactlyOnceInOrder) {
  TempDir tmp;
  Server bad({badserver(), "--port", "0", "--log", tmp.path() + "/target.log"});
  constexpr int kJourneys = 40;
  for (int i = 0; i < kJourneys; ++i) {
    std::string text = "name = \"t" + std::to_string(i) + "\"\n";
    for (int k = 0; k < 3; ++k)
      text += "[[steps]]\nname = \"s" + std::to_string(k) + "\"\nrequest = { url = \"" + bad.url() +
              "/slow?ms=20&j=" + std::to_string(i) + "&s=" + std::to_string(k) +
              "\" }\nexpect = { status = 200 }\n";
    tmp.write("j/t" + std::to_string(i) + ".toml", text);
  }
  const std::string json_path = tmp.path() + "/out.json";
  Output o = testing_support::run({prober(), "run", "--once", "--threads", "4", tmp.path() + "/j",
                                   "--json", json_path});
  EXPECT_LE(o.exit_code, 1) << o.out << o.err;
  json doc = json::parse(testing_support::read_file(json_path));
  ASSERT_EQ(doc["runs"].size(), static_cast<std::size_t>(kJourneys));
  std::vector<std::string> names;
  int good = 0;
  for (const auto& r : doc["runs"]) {
    // A step the (loaded test machine's) prober read late is invalid; never bad.
    if (r["result"] == "good") ++good;
    else EXPECT_EQ(r["reason"], "loop_stall") << r.dump(2);
    EXPECT_EQ(r["steps"].size(), 3u);
    names.push_back(r["journey"]);
  }
  EXPECT_GE(good, kJourneys / 2);  // the rest read late on a loaded machine: invalid, not bad
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(names, sorted) << "the outputs keep the journeys' (file) order";
  std::ifstream log(tmp.path() + "/target.log");
  std::map<std::string, int> seen;
  for (std::string line; std::getline(log, line);)
    if (!line.empty()) ++seen[json::parse(line)["path"].get<std::string>()];
  // Every step was sent exactly once (a read-late step still ends its run: then fewer).
  for (const auto& [path, n] : seen) EXPECT_EQ(n, 1) << path;
  if (good == kJourneys) {
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kJourneys * 3));
  }

  Output zero = testing_support::run({prober(), "run", "--once", "--threads", "0", tmp.path() + "/j"});
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_THAT(zero.err, HasSubstr("--threads must be auto or 1 to 64, not '0'"));
  Output word = testing_support::run({prober(), "run", "--once", "--threads", "2x", tmp.path() + "/j"});
  EXPECT_EQ(word.exit_code, 2);
  EXPECT_THAT(word.err, HasSubstr("not '2x'"));
}

TEST(RunOnce, ALagToleranceBelowAMillisecondOrNotADurationIsAUsageError) {
  TempDir tmp;
  const std::string file = tmp.write("j.toml", "name = \"j\"\n[[steps]]\nname = \"s\"\n"
                                               "request = { url = \"http://127.0.0.1:9/\" }\n");
  Output small = testing_support::run({prober(), "run", "--once", "--lag-tolerance", "500us", file});
  EXPECT_EQ(small.exit_code, 2);
  EXPECT_THAT(small.err, HasSubstr("--lag-tolerance must be at least 1ms, not '500us'"));
  Output word = testing_support::run({prober(), "run", "--lag-tolerance", "soon", file});
  EXPECT_EQ(word.exit_code, 2);
  EXPECT_THAT(word.err, HasSubstr("--lag-tolerance: invalid duration 'soon'"));
}

// The prober short of file descriptors: whatever it could still do, it never reports the
// target bad for its own shortage. Under every limit from 4 to 40 descriptors, a journey of a
// good step and a step whose name lookup fails (a name refused before any query leaves the
// host) either stops at start with a clear error (exit 2, "epoll: Too many open files"; no
// crash) or ends with step 1 good — or invalid `local_resource` when it could not open its
// socket (curl calls that "Couldn't connect", which was reported as the target's failure) —
// and step 2 invalid `local_resource` (the lookup could not even start) or bad `dns` (the name
// does not exist, looked up again). Each outcome occurs somewhere in the sweep.
TEST(LocalShortage, OutOfFileDescriptorsIsNeverTheTargetsFailure) {
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizer runtime needs descriptors of its own (UBSan's vptr check tests whether
  // memory is readable by writing it to a pipe): at these limits it reports its own failure
  // as the prober's ("object has invalid vptr"). The unsanitized suite runs this test.
  GTEST_SKIP() << "under ASan/UBSan the sanitizer runtime runs out of file descriptors first";
#endif
  Server bad({badserver(), "--port", "0"});
  TempDir tmp;
  const std::string url = bad.url();
  const std::string name = std::string(64, 'a') + ".test";
  const std::string unresolvable = "http://" + name + url.substr(url.rfind(':'));
  const std::string file = tmp.write("fd.toml", "name = \"fd\"\n[[steps]]\nname = \"good\"\n"
                                     "request = { url = \"" + url + "/ok\" }\n"
                                     "[[steps]]\nname = \"lookup\"\n"
                                     "request = { url = \"" + unresolvable + "/ok\" }\n");
  const std::string json_path = tmp.path() + "/out.json";
  int local = 0, dns = 0, refused_to_start = 0;
  int no_socket = 0;
  for (int limit = 4; limit <= 40; ++limit) {
    std::remove(json_path.c_str());
    Output o = testing_support::run({"/bin/sh", "-c", "ulimit -n " + std::to_string(limit) + " && exec \"$0\" \"$@\"",
                                     prober(), "run", "--once", file, "--json", json_path});
    ASSERT_GE(o.exit_code, 0) << "limit " << limit << ": killed\n" << o.err;
    ASSERT_LE(o.exit_code, 2) << "limit " << limit << ":\n" << o.err;
    if (o.exit_code == 2) {  // could not start (or write its output): says so
      EXPECT_THAT(o.err, HasSubstr("Too many open files")) << limit;
      ++refused_to_start;
      continue;
    }
    const std::string text = testing_support::read_file(json_path);
    ASSERT_FALSE(text.empty()) << "limit " << limit << ": no JSON\n" << o.err;
    json doc = json::parse(text);
    const json& first = step(doc, "fd", "good");
    const json& second = step(doc, "fd", "lookup");
    EXPECT_NE(first["result"], "bad") << "limit " << limit << ": " << first.dump(2);
    if (first["result"] != "good") {  // its own connection failed for want of an fd
      EXPECT_EQ(first["reason"], "local_resource") << first.dump(2);
      EXPECT_THAT(first["message"].get<std::string>(), HasSubstr("could not open a socket (Too many open files)"));
      EXPECT_EQ(second["result"], "skipped");
      ++no_socket;
      continue;
    }
    if (second["result"] == "invalid") {
      EXPECT_EQ(second["reason"], "local_resource") << second.dump(2);
      EXPECT_THAT(second["message"].get<std::string>(), HasSubstr("could not start a name lookup"));
      EXPECT_EQ(doc["runs"][0]["result"], "invalid") << doc.dump(2);
      ++local;
    } else {
      EXPECT_EQ(second["result"], "bad") << second.dump(2);
      EXPECT_EQ(second["reason"], "dns") << second.dump(2);
      EXPECT_THAT(second["message"].get<std::string>(), HasSubstr("looked up again: Name or service not known"));
      ++dns;
    }
  }
  std::printf("fd limits 4..40: %d stopped at start, %d could not open a socket, %d lookups "
              "could not start (both invalid), %d dns (bad)\n",
              refused_to_start, no_socket, local, dns);
  EXPECT_GT(no_socket, 0);
  EXPECT_GT(local, 0);
  EXPECT_GT(dns, 0);
}

}  // namespace
