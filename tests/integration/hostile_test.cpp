// The built `prober` binary against targets that attack it: bodies of a GiB, endless and
// trickling streams, headers that never end, a gzip bomb, redirects to other schemes and
// hosts, invalid UTF-8, and TLS certificates that are self-signed, expired or for another
// host. Each asserts the exact step result and reason, that the prober exits normally (no
// crash), that its JSON and JUnit outputs stay valid, and, where the attack is on memory,
// the prober's peak RSS (its ru_maxrss, from wait4 on that one child).
//
// The TLS server is `openssl s_server` with certificates made at test time into a temporary
// folder (a CA, leaves signed by it, a self-signed one), so nothing in the repository expires.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "tests/support/proc.hpp"

extern char** environ;

namespace {

using nlohmann::json;
using testing::HasSubstr;
using testing_support::Output;
using testing_support::Server;
using testing_support::TempDir;
using namespace std::chrono_literals;

using testing_support::env_or_die;

const std::string& prober() {
  static std::string p = env_or_die("PROBER");
  return p;
}
const std::string& badserver() {
  static std::string p = env_or_die("BADSERVER");
  return p;
}

// The absolute path of an executable on PATH, "" if there is none.
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    std::size_t end = std::min(dirs.find(':', start), dirs.size());
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

// A child run to completion with its own resource usage: wait4 on its pid gives the peak
// resident set of that process alone (not of the servers, not of earlier children).
struct Measured {
  int exit_code = -1;  // 128 + signal if killed (a crash shows as 134, 139...)
  long max_rss_kib = 0;
  std::string out, err;
};

Measured run_measured(const std::vector<std::string>& argv, const std::string& dir,
                      std::chrono::milliseconds timeout = 60s) {
  const std::string out_path = dir + "/prober.out", err_path = dir + "/prober.err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " + argv[0]);

  Measured m;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool killed = false;
  int status = 0;
  rusage usage{};
  // Bounded: past the deadline the child is SIGKILLed, which always ends it.
  for (;;) {
    const pid_t w = ::wait4(pid, &status, WNOHANG, &usage);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "wait4");
    if (!killed && std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(5ms);
  }
  m.max_rss_kib = usage.ru_maxrss;
  if (killed)
    m.exit_code = -1;
  else if (WIFEXITED(status))
    m.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    m.exit_code = 128 + WTERMSIG(status);
  m.out = testing_support::read_file(out_path);
  m.err = testing_support::read_file(err_path);
  return m;
}

// One journey run once: the step results and both output files, checked for validity.
struct JourneyRun {
  Measured proc;
  json doc;
  std::string junit;

  const json& step(const std::string& name) const {
    for (const auto& run : doc.at("runs"))
      for (const auto& s : run.at("steps"))
        if (s.at("name") == name) return s;
    throw std::runtime_error("no step " + name + " in " + doc.dump());
  }
};

// What is wrong with a file as XML, "" if nothing: Python's parser is strict about the
// encoding and about characters XML forbids. (python3 is in ./dev PACKAGES.)
std::string xml_problem(const std::string& path) {
  static const std::string python = find_on_path("python3");
  if (python.empty()) return "python3 is not installed: cannot check the JUnit file";
  Output o = testing_support::run(
      {python, "-c", "import sys, xml.dom.minidom\nxml.dom.minidom.parse(sys.argv[1])", path});
  return o.exit_code == 0 ? "" : "not well-formed XML: " + o.err;
}

JourneyRun run_journey(const TempDir& tmp, const std::string& toml) {
  const std::string file = tmp.write("hostile.toml", toml);
  const std::string json_path = tmp.path() + "/out.json", junit_path = tmp.path() + "/out.xml";
  JourneyRun r;
  r.proc = run_measured(
      {prober(), "run", "--once", "--lag-tolerance", "1s", file, "--json", json_path, "--junit", junit_path},
      tmp.path());
  // A crash or a config error has no outputs to judge: say so, with what the prober said.
  if (r.proc.exit_code != 0 && r.proc.exit_code != 1)
    throw std::runtime_error("prober exited " + std::to_string(r.proc.exit_code) + "\n" +
                             r.proc.out + r.proc.err);
  // json::parse rejects invalid UTF-8: parsing at all proves the file is valid JSON.
  r.doc = json::parse(testing_support::read_file(json_path));
  r.junit = testing_support::read_file(junit_path);
  EXPECT_EQ(xml_problem(junit_path), "") << r.junit;
  return r;
}

