// Fuzzes the JSON path evaluator. Input: the path on the first line, the JSON document after
// it. A path that compiles is evaluated against a document that parses.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "journeys/jsonpath.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = input.find('\n');
  const std::string_view path_text = input.substr(0, nl);
  const std::string_view doc_text =
      nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  std::string error;
  std::optional<journeys::JsonPath> path = journeys::JsonPath::compile(path_text, &error);
  if (!path) return 0;
  (void)path->text();
  const nlohmann::json doc =
      nlohmann::json::parse(doc_text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  const std::vector<const nlohmann::json*> all = path->select(doc);
  const nlohmann::json* first = path->first(doc);
  // A definite path selects at most one node, and first() is the first of select().
  if (path->definite() && all.size() > 1) __builtin_trap();
  if (first != (all.empty() ? nullptr : all.front())) __builtin_trap();
  return 0;
}
