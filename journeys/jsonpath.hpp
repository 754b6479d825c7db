#pragma once
// A compiled JSON path: the JSONPath subset journeys use, or an RFC 6901 JSON pointer.
//
//   $                 the document
//   $.a.b  $['a b']   members
//   $.items[0]  [-1]  array index (negative counts from the end)
//   $.items[*]        every element / member value
//   $..id             recursive descent: every "id" member at any depth
//   /items/0/id       JSON pointer (a path starting with "/"; "" is the document)
//
// Compiled once at load time; evaluation allocates only the result vector.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace journeys {

class JsonPath {
 public:
  // Returns nullopt and sets *error ("at 7: expected ']'") on a malformed path.
  static std::optional<JsonPath> compile(std::string_view text, std::string* error);

  // Every node the path selects, in document order. A definite path (no [*] or ..) selects
  // at most one node.
  std::vector<const nlohmann::json*> select(const nlohmann::json& doc) const;
  const nlohmann::json* first(const nlohmann::json& doc) const;

  bool definite() const { return definite_; }
  const std::string& text() const { return text_; }

  struct Segment {
    enum class Kind { member, index, wildcard, descend_member, descend_wildcard };
    Kind kind;
    std::string name;
    long long index = 0;
  };

 private:
  std::string text_;
  std::vector<Segment> segments_;
  bool definite_ = true;
};

}  // namespace journeys