// The prober's peak RSS with nothing hostile going on: the bound of the hostile runs is this
// plus a margin (the 1 MiB body cap, buffers). Measured once, as the smallest of three runs.
long baseline_rss_kib() {
  static long baseline = [] {
    Server ok({badserver(), "--port", "0"});
    long best = 0;
    for (int i = 0; i < 3; ++i) {
      TempDir tmp;
      JourneyRun r =
          run_journey(tmp, "name = \"hostile\"\n[[steps]]\nname = \"s\"\nrequest = { url = \"" +
                               ok.url() + "/ok\" }\n");
      if (best == 0 || r.proc.max_rss_kib < best) best = r.proc.max_rss_kib;
    }
    return best;
  }();
  return baseline;
}

// Peak RSS of a hostile run may exceed the baseline by this much: the 1 MiB body cap, its
// string's doubling, curl's and zlib's buffers, with room to spare. A GiB body would blow it.
constexpr long kRssMarginKib = 48 * 1024;

// ---------------------------------------------------------------------------------------------
// Plain HTTP attacks: one journey per case against one badserver.

struct Attack {
  const char* name;
  const char* step_toml;  // {URL} is the badserver
  const char* reason;     // "" for a good step
  const char* message_part;
  bool bounded_memory;  // also assert the peak RSS
};

class Hostile : public testing::TestWithParam<Attack> {};

