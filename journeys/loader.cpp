// The TOML loader: turns a journey file into the model, reporting every problem at once.
//
// The walk is one pass over the document in file order (toml++ keeps table keys sorted, so
// file order is recovered from the keys' source positions). Every step is validated even
// after an error, so `prober check` lists all mistakes of a file in one go; a value that
// failed is simply left at its default, and names that failed to compile still count as
// defined so one typo does not cascade into a dozen "unknown variable" errors.

#include "journeys/loader.hpp"

#include "journeys/toml_read.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include <toml++/toml.h>

namespace journeys {
namespace {

namespace fs = std::filesystem;
using std::string_view_literals::operator""sv;

// ---------------------------------------------------------------------------------------------
// Keys and names

const std::vector<std::string_view> kJourneyKeys = {
    "name",      "description",       "cuj",  "interval", "timeout", "tags",
    "locations", "reuse_connections", "vars", "defaults", "steps",   "slo"};
const std::vector<std::string_view> kDefaultsKeys = {"headers",        "timeout",
                                                     "follow_redirects", "max_body_bytes",
                                                     "tls_verify",     "ca_file"};
const std::vector<std::string_view> kStepKeys = {
    "name",           "request",    "timeout", "follow_redirects",
    "max_body_bytes", "tls_verify", "expect",  "capture", "retries", "ca_file"};
const std::vector<std::string_view> kRequestKeys = {"method", "url",  "headers", "query",
                                                    "body",   "json", "form"};
const std::vector<std::string_view> kBodyKeys = {"body", "json", "form"};
const std::vector<std::string_view> kVarKeys = {"value", "secret"};
const std::vector<std::string_view> kSloKeys = {"availability", "window", "latency"};
const std::vector<std::string_view> kLatencySloKeys = {"step", "threshold_ms", "target"};
const std::vector<std::string_view> kMethods = {"GET",   "HEAD",   "POST",   "PUT",
                                                "PATCH", "DELETE", "OPTIONS"};

// Set by the runner for every run: always defined, never declared.
const std::vector<std::string_view> kRunBuiltins = {"location", "run_id", "journey"};
// Names a var or capture may not take: the run built-ins, and names the template language
// itself owns ({{uuid}} would never reach a var called "uuid").
const std::vector<std::string_view> kReservedNames = {
    "location", "run_id", "journey", "uuid", "unix", "unix_ms", "timestamp", "random_int", "env"};

// A var or capture name as a template can reference it: a letter, then letters, digits, '_'
// or '-' (templates also read '.', but "env." is theirs).
bool is_identifier(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alpha(c) || is_digit(c) || c == '_' || c == '-'; });
}

// Journey names end up in metric labels and file names.
bool is_journey_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.';
  });
}

// RFC 9110 token: what a header field name may contain.

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}


// ---------------------------------------------------------------------------------------------
// Typed reads. Each reports a wrong type at the value and returns nullopt.


// A scalar as TOML writes it: 2, 1.5, true, 1979-05-27T07:32:00Z.



// A table's entries in the order they appear in the file. Order matters for vars (evaluated
// in order), checks and captures (reported in order) and headers (sent in order).


void missing_key(Diagnostics& d, const toml::node& table, std::string_view key) {
  d.error(table, "missing required key " + in_quotes(key));
}

std::optional<bool> bool_at(Diagnostics& d, const toml::node& n, std::string_view key) {
  if (const auto* b = n.as_boolean()) return b->get();
  type_error(d, n, key, "a boolean");
  return std::nullopt;
}

std::optional<double> number_of(const toml::node& n) {
  if (const auto* i = n.as_integer()) return static_cast<double>(i->get());
  if (const auto* f = n.as_floating_point()) return f->get();
  return std::nullopt;
}

std::optional<double> number_at(Diagnostics& d, const toml::node& n, std::string_view key,
                                std::string_view expected) {
  if (auto v = number_of(n)) return v;
  type_error(d, n, key, expected);
  return std::nullopt;
}

// A duration written as a string ("30s"); must be positive.
std::optional<Duration> duration_at(Diagnostics& d, const toml::node& n, std::string_view key) {
  const auto* s = n.as_string();
  if (!s) {
    type_error(d, n, key, "a string (a duration like \"30s\")");
    return std::nullopt;
  }
  std::string err;
  std::optional<Duration> v = parse_duration(s->get(), &err);
  if (!v) {
    d.error(n, in_quotes(key) + ": " + err);
    return std::nullopt;
  }
  if (v->count() <= 0) {
    d.error(n, in_quotes(key) + " must be greater than 0");
    return std::nullopt;
  }
  return v;
}

