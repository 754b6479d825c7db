#pragma once
// Captures: values taken from a response and used by later steps as {{name}}.
//
//   capture = { product_id = { json = "$.items[0].id" },
//               token      = { header = "X-Auth-Token", secret = true },
//               order      = { regex = 'order (\d+)', group = 1 },
//               session    = { cookie = "sid" },
//               code       = { status = true } }
//
// A JSON string is captured as its text, any other JSON value as its compact JSON.

#include <optional>
#include <string>
#include <string_view>

#include "journeys/diag.hpp"
#include "journeys/jsonpath.hpp"
#include "journeys/response.hpp"

namespace re2 {
class RE2;
}

namespace toml {
inline namespace v3 {
class node;
}
}  // namespace toml

namespace journeys {

class Capture {
 public:
  enum class Source { json, header, regex, cookie, status };

  // Parses one capture spec (the value of `name = {...}`); reports problems at the node.
  static std::optional<Capture> compile(std::string name, const toml::node& spec,
                                        Diagnostics& diag);

  // The captured value, or nullopt with *error ("json $.token: no match", "no cookie 'sid'").
  std::optional<std::string> extract(const Response& response, std::string* error) const;

  const std::string& name() const { return name_; }
  Source source() const { return source_; }
  bool secret() const { return secret_; }
  const SourcePos& pos() const { return pos_; }
  std::string describe() const;  // "json $.items[0].id"

 private:
  std::string name_;
  Source source_ = Source::status;
  std::string arg_;  // header/cookie name, regex text
  std::optional<JsonPath> path_;
  std::shared_ptr<const re2::RE2> regex_;
  int group_ = 1;
  bool secret_ = false;
  SourcePos pos_;
};

}  // namespace journeys
