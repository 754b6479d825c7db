#include "journeys/capture.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include <re2/re2.h>
#include <toml++/toml.h>

namespace journeys {

namespace {

constexpr std::array<std::string_view, 5> kSources{"json", "header", "regex", "cookie", "status"};
constexpr std::array<std::string_view, 7> kKeys{"json",   "header", "regex", "cookie",
                                                "status", "group",  "secret"};

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

}  // namespace

std::optional<Capture> Capture::compile(std::string name, const toml::node& spec,
                                        Diagnostics& diag) {
  const std::string what = "capture '" + name + "'";
  const toml::table* table = spec.as_table();
  if (!table) {
    diag.error(spec, what + ": expected a table like { json = \"$.id\" }");
    return std::nullopt;
  }

  Capture c;
  c.name_ = std::move(name);
  c.pos_ = diag.pos(spec);
  bool ok = true;
  auto error = [&](const auto& at, std::string message) {
    diag.error(at, what + ": " + std::move(message));
    ok = false;
  };

  // Which source keys are present (toml++ tables iterate sorted by key), so "several sources"
  // can name them.
  std::vector<std::string_view> sources;
  const toml::node* source_node = nullptr;
  for (auto&& [key, value] : *table) {
    const std::string_view k = key.str();
    if (std::find(kSources.begin(), kSources.end(), k) != kSources.end()) {
      sources.push_back(k);
      source_node = &value;
    } else if (std::find(kKeys.begin(), kKeys.end(), k) == kKeys.end()) {
      std::string hint = did_you_mean(k, {kKeys.begin(), kKeys.end()});
      error(key.source(), "unknown key '" + std::string(k) + "'" +
                              (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  }
  if (sources.empty()) {
    error(spec, "needs one of json, header, regex, cookie, status");
    return std::nullopt;
  }
  if (sources.size() > 1) {
    std::string list;
    for (std::string_view s : sources)
      list += (list.empty() ? "" : ", ") + std::string(s);
    error(spec, "has several sources (" + list + "); use exactly one");
    return std::nullopt;
  }

  const std::string_view source = sources.front();
  const toml::node& arg = *source_node;
  if (source == "status") {
    c.source_ = Source::status;
    if (arg.value_exact<bool>() != true) error(arg, "status must be true");
  } else if (const auto* text = arg.as_string(); !text) {
    error(arg, std::string(source) + " must be a string" +
                   (source == "json"    ? " (a JSON path)"
                    : source == "regex" ? " (an RE2 pattern)"
                                        : ""));
  } else {
    c.arg_ = text->get();
    if (source == "json") {
      c.source_ = Source::json;
      std::string path_error;
      c.path_ = JsonPath::compile(c.arg_, &path_error);
      if (!c.path_) error(arg, "invalid JSON path '" + c.arg_ + "': " + path_error);
    } else if (source == "regex") {
      c.source_ = Source::regex;
      RE2::Options options;
      options.set_log_errors(false);  // the error is reported as a diagnostic instead
      auto re = std::make_shared<const RE2>(c.arg_, options);
      if (!re->ok()) {
        error(arg, "invalid regex: " + re->error());
      } else {
        c.regex_ = std::move(re);
      }
    } else {
      c.source_ = source == "header" ? Source::header : Source::cookie;
      if (c.arg_.empty()) error(arg, std::string(source) + " name is empty");
    }
  }

  if (const toml::node* group = table->get("group")) {
    const auto value = group->value_exact<int64_t>();
    if (c.source_ != Source::regex) {
      error(*group, "group applies only to a regex capture");
    } else if (!value || *value < 0) {
      error(*group, "group must be an integer >= 0 (0 is the whole match)");
    } else if (c.regex_ && *value > c.regex_->NumberOfCapturingGroups()) {
      error(*group, "group " + std::to_string(*value) + " but the regex has " +
                        std::to_string(c.regex_->NumberOfCapturingGroups()) + " group(s)");
    } else {
      c.group_ = static_cast<int>(*value);
    }
  } else if (c.regex_ && c.regex_->NumberOfCapturingGroups() < 1) {
    // The default group 1 needs a group: capture the whole match of a group-less regex.
    c.group_ = 0;
  }

  if (const toml::node* secret = table->get("secret")) {
    if (const auto value = secret->value_exact<bool>()) {
      c.secret_ = *value;
    } else {
      error(*secret, "secret must be true or false");
    }
  }

  if (!ok) return std::nullopt;
  return c;
}

std::optional<std::string> Capture::extract(const Response& response, std::string* error) const {
  auto fail = [&](std::string message) -> std::optional<std::string> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  switch (source_) {
    case Source::json: {
      const nlohmann::json* doc = response.json();
      if (!doc) {
        // json_error() reads "invalid JSON: syntax error at byte 17"; avoid saying it twice.
        std::string_view why = response.json_error();
        if (why.starts_with("invalid JSON: ")) why.remove_prefix(14);
        return fail("body is not JSON: " + std::string(why));
      }
      const nlohmann::json* node = path_->first(*doc);
      if (!node) return fail("json " + arg_ + ": no match");
      if (node->is_string()) return node->get<std::string>();
      return node->dump();
    }
    case Source::header:
      if (const std::string* value = response.header(arg_)) return *value;
      return fail("no header '" + arg_ + "'");
    case Source::cookie: {
      // Set-Cookie: name=value; Path=/; HttpOnly — the pair is before the first ';'. When a
      // response sets the same cookie twice, the browser keeps the last one, so do we.
      std::optional<std::string> found;
      for (std::string_view line : response.headers_named("Set-Cookie")) {
        const std::string_view pair = line.substr(0, line.find(';'));
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        if (trim(pair.substr(0, eq)) == arg_) found = std::string(trim(pair.substr(eq + 1)));
      }
      if (!found) return fail("no cookie '" + arg_ + "'");
      return found;
    }
    case Source::regex: {
      std::vector<re2::StringPiece> groups(static_cast<std::size_t>(group_) + 1);
      if (!regex_->Match(response.body, 0, response.body.size(), RE2::UNANCHORED, groups.data(),
                         group_ + 1)) {
        return fail("regex '" + arg_ + "': no match");
      }
      const re2::StringPiece& g = groups[static_cast<std::size_t>(group_)];
      if (g.data() == nullptr) {
        return fail("regex '" + arg_ + "': group " + std::to_string(group_) + " did not match");
      }
      return std::string(g.data(), g.size());
    }
    case Source::status:
      return std::to_string(response.status);
  }
  return fail("unknown capture source");  // unreachable: every Source is handled above
}

std::string Capture::describe() const {
  switch (source_) {
    case Source::json:
      return "json " + arg_;
    case Source::header:
      return "header " + arg_;
    case Source::regex:
      return "regex '" + arg_ + "'" + (group_ == 1 ? "" : " group " + std::to_string(group_));
    case Source::cookie:
      return "cookie " + arg_;
    case Source::status:
      return "status";
  }
  return {};
}

}  // namespace journeys