// A percentage strictly between 0 and 100 (an SLO of 100 % leaves no error budget).
std::optional<double> percent_at(Diagnostics& d, const toml::node& n, std::string_view key) {
  std::optional<double> v = number_at(d, n, key, "a number (a percentage)");
  if (!v) return std::nullopt;
  if (!(*v > 0 && *v < 100)) {
    std::ostringstream shown;
    shown << *v;
    d.error(n, in_quotes(key) + " must be between 0 and 100 (exclusive), not " + shown.str());
    return std::nullopt;
  }
  return v;
}

// `follow_redirects`: true (kDefaultMaxRedirects), false (0), or a bound.
std::optional<int> redirects_at(Diagnostics& d, const toml::node& n) {
  if (const auto* b = n.as_boolean()) return b->get() ? kDefaultMaxRedirects : 0;
  const auto* i = n.as_integer();
  if (!i) {
    type_error(d, n, "follow_redirects", "true, false or a number of redirects");
    return std::nullopt;
  }
  if (i->get() < 0) {
    d.error(n, "'follow_redirects' must be 0 or more, not " + std::to_string(i->get()));
    return std::nullopt;
  }
  return static_cast<int>(std::min<std::int64_t>(i->get(), std::numeric_limits<int>::max()));
}

std::optional<std::size_t> body_bytes_at(Diagnostics& d, const toml::node& n) {
  const auto* i = n.as_integer();
  if (!i) {
    type_error(d, n, "max_body_bytes", "an integer (bytes)");
    return std::nullopt;
  }
  if (i->get() < 1) {
    d.error(n, "'max_body_bytes' must be at least 1, not " + std::to_string(i->get()));
    return std::nullopt;
  }
  return static_cast<std::size_t>(i->get());
}

void warn_tls_verify_off(Diagnostics& d, const toml::node& n) {
  d.warning(n, "tls_verify = false: the server certificate is not verified");
}

// `ca_file`: a PEM bundle of the CAs to trust instead of the system's, relative to the journey
// file's folder. Checked now, so a typo is a located load error rather than every run failing
// its handshake. Returns the absolute path.
std::optional<std::string> ca_file_at(Diagnostics& d, const toml::node& n) {
  const auto* s = n.as_string();
  if (!s) {
    type_error(d, n, "ca_file", "a string (a path to a PEM file)");
    return std::nullopt;
  }
  if (s->get().empty()) {
    d.error(n, "'ca_file' must not be empty");
    return std::nullopt;
  }
  fs::path path(s->get());
  if (path.is_relative()) path = fs::path(d.file()).parent_path() / path;
  std::error_code ec;
  path = fs::absolute(path, ec).lexically_normal();
  if (ec || !fs::is_regular_file(path, ec)) {
    d.error(n, "'ca_file' " + in_quotes(path.string()) + ": no such file");
    return std::nullopt;
  }
  return path.string();
}

// ---------------------------------------------------------------------------------------------
// URL validation (of the parts known at load time)