TEST_P(Hostile, GivesTheExactResultWithoutCrashingOrGrowing) {
  const Attack& a = GetParam();
  const long baseline = a.bounded_memory ? baseline_rss_kib() : 0;
  Server bad({badserver(), "--port", "0"});
  TempDir tmp;
  std::string toml =
      std::string("name = \"hostile\"\ntimeout = \"20s\"\n\n[[steps]]\nname = \"s\"\n") +
      a.step_toml + "\n\n[[steps]]\nname = \"after\"\nrequest = { url = \"{URL}/ok\" }\n";
  replace_all(toml, "{URL}", bad.url());
  JourneyRun r = run_journey(tmp, toml);
  const json& s = r.step("s");
  const bool good = std::string(a.reason).empty();
  EXPECT_EQ(s["result"], good ? "good" : "bad") << s.dump(2);
  EXPECT_EQ(s["reason"], a.reason) << s.dump(2);
  EXPECT_THAT(s["message"].get<std::string>(), HasSubstr(a.message_part)) << s.dump(2);
  EXPECT_EQ(r.step("after")["result"], good ? "good" : "skipped");
  EXPECT_EQ(r.proc.exit_code, good ? 0 : 1) << r.proc.err;
  // JUnit names the failure with the same reason.
  if (!good) {
    EXPECT_THAT(r.junit, HasSubstr(a.reason));
  }
  if (a.bounded_memory) {
    std::cout << "peak RSS " << r.proc.max_rss_kib << " KiB (baseline " << baseline << " KiB)\n";
    EXPECT_GT(r.proc.max_rss_kib, 0);
    EXPECT_LT(r.proc.max_rss_kib, baseline + kRssMarginKib)
        << "peak RSS " << r.proc.max_rss_kib << " KiB, baseline " << baseline << " KiB";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Loopback, Hostile,
    testing::Values(
        // 1 GiB advertised: refused from the Content-Length, before any of it is read.
        Attack{"gib_with_content_length", R"(request = { url = "{URL}/big?bytes=1073741824" }
max_body_bytes = 1048576)",
               "body_too_large", "max_body_bytes (1048576)", true},
        // 1 GiB chunked, no length announced: counted as it streams, cut at the cap.
        Attack{"gib_chunked", R"(request = { url = "{URL}/big?bytes=1073741824&chunked=1" }
max_body_bytes = 1048576)",
               "body_too_large", "max_body_bytes (1048576)", true},
        // An endless chunked stream at full speed: the cap holds.
        Attack{"endless_chunked", R"(request = { url = "{URL}/endless" }
max_body_bytes = 1048576)",
               "body_too_large", "max_body_bytes (1048576)", true},
        // An endless stream that trickles under the cap: the step timeout holds.
        Attack{"endless_trickle", R"(request = { url = "{URL}/drip?ms=20" }
timeout = "700ms"
max_body_bytes = 1048576)",
               "timeout", "no complete answer within 700ms", true},
        // Header lines forever: curl's header limit ends it, the prober does not grow.
        Attack{"header_flood", R"(request = { url = "{URL}/header-flood" }
timeout = "5s")",
               "recv", "Too large response headers", true},
        // Headers that never finish, one byte every 500 ms.
        Attack{"slowloris", R"(request = { url = "{URL}/slowloris" }
timeout = "700ms")",
               "timeout", "no complete answer within 700ms", false},
        // A gzip bomb: 4 GiB of zeros inflated from a few MiB; the decoded size is capped.
        Attack{"gzip_bomb_gib", R"(request = { url = "{URL}/gzip-stream?mib=4096" }
max_body_bytes = 1048576)",
               "body_too_large", "max_body_bytes (1048576)", true},
        // The same with a Content-Length: 100 KiB on the wire, 100 MiB decoded.
        Attack{"gzip_bomb_with_length", R"(request = { url = "{URL}/gzip-bomb" }
max_body_bytes = 1048576)",
               "body_too_large", "max_body_bytes (1048576)", true},
        // A small gzip body within the cap is decoded whole (1 MiB from about 1 KiB).
        Attack{"gzip_within_cap", R"(request = { url = "{URL}/gzip-stream?mib=1" }
max_body_bytes = 2097152
expect = { status = 200, body_size = { min = 1048576, max = 1048576 } })",
               "", "", false},
        // Redirects to other schemes are refused, never followed, and name where they pointed.
        Attack{"redirect_to_ftp",
               R"(request = { url = "{URL}/redirect-to?url=ftp%3A%2F%2F127.0.0.1%3A1%2Fx" }
follow_redirects = 5)",
               "redirect", "redirect to ftp://127.0.0.1:1/x refused", false},
        Attack{"redirect_to_file",
               R"(request = { url = "{URL}/redirect-to?url=file%3A%2F%2F%2Fetc%2Fpasswd" }
follow_redirects = 5
expect = { body_not_contains = "root:" })",
               "redirect", "redirect to file:///etc/passwd refused", false},
        // Raw bytes that are not UTF-8 in a redirect's target: refused, or followed, and
        // either way the URL lands in valid outputs.
        Attack{"redirect_to_ftp_invalid_utf8",
               R"(request = { url = "{URL}/redirect-to?url=ftp%3A%2F%2F127.0.0.1%3A1%2F%FF%FE" }
follow_redirects = 5)",
               "redirect", "refused: only http and https are followed", false},
        Attack{"redirect_invalid_utf8_followed",
               R"(request = { url = "{URL}/redirect-to?url=%2Fok%3Fx%3D%FF%C3%28" }
follow_redirects = 5
expect = { status = 200 })",
               "", "", false},
        // Not following: the 302 itself is the answer.
        Attack{"redirect_to_file_not_followed",
               R"(request = { url = "{URL}/redirect-to?url=file%3A%2F%2F%2Fetc%2Fpasswd" }
expect = { status = 200 })",
               "status", "got 302", false},
        // Invalid UTF-8 in a JSON body: the JSON check cannot evaluate it, and says so.
        Attack{"invalid_utf8_json_body", R"(request = { url = "{URL}/invalid-utf8" }
expect = { json = [ { path = "$.name", equals = "café" } ] })",
               "json", "could not evaluate", false},
        // Invalid UTF-8 (and a control byte) in a header the check reads: a plain header
        // failure whose message, with those bytes in it, still makes valid JSON and JUnit.
        Attack{"invalid_utf8_header",
               R"(request = { url = "{URL}/headers?X-Name=caf%C3%28%FF%FE%01" }
expect = { headers = { X-Name = "café" } })",
               "header", R"(header X-Name: expected "café", got "caf\xc3(\xff\xfe\x01")", false},
        // ... and captured: the run goes on.
        Attack{"invalid_utf8_header_captured",
               R"(request = { url = "{URL}/headers?X-Name=caf%C3%28%FF%FE" }
capture = { name = { header = "X-Name" } }
expect = { json = [ { path = "$.ok", equals = true } ] })",
               "", "", false}),
    [](const testing::TestParamInfo<Attack>& info) { return std::string(info.param.name); });

