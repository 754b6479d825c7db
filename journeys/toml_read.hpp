#pragma once
// Reading TOML with diagnostics: the typed reads, key checks and small text helpers that the
// journey loader and the prober config loader share, so both report mistakes in one voice:
//   "unknown key 'intervall' (did you mean 'interval'?)"
//   "'interval' must be a string (a duration like "30s"), not an integer"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "journeys/diag.hpp"

namespace journeys {

bool contains(const std::vector<std::string_view>& list, std::string_view word);
bool is_alpha(char c);
bool is_digit(char c);
// An HTTP header field name (RFC 9110 token).
bool is_header_name(std::string_view s);
std::string in_quotes(std::string_view s);  // 'like this'
// message + " (did you mean 'x'?)" when a candidate is close to word.
std::string with_hint(std::string message, std::string_view word,
                      const std::vector<std::string_view>& candidates);
// A scalar's text for messages and header values: strings as they are, numbers and booleans
// as TOML writes them.
std::string scalar_text(const toml::node& n);
// A diagnostic about a whole file (no line or column).
Diagnostic file_error(const std::string& file, std::string message);

// A table's entries in the order they appear in the file (toml++ iterates by key).
struct Entry {
  std::string_view key;
  const toml::key* key_node;
  const toml::node* node;
};
std::vector<Entry> in_file_order(const toml::table& t);

// text parsed as TOML, named d.file() in positions. TOML cannot be read past a syntax error:
// that one located error is all there is to say, so it throws LoadError with it.
toml::table parse_or_throw(Diagnostics& d, std::string_view text);

// "'key' must be EXPECTED, not a TYPE" at n.
void type_error(Diagnostics& d, const toml::node& n, std::string_view key,
                std::string_view expected);
// Reports every key of t not in allowed, with a did-you-mean.
void check_keys(Diagnostics& d, const toml::table& t,
                const std::vector<std::string_view>& allowed);
// Typed reads: the value, or nullopt/nullptr after reporting a wrong type at n.
const toml::table* table_at(Diagnostics& d, const toml::node& n, std::string_view key);
std::optional<std::string> string_at(Diagnostics& d, const toml::node& n, std::string_view key);
// An array of strings; each item that is not a string is reported and left out.
std::optional<std::vector<std::string>> strings_at(Diagnostics& d, const toml::node& n,
                                                   std::string_view key);

}  // namespace journeys
