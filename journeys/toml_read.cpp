#include "journeys/toml_read.hpp"

#include <algorithm>
#include <sstream>

namespace journeys {

bool contains(const std::vector<std::string_view>& list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_header_name(std::string_view s) {
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return is_alpha(c) || is_digit(c) || kSpecials.find(c) != std::string_view::npos;
  });
}

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::string with_hint(std::string message, std::string_view word,
                      const std::vector<std::string_view>& candidates) {
  std::string hint = did_you_mean(word, candidates);
  if (hint.empty()) return message;
  // Tolerates both forms of did_you_mean: the bare candidate or the whole phrase.
  if (!hint.starts_with("did you mean")) hint = "did you mean " + in_quotes(hint) + "?";
  return message + " (" + hint + ")";
}

std::string scalar_text(const toml::node& n) {
  std::ostringstream text;
  n.visit([&](const auto& v) {
    if constexpr (toml::is_value<decltype(v)>) text << v;
  });
  return text.str();
}

Diagnostic file_error(const std::string& file, std::string message) {
  Diagnostic d;
  d.pos.file = file;
  d.message = std::move(message);
  return d;
}

std::vector<Entry> in_file_order(const toml::table& t) {
  std::vector<Entry> out;
  for (auto&& [k, v] : t)
    out.push_back(Entry{k.str(), &k, &v});
  std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    const toml::source_position& pa = a.key_node->source().begin;
    const toml::source_position& pb = b.key_node->source().begin;
    return std::pair(pa.line, pa.column) < std::pair(pb.line, pb.column);
  });
  return out;
}

void type_error(Diagnostics& d, const toml::node& n, std::string_view key,
                std::string_view expected) {
  d.error(n, in_quotes(key) + " must be " + std::string(expected) + ", not " +
                 std::string(type_name(n)));
}

void check_keys(Diagnostics& d, const toml::table& t,
                const std::vector<std::string_view>& allowed) {
  for (const Entry& e : in_file_order(t))
    if (!contains(allowed, e.key))
      d.error(*e.node, with_hint("unknown key " + in_quotes(e.key), e.key, allowed));
}

const toml::table* table_at(Diagnostics& d, const toml::node& n, std::string_view key) {
  if (const toml::table* t = n.as_table()) return t;
  type_error(d, n, key, "a table");
  return nullptr;
}

std::optional<std::string> string_at(Diagnostics& d, const toml::node& n, std::string_view key) {
  if (const auto* s = n.as_string()) return s->get();
  type_error(d, n, key, "a string");
  return std::nullopt;
}

std::optional<std::vector<std::string>> strings_at(Diagnostics& d, const toml::node& n,
                                                   std::string_view key) {
  const toml::array* a = n.as_array();
  if (!a) {
    type_error(d, n, key, "an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const toml::node& item : *a) {
    if (const auto* s = item.as_string())
      out.push_back(s->get());
    else
      d.error(item,
              in_quotes(key) + " must contain only strings, not " + std::string(type_name(item)));
  }
  return out;
}

toml::table parse_or_throw(Diagnostics& d, std::string_view text) {
  try {
    return toml::parse(text, std::string_view(d.file()));
  } catch (const toml::parse_error& e) {
    d.error(e.source(), "syntax error: " + std::string(e.description()));
    throw LoadError(d.take());
  }
}

}  // namespace journeys