// A redirect to another host (here another server on another port) is followed within the
// bound, and a loop there is cut at the bound with the URL where it stopped.
TEST(HostileRedirect, ToAnotherHostIsBoundedAndReported) {
  Server a({badserver(), "--port", "0"});
  Server b({badserver(), "--port", "0"});
  TempDir tmp;
  auto encoded = [](std::string url) {
    replace_all(url, ":", "%3A");
    replace_all(url, "/", "%2F");
    return url;
  };
  std::string toml = R"(name = "hostile"
[[steps]]
name = "elsewhere"
request = { url = "{A}/redirect-to?url={B_OK}" }
follow_redirects = 3
expect = { status = 200, json = [ { path = "$.ok", equals = true } ] }
[[steps]]
name = "elsewhere_loop"
request = { url = "{A}/redirect-to?url={B_LOOP}" }
follow_redirects = 3
)";
  replace_all(toml, "{A}", a.url());
  replace_all(toml, "{B_OK}", encoded(b.url() + "/ok"));
  replace_all(toml, "{B_LOOP}", encoded(b.url() + "/redirect-loop"));
  JourneyRun r = run_journey(tmp, toml);
  const json& elsewhere = r.step("elsewhere");
  EXPECT_EQ(elsewhere["result"], "good") << elsewhere.dump(2);
  EXPECT_EQ(elsewhere["url"], a.url() + "/redirect-to?url=" + encoded(b.url() + "/ok"));
  EXPECT_EQ(elsewhere["final_url"], b.url() + "/ok") << elsewhere.dump(2);
  const json& loop = r.step("elsewhere_loop");
  EXPECT_EQ(loop["result"], "bad");
  EXPECT_EQ(loop["reason"], "redirect");
  EXPECT_THAT(loop["message"].get<std::string>(), HasSubstr("Maximum (3) redirects followed"));
  EXPECT_THAT(loop["message"].get<std::string>(),
              HasSubstr("stopped at " + b.url() + "/redirect-loop"));
  EXPECT_EQ(loop["final_url"], b.url() + "/redirect-loop");
  EXPECT_EQ(r.proc.exit_code, 1);
}

// ---------------------------------------------------------------------------------------------
// TLS: each kind of bad certificate is its own reason.

