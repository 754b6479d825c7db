#include "journeys/check.hpp"

#include <algorithm>

namespace journeys {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if the bytes there are not one
// (overlong forms, surrogates and code points past U+10FFFF count as invalid).
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

std::string hex_escape(unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  return {'\\', 'x', kHex[c >> 4], kHex[c & 0xF]};
}

}  // namespace

std::string Verdict::str() const {
  std::string out = check.empty() ? "" : check + ": ";
  switch (outcome) {
    case Outcome::pass:
      out += "ok";
      break;
    case Outcome::fail:
      if (expected.empty() && actual.empty()) {
        out += "failed";
      } else if (expected.empty()) {
        out += "got " + actual;
      } else {
        out += "expected " + expected + ", got " + (actual.empty() ? "nothing" : actual);
      }
      break;
    case Outcome::error:
      out += "could not evaluate: " + message;
      break;
  }
  return out;
}

std::string truncate_for_display(std::string_view s, std::size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max) + 16);
  for (std::size_t i = 0; i < s.size();) {
    // One display unit: an escaped control or invalid byte, or one whole UTF-8 character, so
    // a cut never splits a character or an escape.
    std::string unit;
    std::size_t consumed = 1;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      unit = "\\n";
    } else if (c == '\t') {
      unit = "\\t";
    } else if (c == '\r') {
      unit = "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      unit = hex_escape(c);
    } else if (c < 0x80) {
      unit = static_cast<char>(c);
    } else if (std::size_t len = utf8_length(s, i); len > 0) {
      unit = s.substr(i, len);
      consumed = len;
    } else {
      unit = hex_escape(c);  // invalid UTF-8 would corrupt a JSON or HTML report
    }
    if (out.size() + unit.size() > max) {
      out += "…(" + std::to_string(s.size()) + " bytes)";
      return out;
    }
    out += unit;
    i += consumed;
  }
  return out;
}

}  // namespace journeys
