#include "journeys/diag.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>

#include <toml++/toml.h>

namespace journeys {

namespace {

std::string join(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    if (!out.empty()) out += '\n';
    out += d.str();
  }
  return out;
}

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

// Classic two-row Levenshtein; keys and names are short, so O(n*m) is nothing.
std::size_t levenshtein(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  std::iota(prev.begin(), prev.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string Diagnostic::str() const {
  std::string out = pos.file;
  if (pos.line > 0) {
    out += ':' + std::to_string(pos.line);
    if (pos.column > 0) out += ':' + std::to_string(pos.column);
  }
  if (!out.empty()) out += ": ";
  if (severity == Severity::warning) out += "warning: ";
  if (!context.empty()) out += context + ": ";
  out += message;
  return out;
}

SourcePos Diagnostics::pos(const toml::source_region& at) const {
  return SourcePos{file_, static_cast<int>(at.begin.line), static_cast<int>(at.begin.column)};
}

SourcePos Diagnostics::pos(const toml::node& at) const {
  return pos(at.source());
}

void Diagnostics::error(const SourcePos& pos, std::string message) {
  items_.push_back({Diagnostic::Severity::error, pos, context_, std::move(message)});
}

void Diagnostics::error(const toml::node& at, std::string message) {
  error(pos(at), std::move(message));
}

void Diagnostics::error(const toml::source_region& at, std::string message) {
  error(pos(at), std::move(message));
}

void Diagnostics::warning(const SourcePos& pos, std::string message) {
  items_.push_back({Diagnostic::Severity::warning, pos, context_, std::move(message)});
}

void Diagnostics::warning(const toml::node& at, std::string message) {
  warning(pos(at), std::move(message));
}

bool Diagnostics::has_errors() const {
  return std::any_of(items_.begin(), items_.end(),
                     [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; });
}

LoadError::LoadError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join(diagnostics)), diagnostics_(std::move(diagnostics)) {}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  // A third of the word's length catches typos ("latency_sm") without suggesting unrelated
  // short keys for a short word ("url" is not a typo of "body").
  const std::size_t limit = std::max<std::size_t>(1, word.size() / 3);
  std::string_view best;
  std::size_t best_distance = limit + 1;
  for (std::string_view candidate : candidates) {
    // A case-only difference ("Status") is always the intended key.
    std::size_t d = iequal(word, candidate) ? 0 : levenshtein(word, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return std::string(best);
}

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

}  // namespace journeys
