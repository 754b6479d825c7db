#include "journeys/jsonpath.hpp"

#include <algorithm>
#include <charconv>

namespace journeys {

namespace {

using json = nlohmann::json;
using Segment = JsonPath::Segment;

// Characters allowed in a dotted name ($.content-type); anything else needs ['...'].
bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '$' || c == '@' || static_cast<unsigned char>(c) >= 0x80;
}

std::string quote_char(char c) {
  return std::string("'") + c + "'";
}

// A recursive-descent parser over the JSONPath text. Positions in errors are 1-based.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  bool parse(std::vector<Segment>& out, std::string* error) {
    if (!eat('$')) return fail("expected '$' or '/' at the start", error);
    while (i_ < text_.size()) {
      const char c = text_[i_];
      if (c == '.' && peek(1) == '.') {
        i_ += 2;
        if (!parse_after_descent(out, error)) return false;
      } else if (c == '.') {
        ++i_;
        if (eat('*')) {
          out.push_back({Segment::Kind::wildcard, {}, 0});
        } else {
          std::string name;
          if (!parse_dotted_name(name, error)) return false;
          out.push_back({Segment::Kind::member, std::move(name), 0});
        }
      } else if (c == '[') {
        Segment s;
        if (!parse_bracket(s, error)) return false;
        out.push_back(std::move(s));
      } else {
        return fail("expected '.' or '[', got " + quote_char(c), error);
      }
    }
    return true;
  }

 private:
  char peek(std::size_t ahead = 0) const {
    return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0';
  }
  bool eat(char c) {
    if (i_ < text_.size() && text_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void skip_spaces() {
    while (i_ < text_.size() && text_[i_] == ' ')
      ++i_;
  }
  bool fail(const std::string& message, std::string* error) const {
    if (error) *error = "at " + std::to_string(i_ + 1) + ": " + message;
    return false;
  }

  // After "..": a name, '*', or a bracketed name / '*'.
  bool parse_after_descent(std::vector<Segment>& out, std::string* error) {
    if (eat('*')) {
      out.push_back({Segment::Kind::descend_wildcard, {}, 0});
      return true;
    }
    if (peek() == '[') {
      Segment s;
      const std::size_t at = i_;
      if (!parse_bracket(s, error)) return false;
      if (s.kind == Segment::Kind::index) {
        i_ = at;
        return fail("'..' takes a name or '*', not an index", error);
      }
      s.kind = s.kind == Segment::Kind::wildcard ? Segment::Kind::descend_wildcard
                                                 : Segment::Kind::descend_member;
      out.push_back(std::move(s));
      return true;
    }
    std::string name;
    if (!parse_dotted_name(name, error)) return false;
    out.push_back({Segment::Kind::descend_member, std::move(name), 0});
    return true;
  }

  bool parse_dotted_name(std::string& name, std::string* error) {
    const std::size_t start = i_;
    while (i_ < text_.size() && is_name_char(text_[i_]))
      ++i_;
    if (i_ == start) {
      if (i_ == text_.size()) return fail("expected a name", error);
      return fail("expected a name, got " + quote_char(text_[i_]) + " (use ['...'] for such names)",
                  error);
    }
    if (i_ < text_.size() && text_[i_] != '.' && text_[i_] != '[') {
      return fail("unexpected " + quote_char(text_[i_]) + " in a name (use ['...'] for such names)",
                  error);
    }
    name.assign(text_.substr(start, i_ - start));
    return true;
  }

  // "[" already seen at i_: ['name'], ["name"], [*], [3], [-1].
  bool parse_bracket(Segment& s, std::string* error) {
    ++i_;
    skip_spaces();
    const char c = peek();
    if (c == '\'' || c == '"') {
      ++i_;
      std::string name;
      for (;;) {
        if (i_ >= text_.size()) return fail("unterminated string, expected a closing quote", error);
        char d = text_[i_++];
        if (d == c) break;
        if (d == '\\') {
          if (i_ >= text_.size())
            return fail("unterminated string, expected a closing quote", error);
          d = text_[i_++];
        }
        name += d;
      }
      s = {Segment::Kind::member, std::move(name), 0};
    } else if (c == '*') {
      ++i_;
      s = {Segment::Kind::wildcard, {}, 0};
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      long long index = 0;
      const char* begin = text_.data() + i_;
      const char* end = text_.data() + text_.size();
      auto [ptr, ec] = std::from_chars(begin, end, index);
      if (ec == std::errc::result_out_of_range) return fail("index out of range", error);
      if (ec != std::errc()) return fail("expected an index", error);
      i_ += static_cast<std::size_t>(ptr - begin);
      s = {Segment::Kind::index, {}, index};
    } else {
      return fail("expected a quoted name, an index or '*'", error);
    }
    skip_spaces();
    if (!eat(']')) return fail("expected ']'", error);
    return true;
  }

  std::string_view text_;
  std::size_t i_ = 0;
};

// RFC 6901: "/a/0/b"; "~1" is '/', "~0" is '~'.
bool parse_pointer(std::string_view text, std::vector<Segment>& out, std::string* error) {
  std::size_t i = 1;  // past the leading '/'
  std::string token;
  for (;; ++i) {
    if (i == text.size() || text[i] == '/') {
      out.push_back({Segment::Kind::member, std::move(token), 0});
      token.clear();
      if (i == text.size()) return true;
    } else if (text[i] == '~') {
      char next = i + 1 < text.size() ? text[i + 1] : '\0';
      if (next != '0' && next != '1') {
        if (error) {
          *error = "at " + std::to_string(i + 1) + ": '~' must be followed by 0 or 1 (~0 is '~', " +
                   "~1 is '/')";
        }
        return false;
      }
      token += next == '0' ? '~' : '/';
      ++i;
    } else {
      token += text[i];
    }
  }
}

// In a JSON pointer a token addresses an array element when it is a canonical index: digits,
// no leading zero. ("-" means past the end and selects nothing.)
const json* pointer_step(const json& node, const std::string& token) {
  if (node.is_object()) {
    auto it = node.find(token);
    return it == node.end() ? nullptr : &*it;
  }
  if (!node.is_array() || token.empty() || (token.size() > 1 && token[0] == '0')) return nullptr;
  std::size_t index = 0;
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (ec != std::errc() || ptr != token.data() + token.size() || index >= node.size()) {
    return nullptr;
  }
  return &node[index];
}

const json* member(const json& node, const std::string& name) {
  if (!node.is_object()) return nullptr;
  auto it = node.find(name);
  return it == node.end() ? nullptr : &*it;
}

const json* element(const json& node, long long index) {
  if (!node.is_array()) return nullptr;
  const auto size = static_cast<long long>(node.size());
  if (index < 0) index += size;
  if (index < 0 || index >= size) return nullptr;
  return &node[static_cast<std::size_t>(index)];
}

// Preorder walk of node and all its descendants, without recursion (a hostile document may
// be deep). Objects iterate in nlohmann's order, which is sorted by key.
template <typename Visit>
void walk(const json& root, Visit visit) {
  std::vector<const json*> stack{&root};
  while (!stack.empty()) {
    const json* node = stack.back();
    stack.pop_back();
    visit(*node);
    if (node->is_structured()) {
      const std::size_t mark = stack.size();
      for (const json& child : *node)
        stack.push_back(&child);
      std::reverse(stack.begin() + static_cast<std::ptrdiff_t>(mark), stack.end());
    }
  }
}

}  // namespace

