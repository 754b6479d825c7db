#include "journeys/response.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace journeys {

namespace {

// nlohmann's parser is iterative, but dump(), comparison and copy recurse: a hostile body of
// a million '[' would overflow the stack in a check or a capture. Reject such bodies up front
// with one cheap scan (brackets inside strings do not count).
constexpr int kMaxJsonDepth = 512;

bool too_deep(std::string_view body) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

// Filled on the first json() call. Not synchronised: a Response belongs to one run, whose
// checks and captures read it one after another.
struct Response::JsonCache {
  nlohmann::json value;
  bool ok = false;
  std::string error;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

const std::string* Response::header(std::string_view name) const {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::vector<std::string_view> Response::headers_named(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const Header& h : headers) {
    if (iequals(h.name, name)) out.emplace_back(h.value);
  }
  return out;
}

const nlohmann::json* Response::json() const {
  if (!json_) {
    auto cache = std::make_unique<JsonCache>();
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
      cache->error = "invalid JSON: empty body";
    } else if (too_deep(body)) {
      cache->error =
          "invalid JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    } else {
      // nlohmann reports the error position only through its exception; it does not leave
      // this function. The exception's text quotes the body, so only the byte is kept.
      try {
        cache->value = nlohmann::json::parse(body);
        cache->ok = true;
      } catch (const nlohmann::json::parse_error& e) {
        cache->error = "invalid JSON: syntax error at byte " + std::to_string(e.byte);
      } catch (const nlohmann::json::exception&) {
        cache->error = "invalid JSON: number out of range";  // the only other parse failure
      }
    }
    json_ = std::move(cache);
  }
  return json_->ok ? &json_->value : nullptr;
}

const std::string& Response::json_error() const {
  json();
  return json_->error;
}

Response::Response() = default;
Response::~Response() = default;
Response::Response(Response&&) noexcept = default;
Response& Response::operator=(Response&&) noexcept = default;

// A copy drops the JSON cache: it is rebuilt on demand from the copied body.
Response::Response(const Response& o)
    : status(o.status),
      http_version(o.http_version),
      headers(o.headers),
      body(o.body),
      timings(o.timings),
      tls(o.tls),
      effective_url(o.effective_url),
      redirects(o.redirects) {}

Response& Response::operator=(const Response& o) {
  if (this != &o) {
    Response copy(o);
    *this = std::move(copy);
  }
  return *this;
}

}  // namespace journeys