class Certs {
 public:
  // Makes the CA and the leaves with the openssl CLI; throws with openssl's words on failure.
  explicit Certs(const std::string& openssl) : openssl_(openssl) {
    const std::string d = dir_.path() + "/";
    dir_.write("ip.ext", "subjectAltName=IP:127.0.0.1\n");
    dir_.write("wrong.ext", "subjectAltName=DNS:wrong.example\n");
    const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt",
                                         "ec_paramgen_curve:prime256v1", "-nodes"};
    auto req = [&](std::vector<std::string> args) {
      std::vector<std::string> argv = {openssl_, "req"};
      argv.insert(argv.end(), ec.begin(), ec.end());
      argv.insert(argv.end(), args.begin(), args.end());
      ssl(argv);
    };
    req({"-x509", "-days", "2", "-subj", "/CN=prober test CA", "-keyout", d + "ca.key", "-out",
         d + "ca.pem"});
    req({"-x509", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", d + "self.key", "-out", d + "self.pem"});
    // A leaf signed by the CA: `days` of validity from now (-1: expired yesterday).
    auto leaf = [&](const std::string& name, const std::string& cn, const std::string& ext,
                    const std::string& days) {
      req({"-subj", "/CN=" + cn, "-keyout", d + name + ".key", "-out", d + name + ".csr"});
      ssl({openssl_, "x509", "-req", "-in", d + name + ".csr", "-CA", d + "ca.pem", "-CAkey",
           d + "ca.key", "-CAcreateserial", "-days", days, "-extfile", d + ext, "-out",
           d + name + ".pem"});
    };
    leaf("good", "127.0.0.1", "ip.ext", "2");
    leaf("expired", "127.0.0.1", "ip.ext", "-1");
    leaf("wrong", "wrong.example", "wrong.ext", "2");
  }

  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  const std::string& openssl() const { return openssl_; }

 private:
  void ssl(const std::vector<std::string>& argv) {
    Output o = testing_support::run(argv);
    if (o.exit_code != 0)
      throw std::runtime_error("openssl failed (" + std::to_string(o.exit_code) + "): " + o.err);
  }
  std::string openssl_;
  TempDir dir_;
};

// `openssl s_server -www` on a free loopback port with one certificate: answers GET / with
// 200 and a status page. Killed on destruction.
class TlsServer {
 public:
  TlsServer(const Certs& certs, const std::string& name)
      : child_({certs.openssl(), "s_server", "-accept", "127.0.0.1:0", "-cert",
                certs.path(name + ".pem"), "-key", certs.path(name + ".key"), "-www"},
               /*capture_stderr=*/true) {
    // "ACCEPT 127.0.0.1:PORT" once listening; bounded by count and by time.
    for (int i = 0; i < 20 && port_ == 0; ++i) {
      std::optional<std::string> line = child_.read_line(10s);
      if (!line) break;
      if (line->starts_with("ACCEPT "))
        port_ = std::atoi(line->substr(line->rfind(':') + 1).c_str());
    }
    if (port_ == 0) throw std::runtime_error("openssl s_server did not start");
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  support::Child child_;
  int port_ = 0;
};

struct TlsCase {
  const char* name;
  const char* cert;    // the server's certificate
  bool trust_ca;       // ca_file = the test CA
  bool verify;         // tls_verify
  const char* reason;  // "" for good
  const char* message_part;
};

class HostileTls : public testing::TestWithParam<TlsCase> {
 protected:
  static void SetUpTestSuite() {
    const std::string openssl = find_on_path("openssl");
    if (openssl.empty()) return;
    certs_ = std::make_unique<Certs>(openssl);
  }
  static void TearDownTestSuite() { certs_.reset(); }
  static std::unique_ptr<Certs> certs_;
};
std::unique_ptr<Certs> HostileTls::certs_;

TEST_P(HostileTls, EachBadCertificateHasItsOwnReason) {
  if (!certs_)
    GTEST_SKIP() << "NOT TESTED: the openssl command is not installed (Debian package "
                    "`openssl`, in ./dev PACKAGES)";
  const TlsCase& c = GetParam();
  TlsServer server(*certs_, c.cert);
  TempDir tmp;
  std::string toml = "name = \"hostile\"\n[[steps]]\nname = \"s\"\nrequest = { url = \"" +
                     server.url() + "\" }\nexpect = { status = 200 }\n";
  if (c.trust_ca) toml += "ca_file = \"" + certs_->path("ca.pem") + "\"\n";
  if (!c.verify) toml += "tls_verify = false\n";
  JourneyRun r = run_journey(tmp, toml);
  const json& s = r.step("s");
  const bool good = std::string(c.reason).empty();
  EXPECT_EQ(s["result"], good ? "good" : "bad") << s.dump(2);
  EXPECT_EQ(s["reason"], c.reason) << s.dump(2);
  EXPECT_THAT(s["message"].get<std::string>(), HasSubstr(c.message_part)) << s.dump(2);
  EXPECT_EQ(r.proc.exit_code, good ? 0 : 1) << r.proc.err;
  // Relaxing verification is never silent: the loader's warning names the line.
  const bool warned = r.proc.err.find("warning: step 's': tls_verify = false") != std::string::npos;
  EXPECT_EQ(warned, !c.verify) << r.proc.err;
}

INSTANTIATE_TEST_SUITE_P(
    Certificates, HostileTls,
    testing::Values(
        // The control: a leaf of the trusted CA, for 127.0.0.1, valid now.
        TlsCase{"trusted", "good", true, true, "", ""},
        TlsCase{"self_signed", "self", false, true, "tls_untrusted", "self-signed"},
        TlsCase{"self_signed_not_by_the_ca", "self", true, true, "tls_untrusted", "self-signed"},
        // Signed by a CA the prober does not know (the system's CAs only).
        TlsCase{"unknown_ca", "good", false, true, "tls_untrusted", "local issuer"},
        TlsCase{"expired", "expired", true, true, "tls_expired", "expired"},
        TlsCase{"wrong_host", "wrong", true, true, "tls_hostname", "127.0.0.1"},
        // Relaxed for this step only: the self-signed certificate is accepted, with a warning.
        TlsCase{"self_signed_unverified", "self", false, false, "", ""}),
    [](const testing::TestParamInfo<TlsCase>& info) { return std::string(info.param.name); });

}  // namespace