std::optional<JsonPath> JsonPath::compile(std::string_view text, std::string* error) {
  JsonPath path;
  path.text_.assign(text);
  bool ok = true;
  if (!text.empty() && text.front() == '/') {
    ok = parse_pointer(text, path.segments_, error);
  } else if (!text.empty()) {
    ok = Parser(text).parse(path.segments_, error);
  }
  if (!ok) return std::nullopt;
  for (const Segment& s : path.segments_) {
    if (s.kind != Segment::Kind::member && s.kind != Segment::Kind::index) path.definite_ = false;
  }
  if (error) error->clear();
  return path;
}

const json* JsonPath::first(const json& doc) const {
  if (!definite_) {
    auto all = select(doc);
    return all.empty() ? nullptr : all.front();
  }
  const bool pointer = text_.empty() || text_.front() == '/';
  const json* node = &doc;
  for (const Segment& s : segments_) {
    if (s.kind == Segment::Kind::index) {
      node = element(*node, s.index);
    } else {
      node = pointer ? pointer_step(*node, s.name) : member(*node, s.name);
    }
    if (!node) return nullptr;
  }
  return node;
}

std::vector<const json*> JsonPath::select(const json& doc) const {
  if (definite_) {
    const json* node = first(doc);
    return node ? std::vector<const json*>{node} : std::vector<const json*>{};
  }
  std::vector<const json*> current{&doc}, next;
  for (const Segment& s : segments_) {
    next.clear();
    for (const json* node : current) {
      switch (s.kind) {
        case Segment::Kind::member:
          if (const json* m = member(*node, s.name)) next.push_back(m);
          break;
        case Segment::Kind::index:
          if (const json* e = element(*node, s.index)) next.push_back(e);
          break;
        case Segment::Kind::wildcard:
          if (node->is_structured()) {
            for (const json& child : *node)
              next.push_back(&child);
          }
          break;
        case Segment::Kind::descend_member:
          walk(*node, [&](const json& n) {
            if (const json* m = member(n, s.name)) next.push_back(m);
          });
          break;
        case Segment::Kind::descend_wildcard:
          // Every descendant, not the node itself.
          walk(*node, [&](const json& n) {
            if (&n != node) next.push_back(&n);
          });
          break;
      }
    }
    std::swap(current, next);
    if (current.empty()) break;
  }
  return current;
}

}  // namespace journeys