// Why a URL cannot be requested, or "" when it looks fine. Only the shape is checked; the
// transport reports what curl thinks of it.
std::string url_problem(std::string_view url) {
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return "missing scheme (http:// or https://)";
  std::string scheme = upper(url.substr(0, sep));
  if (scheme != "HTTP" && scheme != "HTTPS") return "scheme must be http or https";
  if (url.find_first_of(" \t\r\n") != std::string_view::npos) return "contains whitespace";
  std::string_view rest = url.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (std::size_t at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {  // [::1]:8080
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 address";
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return "unexpected text after IPv6 address";
    if (!after.empty()) port = after.substr(1);
  } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return "missing host";
  if (!port.empty() && !std::all_of(port.begin(), port.end(), is_digit))
    return "invalid port '" + std::string(port) + "'";
  return {};
}

// ---------------------------------------------------------------------------------------------
// Which names a template may reference at a given point of the file.

class Names {
 public:
  // Pre-pass: every var and every capture of the file, so a reference can be told "defined
  // later" rather than "unknown".
  void declare(const toml::table& root);

  void start_var(std::string name) { current_var_ = std::move(name); }
  void start_step(std::size_t index, std::string label) {
    current_step_ = index;
    current_step_label_ = std::move(label);
  }
  // The name is usable from now on (a var after its definition, a capture after its step).
  void define(const std::string& name) {
    defined_.insert(name);
    current_var_.clear();
  }

  // Why `name` cannot be referenced here, or "" when it can.
  std::string problem(const std::string& name) const;

 private:
  struct Capturer {
    std::size_t step;
    std::string label;  // "'add_to_cart'" or "#3"
  };
  std::set<std::string, std::less<>> defined_;
  std::vector<std::string> all_vars_;
  std::multimap<std::string, Capturer, std::less<>> captures_;
  std::string current_var_;
  std::size_t current_step_ = 0;  // 1-based; 0 while in [vars]
  std::string current_step_label_;
};

std::string step_label(const toml::table& step, std::size_t index) {
  const auto* n = step.get_as<std::string>("name");
  if (n && !n->get().empty()) return in_quotes(n->get());
  return "#" + std::to_string(index);
}

void Names::declare(const toml::table& root) {
  if (const auto* vars = root.get_as<toml::table>("vars"))
    for (const Entry& e : in_file_order(*vars))
      all_vars_.emplace_back(e.key);
  const auto* steps = root.get_as<toml::array>("steps");
  if (!steps) return;
  for (std::size_t i = 0; i < steps->size(); ++i) {
    const toml::table* step = steps->get_as<toml::table>(i);
    const toml::table* cap = step ? step->get_as<toml::table>("capture") : nullptr;
    if (!cap) continue;
    for (auto&& [k, v] : *cap)
      captures_.insert({std::string(k.str()), Capturer{i + 1, step_label(*step, i + 1)}});
  }
}

std::string Names::problem(const std::string& name) const {
  if (contains(kRunBuiltins, name) || defined_.count(name)) return {};
  std::string ref = "'{{" + name + "}}'";
  if (name == current_var_) return ref + " is used in its own definition";
  if (std::find(all_vars_.begin(), all_vars_.end(), name) != all_vars_.end())
    return ref + " is defined only later in [vars]";
  auto [first, last] = captures_.equal_range(name);
  for (auto it = first; it != last; ++it)
    if (it->second.step == current_step_)
      return ref + " is captured by step " + current_step_label_ +
             " itself, after its request and checks";
  if (first != last) return ref + " is captured only by a later step " + first->second.label;

  std::vector<std::string_view> candidates(kRunBuiltins.begin(), kRunBuiltins.end());
  for (const auto& v : all_vars_)
    candidates.push_back(v);
  for (const auto& [c, _] : captures_)
    candidates.push_back(c);
  return with_hint("unknown variable " + in_quotes(name), name, candidates);
}

// ---------------------------------------------------------------------------------------------
// The loader of one document

struct Defaults {
  std::vector<NamedTemplate> headers;
  std::optional<Duration> timeout;
  std::optional<int> max_redirects;
  std::optional<std::size_t> max_body_bytes;
  std::optional<bool> tls_verify;
  std::optional<std::string> ca_file;
};

class Loader;

// What check kinds see of the loader: its diagnostics and its template compiler.
class Builder final : public CheckBuilder {
 public:
  explicit Builder(Loader& loader) : loader_(loader) {}
  Diagnostics& diag() override;
  std::optional<Template> compile_template(const toml::node& node) override;

 private:
  Loader& loader_;
};

class Loader {
 public:
  Loader(Diagnostics& diag, const LoadOptions& options) : d_(diag), options_(options) {}

  Journey load(const toml::table& root);

  Diagnostics& diag() { return d_; }
  // Compiles a string node as a template, reports errors at it and checks its references.
  std::optional<Template> compile(const toml::node& node);

 private:
  void load_header(const toml::table& root, Journey& j);
  void load_vars(const toml::node& node, Journey& j);
  std::optional<Var> load_var(std::string_view name, const toml::node& node);
  void load_defaults(const toml::node& node);
  void load_steps(const toml::table& root, Journey& j);
  void load_step(const toml::table& t, std::size_t index, Journey& j,
                 std::map<std::string, int>& first_line);
  void load_step_options(const toml::table& t, Step& step, const Journey& j);
  void load_request(const toml::node& node, Step& step);
  void load_body(const toml::table& t, Request& r);
  void load_json(const toml::node& node, nlohmann::json& out,
                 const nlohmann::json::json_pointer& where, JsonBody& body);
  void check_url(const toml::node& node, const Template& url);
  std::vector<NamedTemplate> load_pairs(const toml::node& node, std::string_view key,
                                        bool header_names);
  void load_expect(const toml::node& node, Step& step);
  void load_captures(const toml::node& node, Step& step);
  void load_slo(const toml::node& node, Journey& j);
  void load_latency_slo(const toml::node& node, const Journey& j, Slo& slo);
  bool check_name(const toml::node& at, std::string_view name, std::string_view what);

  Diagnostics& d_;
  const LoadOptions& options_;
  Names names_;
  Defaults defaults_;
  // Vars whose value is known at load time (no captures, no run built-ins): enough to check
  // most URLs ("{{base}}/api") before the first run.
  Scope static_scope_;
};

Diagnostics& Builder::diag() {
  return loader_.diag();
}

std::optional<Template> Builder::compile_template(const toml::node& node) {
  if (!node.is_string()) {
    loader_.diag().error(node, "expected a string, not " + std::string(type_name(node)));
    return std::nullopt;
  }
  return loader_.compile(node);
}

std::optional<Template> Loader::compile(const toml::node& node) {
  assert(node.is_string());
  std::string err;
  std::optional<Template> t = Template::compile(node.as_string()->get(), options_.env, &err);
  if (!t) {
    d_.error(node, err);
    return std::nullopt;
  }
  for (const std::string& ref : t->references())
    if (std::string problem = names_.problem(ref); !problem.empty()) d_.error(node, problem);
  return t;
}

bool Loader::check_name(const toml::node& at, std::string_view name, std::string_view what) {
  if (contains(kReservedNames, name)) {
    d_.error(at, in_quotes(name) + " is a reserved name");
    return false;
  }
  if (!is_identifier(name)) {
    d_.error(at, "invalid " + std::string(what) + " name " + in_quotes(name) +
                     ": use a letter, then letters, digits, '_' or '-'");
    return false;
  }
  return true;
}

Journey Loader::load(const toml::table& root) {
  Journey j;
  j.file = d_.file();
  j.pos = d_.pos(root);
  check_keys(d_, root, kJourneyKeys);
  load_header(root, j);
  names_.declare(root);
  if (const toml::node* vars = root.get("vars")) load_vars(*vars, j);
  if (const toml::node* defaults = root.get("defaults")) load_defaults(*defaults);
  load_steps(root, j);
  if (const toml::node* slo = root.get("slo")) load_slo(*slo, j);
  return j;
}

// The top-level scalars: name, description, cuj, interval, timeout, tags, locations...
void Loader::load_header(const toml::table& root, Journey& j) {
  if (const toml::node* n = root.get("name")) {
    j.pos = d_.pos(*n);
    if (auto name = string_at(d_, *n, "name")) {
      if (is_journey_name(*name))
        j.name = *name;
      else
        d_.error(*n, "invalid journey name " + in_quotes(*name) +
                         ": use letters, digits, '_', '-' and '.'");
    }
  } else {
    missing_key(d_, root, "name");
  }
  if (const toml::node* n = root.get("description"))
    j.description = string_at(d_, *n, "description").value_or("");
  if (const toml::node* n = root.get("cuj")) j.cuj = string_at(d_, *n, "cuj").value_or("");
  if (const toml::node* n = root.get("interval")) {
    if (auto v = duration_at(d_, *n, "interval")) {
      if (*v < std::chrono::milliseconds(1))
        d_.error(*n, "'interval' must be at least 1ms, not " + format_duration(*v));
      else
        j.interval = *v;
      if (*v >= std::chrono::milliseconds(1) && *v < std::chrono::seconds(1))
        d_.warning(*n, "interval " + format_duration(*v) + " is below 1s");
    }
  }
  if (const toml::node* n = root.get("timeout"))
    j.timeout = duration_at(d_, *n, "timeout").value_or(j.timeout);
  if (const toml::node* n = root.get("tags")) j.tags = strings_at(d_, *n, "tags").value_or(j.tags);
  if (const toml::node* n = root.get("locations"))
    j.locations = strings_at(d_, *n, "locations").value_or(j.locations);
  if (const toml::node* n = root.get("reuse_connections"))
    j.reuse_connections = bool_at(d_, *n, "reuse_connections").value_or(true);
}

// [vars]: name = "template" or name = { value = "template", secret = bool }, in file order.
void Loader::load_vars(const toml::node& node, Journey& j) {
  ContextScope ctx(d_, "vars");
  const toml::table* t = table_at(d_, node, "vars");
  if (!t) return;
  for (const Entry& e : in_file_order(*t)) {
    std::string name(e.key);
    names_.start_var(name);
    if (check_name(*e.node, name, "variable")) {
      if (std::optional<Var> v = load_var(name, *e.node)) {
        Rendered r;
        std::string ignored;
        if (v->value.render(static_scope_, r, &ignored))
          static_scope_.set(name, r.value, r.secret || v->secret);
        j.vars.push_back(std::move(*v));
      }
    }
    names_.define(name);  // even when broken: one mistake, one error
  }
}

std::optional<Var> Loader::load_var(std::string_view name, const toml::node& node) {
  const toml::node* value = &node;
  std::optional<bool> secret;
  if (const toml::table* t = node.as_table()) {
    check_keys(d_, *t, kVarKeys);
    value = t->get("value");
    if (!value) {
      missing_key(d_, node, "value");
      return std::nullopt;
    }
    if (const toml::node* s = t->get("secret")) {
      secret = bool_at(d_, *s, "secret");
      if (!secret) return std::nullopt;
    }
  }
  if (!value->is_string()) {
    type_error(d_, *value, name,
               value == &node ? "a string or a table { value, secret }" : "a string");
    return std::nullopt;
  }
  std::optional<Template> tmpl = compile(*value);
  if (!tmpl) return std::nullopt;
  // Env values are secret by default; `secret = false` opts out for a harmless value.
  if (secret == false) tmpl->make_public();
  bool is_secret = secret.value_or(tmpl->has_secret());
  return Var{std::string(name), std::move(*tmpl), is_secret, d_.pos(node)};
}

void Loader::load_defaults(const toml::node& node) {
  ContextScope ctx(d_, "defaults");
  const toml::table* t = table_at(d_, node, "defaults");
  if (!t) return;
  check_keys(d_, *t, kDefaultsKeys);
  if (const toml::node* n = t->get("headers")) defaults_.headers = load_pairs(*n, "headers", true);
  if (const toml::node* n = t->get("timeout")) defaults_.timeout = duration_at(d_, *n, "timeout");
  if (const toml::node* n = t->get("follow_redirects"))
    defaults_.max_redirects = redirects_at(d_, *n);
  if (const toml::node* n = t->get("max_body_bytes"))
    defaults_.max_body_bytes = body_bytes_at(d_, *n);
  if (const toml::node* n = t->get("tls_verify")) {
    defaults_.tls_verify = bool_at(d_, *n, "tls_verify");
    if (defaults_.tls_verify == false) warn_tls_verify_off(d_, *n);
  }
  if (const toml::node* n = t->get("ca_file")) defaults_.ca_file = ca_file_at(d_, *n);
}

void Loader::load_steps(const toml::table& root, Journey& j) {
  const toml::node* node = root.get("steps");
  const toml::array* steps = node ? node->as_array() : nullptr;
  if (node && !steps) {
    type_error(d_, *node, "steps", "an array of tables ([[steps]])");
    return;
  }
  if (!steps || steps->empty()) {
    d_.error(node ? *node : static_cast<const toml::node&>(root),
             "a journey needs at least one step ([[steps]])");
    return;
  }
  std::map<std::string, int> first_line;  // step name -> line of its first definition
  for (std::size_t i = 0; i < steps->size(); ++i) {
    const toml::node& s = *steps->get(i);
    if (const toml::table* t = s.as_table())
      load_step(*t, i + 1, j, first_line);
    else
      d_.error(s, "each step must be a table, not " + std::string(type_name(s)));
  }
}

void Loader::load_step(const toml::table& t, std::size_t index, Journey& j,
                       std::map<std::string, int>& first_line) {
  std::string label = step_label(t, index);
  ContextScope ctx(d_, "step " + label);
  names_.start_step(index, label);
  Step step;
  step.pos = d_.pos(t);
  check_keys(d_, t, kStepKeys);
  if (const toml::node* n = t.get("name")) {
    if (auto name = string_at(d_, *n, "name")) {
      step.name = *name;
      int line = d_.pos(*n).line;
      if (name->empty())
        d_.error(*n, "'name' must not be empty");
      else if (auto [it, fresh] = first_line.emplace(*name, line); !fresh)
        d_.error(*n, "duplicate step name " + in_quotes(*name) + " (first at line " +
                         std::to_string(it->second) + ")");
    }
  } else {
    missing_key(d_, t, "name");
  }
  load_step_options(t, step, j);
  if (const toml::node* n = t.get("request"))
    load_request(*n, step);
  else
    missing_key(d_, t, "request");
  if (const toml::node* n = t.get("expect")) load_expect(*n, step);
  if (const toml::node* n = t.get("capture")) load_captures(*n, step);
  j.steps.push_back(std::move(step));
}

// timeout, follow_redirects, max_body_bytes, tls_verify, ca_file: the step's, else
// [defaults], else the built-in default.
void Loader::load_step_options(const toml::table& t, Step& step, const Journey& j) {
  std::optional<Duration> timeout;
  if (const toml::node* n = t.get("timeout")) timeout = duration_at(d_, *n, "timeout");
  step.timeout = timeout.value_or(defaults_.timeout.value_or(j.timeout));

  std::optional<int> redirects;
  if (const toml::node* n = t.get("follow_redirects")) redirects = redirects_at(d_, *n);
  step.max_redirects = redirects.value_or(defaults_.max_redirects.value_or(0));

  std::optional<std::size_t> bytes;
  if (const toml::node* n = t.get("max_body_bytes")) bytes = body_bytes_at(d_, *n);
  step.max_body_bytes = bytes.value_or(defaults_.max_body_bytes.value_or(kDefaultMaxBodyBytes));

  std::optional<bool> verify;
  if (const toml::node* n = t.get("tls_verify")) {
    verify = bool_at(d_, *n, "tls_verify");
    if (verify == false) warn_tls_verify_off(d_, *n);
  }
  step.tls_verify = verify.value_or(defaults_.tls_verify.value_or(true));

  std::optional<std::string> ca_file;
  if (const toml::node* n = t.get("ca_file")) ca_file = ca_file_at(d_, *n);
  step.ca_file = ca_file.value_or(defaults_.ca_file.value_or(""));

  if (const toml::node* n = t.get("retries")) {
    const auto* i = n->as_integer();
    if (!i) {
      type_error(d_, *n, "retries", "an integer");
    } else if (i->get() < 0 || i->get() > 10) {
      d_.error(*n, "'retries' must be 0 to 10, not " + std::to_string(i->get()));
    } else {
      step.retries = static_cast<int>(i->get());
    }
  }
}

void Loader::load_request(const toml::node& node, Step& step) {
  const toml::table* t = table_at(d_, node, "request");
  if (!t) return;
  Request& r = step.request;
  check_keys(d_, *t, kRequestKeys);
  if (const toml::node* n = t->get("method")) {
    if (auto m = string_at(d_, *n, "method")) {
      if (contains(kMethods, upper(*m)))
        r.method = upper(*m);
      else
        d_.error(*n, with_hint("unknown method " + in_quotes(*m), *m, kMethods));
    }
  }
  if (const toml::node* n = t->get("url")) {
    r.url_pos = d_.pos(*n);
    if (string_at(d_, *n, "url")) {
      if (std::optional<Template> url = compile(*n)) {
        check_url(*n, *url);
        r.url = std::move(*url);
      }
    }
  } else {
    missing_key(d_, node, "url");
  }
  // Step headers override defaults of the same name, case-insensitively.
  std::vector<NamedTemplate> own;
  if (const toml::node* n = t->get("headers")) own = load_pairs(*n, "headers", true);
  for (const NamedTemplate& h : defaults_.headers) {
    bool overridden = std::any_of(own.begin(), own.end(),
                                  [&](const NamedTemplate& o) { return iequals(o.name, h.name); });
    if (!overridden) r.headers.push_back(h);
  }
  for (NamedTemplate& h : own)
    r.headers.push_back(std::move(h));
  if (const toml::node* n = t->get("query")) r.query = load_pairs(*n, "query", false);
  load_body(*t, r);
}

// At most one of body / json / form.
void Loader::load_body(const toml::table& t, Request& r) {
  std::vector<Entry> bodies;
  for (const Entry& e : in_file_order(t))
    if (contains(kBodyKeys, e.key)) bodies.push_back(e);
  for (std::size_t i = 1; i < bodies.size(); ++i)
    d_.error(*bodies[i].node, "a request has at most one body, but it has both " +
                                  in_quotes(bodies[0].key) + " and " + in_quotes(bodies[i].key));
  if (bodies.empty()) return;
  const Entry& b = bodies[0];
  if (b.key == "body") {
    if (!b.node->is_string()) return type_error(d_, *b.node, "body", "a string");
    if (auto tmpl = compile(*b.node)) {
      r.body_kind = Request::BodyKind::raw;
      r.body = std::move(*tmpl);
    }
  } else if (b.key == "json") {
    if (!b.node->is_table() && !b.node->is_array())
      return type_error(d_, *b.node, "json", "a table or an array");
    r.body_kind = Request::BodyKind::json;
    load_json(*b.node, r.json.skeleton, nlohmann::json::json_pointer(), r.json);
  } else {
    r.body_kind = Request::BodyKind::form;
    r.form = load_pairs(*b.node, "form", false);
  }
}

// Converts a TOML value to JSON; strings holding "{{" become slots rendered per run.
void Loader::load_json(const toml::node& node, nlohmann::json& out,
                       const nlohmann::json::json_pointer& where, JsonBody& body) {
  switch (node.type()) {
    case toml::node_type::string: {
      const std::string& s = node.as_string()->get();
      out = s;
      if (s.find("{{") != std::string::npos)
        if (auto tmpl = compile(node)) body.slots.push_back({where, std::move(*tmpl)});
      return;
    }
    case toml::node_type::integer:
      out = node.as_integer()->get();
      return;
    case toml::node_type::floating_point: {
      double v = node.as_floating_point()->get();
      if (!std::isfinite(v)) d_.error(node, "JSON has no nan or inf");
      out = v;
      return;
    }
    case toml::node_type::boolean:
      out = node.as_boolean()->get();
      return;
    case toml::node_type::array: {
      out = nlohmann::json::array();
      const toml::array& a = *node.as_array();
      for (std::size_t i = 0; i < a.size(); ++i) {
        out.push_back(nullptr);
        load_json(*a.get(i), out.back(), where / i, body);
      }
      return;
    }
    case toml::node_type::table:
      out = nlohmann::json::object();
      for (const Entry& e : in_file_order(*node.as_table())) {
        std::string key(e.key);
        load_json(*e.node, out[key], where / key, body);
      }
      return;
    default:  // dates and times: sent as their TOML (RFC 3339) text
      out = scalar_text(node);
      return;
  }
}

// Checks the URL when it can be rendered from the static vars alone; a URL built from a
// capture or a run built-in is only known at run time.
void Loader::check_url(const toml::node& node, const Template& url) {
  Rendered r;
  std::string ignored;
  if (!url.render(static_scope_, r, &ignored)) return;
  if (std::string problem = url_problem(r.value); !problem.empty())
    d_.error(node, "invalid URL " + in_quotes(r.shown) + ": " + problem);
}

// headers / query / form: a table of name = template. Numbers and booleans are taken as
// their text, which is what people mean by `query = { page = 2 }`.
std::vector<NamedTemplate> Loader::load_pairs(const toml::node& node, std::string_view key,
                                              bool header_names) {
  std::vector<NamedTemplate> out;
  const toml::table* t = table_at(d_, node, key);
  if (!t) return out;
  for (const Entry& e : in_file_order(*t)) {
    std::string name(e.key);
    if (header_names && !is_header_name(name)) {
      d_.error(*e.node, "invalid header name " + in_quotes(name));
      continue;
    }
    std::optional<Template> value;
    if (e.node->is_string()) {
      value = compile(*e.node);
    } else if (e.node->is_integer() || e.node->is_floating_point() || e.node->is_boolean()) {
      value = Template::literal(scalar_text(*e.node));
    } else {
      type_error(d_, *e.node, std::string(key) + "." + name, "a string");
    }
    if (value) out.push_back(NamedTemplate{name, std::move(*value), d_.pos(*e.node)});
  }
  return out;
}

// expect: each key is a check kind from the catalog, built in file order.
void Loader::load_expect(const toml::node& node, Step& step) {
  const toml::table* t = table_at(d_, node, "expect");
  if (!t) return;
  assert(options_.checks);
  Builder builder(*this);
  std::vector<std::string_view> kinds = options_.checks->keys();
  for (const Entry& e : in_file_order(*t)) {
    const CheckKind* kind = options_.checks->find(e.key);
    if (!kind) {
      d_.error(*e.node, with_hint("unknown check " + in_quotes(e.key), e.key, kinds));
      continue;
    }
    kind->build(*e.node, builder, step.checks);
  }
  // The total-latency bound, for reports and gaps: the tightest of latency_ms and
  // latency.total_ms (the check kinds validated the values themselves).
  std::optional<double> bound;
  auto tighten = [&](const toml::node* n) {
    if (auto v = n ? number_of(*n) : std::nullopt) bound = std::min(bound.value_or(*v), *v);
  };
  tighten(t->get("latency_ms"));
  if (const toml::table* l = t->get_as<toml::table>("latency")) tighten(l->get("total_ms"));
  step.latency_threshold_ms = bound;
}

void Loader::load_captures(const toml::node& node, Step& step) {
  const toml::table* t = table_at(d_, node, "capture");
  if (!t) return;
  for (const Entry& e : in_file_order(*t)) {
    std::string name(e.key);
    if (check_name(*e.node, name, "capture"))
      if (auto c = Capture::compile(name, *e.node, d_)) step.captures.push_back(std::move(*c));
  }
  // Only now, after the step: a step cannot use what it captures itself.
  for (const Entry& e : in_file_order(*t))
    names_.define(std::string(e.key));
}

void Loader::load_slo(const toml::node& node, Journey& j) {
  ContextScope ctx(d_, "slo");
  const toml::table* t = table_at(d_, node, "slo");
  if (!t) return;
  check_keys(d_, *t, kSloKeys);
  Slo slo;
  slo.pos = d_.pos(node);
  if (const toml::node* n = t->get("availability"))
    slo.availability = percent_at(d_, *n, "availability");
  if (const toml::node* n = t->get("window"))
    slo.window = duration_at(d_, *n, "window").value_or(slo.window);
  if (const toml::node* n = t->get("latency")) {
    if (const toml::array* a = n->as_array()) {
      for (const toml::node& item : *a)
        load_latency_slo(item, j, slo);
    } else if (n->is_table()) {
      load_latency_slo(*n, j, slo);
    } else {
      type_error(d_, *n, "latency", "a table or an array of tables");
    }
  }
  j.slo = std::move(slo);
}

// { step, threshold_ms, target }; without `step` it is about the whole run.
void Loader::load_latency_slo(const toml::node& node, const Journey& j, Slo& slo) {
  const toml::table* t = table_at(d_, node, "latency");
  if (!t) return;
  check_keys(d_, *t, kLatencySloKeys);
  LatencySlo l;
  l.pos = d_.pos(node);
  bool ok = true;
  if (const toml::node* n = t->get("step")) {
    std::optional<std::string> name = string_at(d_, *n, "step");
    std::vector<std::string_view> steps;
    for (const Step& s : j.steps)
      steps.push_back(s.name);
    if (name && !contains(steps, *name))
      d_.error(*n,
               with_hint("no step named " + in_quotes(*name) + " in this journey", *name, steps));
    ok = ok && name && contains(steps, *name);
    l.step = name.value_or("");
  }
  if (const toml::node* n = t->get("threshold_ms")) {
    std::optional<double> v = number_at(d_, *n, "threshold_ms", "a number (milliseconds)");
    if (v && *v <= 0) d_.error(*n, "'threshold_ms' must be greater than 0");
    ok = ok && v && *v > 0;
    l.threshold_ms = v.value_or(0);
  } else {
    missing_key(d_, node, "threshold_ms");
    ok = false;
  }
  if (const toml::node* n = t->get("target")) {
    std::optional<double> v = percent_at(d_, *n, "target");
    ok = ok && v;
    l.target = v.value_or(0);
  } else {
    missing_key(d_, node, "target");
    ok = false;
  }
  if (ok) slo.latency.push_back(std::move(l));
}

// ---------------------------------------------------------------------------------------------
// Files and folders

// Every *.toml under dir, recursively, sorted so the load order does not depend on the
// file system.
std::vector<fs::path> toml_files_under(const fs::path& dir, std::vector<Diagnostic>& errors) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && it->path().extension() == ".toml")
      out.push_back(it->path());
  }
  if (ec) errors.push_back(file_error(dir.string(), "cannot list folder: " + ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

std::string join_quoted(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items)
    out += (out.empty() ? "" : ", ") + in_quotes(s);
  return out;
}

}  // namespace

Journey load_journey_string(std::string_view toml_text, const std::string& file_name,
                            const LoadOptions& options) {
  assert(options.checks && "LoadOptions::checks is required");
  Diagnostics diag(file_name);
  toml::table root = parse_or_throw(diag, toml_text);
  Loader loader(diag, options);
  Journey journey = loader.load(root);
  std::vector<Diagnostic> errors;
  for (Diagnostic& d : diag.take()) {
    if (d.severity == Diagnostic::Severity::error)
      errors.push_back(std::move(d));
    else
      journey.warnings.push_back(std::move(d));
  }
  if (!errors.empty()) throw LoadError(std::move(errors));
  return journey;
}

Journey load_journey_file(const std::filesystem::path& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw LoadError(
        {file_error(path.string(), "cannot read file: " + std::generic_category().message(errno))});
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw LoadError({file_error(path.string(), "cannot read file")});
  return load_journey_string(text.str(), path.string(), options);
}

LoadedSet load_paths(const std::vector<std::string>& paths, const LoadOptions& options) {
  LoadedSet set;
  std::vector<Diagnostic> errors;
  std::vector<fs::path> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    fs::file_status st = fs::status(p, ec);
    if (!fs::exists(st)) {
      errors.push_back(file_error(p, "no such file or folder"));
    } else if (fs::is_directory(st)) {
      for (fs::path& f : toml_files_under(p, errors))
        files.push_back(std::move(f));
    } else {
      files.emplace_back(p);
    }
  }
  std::set<fs::path> seen_files;  // a file named directly and through its folder loads once
  std::map<std::string, std::string> defined_in;  // journey name -> file
  for (const fs::path& f : files) {
    std::error_code ec;
    fs::path identity = fs::weakly_canonical(f, ec);
    if (!seen_files.insert(ec ? f : identity).second) continue;
    try {
      auto journey = std::make_shared<Journey>(load_journey_file(f, options));
      if (auto [it, fresh] = defined_in.emplace(journey->name, journey->file); !fresh) {
        Diagnostic d = file_error(journey->file, "journey " + in_quotes(journey->name) +
                                                     " is also defined in " + it->second);
        d.pos = journey->pos;
        errors.push_back(std::move(d));
        continue;
      }
      for (const Diagnostic& w : journey->warnings)
        set.warnings.push_back(w);
      set.journeys.push_back(std::move(journey));
    } catch (const LoadError& e) {
      errors.insert(errors.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (files.empty() && errors.empty())
    errors.push_back(file_error("", paths.empty()
                                        ? "no journey paths given"
                                        : "no journey (*.toml) found in " + join_quoted(paths)));
  if (!errors.empty()) throw LoadError(std::move(errors));
  return set;
}

}  // namespace journeys
