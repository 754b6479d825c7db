#include "prober/engine/log.hpp"

#include "prober/record/event.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

namespace prober::engine {

namespace {


std::string_view level_name(Logger::Level l) {
  switch (l) {
    case Logger::Level::debug:
      return "debug";
    case Logger::Level::info:
      return "info";
    case Logger::Level::warn:
      return "warn";
    case Logger::Level::error:
      return "error";
  }
  return "info";
}

// Padded to five columns so messages line up: "INFO  reloaded", "ERROR reloaded".
std::string_view level_label(Logger::Level l) {
  switch (l) {
    case Logger::Level::debug:
      return "DEBUG";
    case Logger::Level::info:
      return "INFO ";
    case Logger::Level::warn:
      return "WARN ";
    case Logger::Level::error:
      return "ERROR";
  }
  return "INFO ";
}

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

// One log entry is one line: control characters become \n, \t, \r or \xNN. Inside quotes a
// quote and a backslash are escaped too, so the value can be read back unambiguously.
void append_escaped(std::string& out, std::string_view s, bool quoted) {
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '"':
      case '\\':
        if (quoted) out += '\\';
        out += static_cast<char>(c);
        break;
      default:
        if (is_control(c)) {
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

// logfmt's rule: quote a value that is empty or holds a space, a quote, '=' or a control
// character; anything else (paths, URLs without spaces, numbers) stays bare.
bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  for (unsigned char c : s)
    if (c == ' ' || c == '"' || c == '=' || is_control(c)) return true;
  return false;
}

void append_key(std::string& out, std::string_view key) {
  if (key.empty()) {
    out += '_';
    return;
  }
  // Keys come from our code, but a key with a space or '=' would make the line ambiguous.
  for (unsigned char c : key)
    out += (c <= ' ' || c == '=' || c == '"' || c == 0x7f) ? '_' : c;
}

std::string format_double(double v) {
  char buf[64];
  // Shortest form that reads back to the same double: 0.1 -> "0.1", 12.5 -> "12.5".
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "0";
  return std::string(buf, end);
}

void append_value(std::string& out, const Logger::Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    if (needs_quotes(*s)) {
      out += '"';
      append_escaped(out, *s, true);
      out += '"';
    } else {
      out += *s;
    }
  } else if (const auto* i = std::get_if<long long>(&v)) {
    out += std::to_string(*i);
  } else if (const auto* d = std::get_if<double>(&v)) {
    out += format_double(*d);
  } else if (const auto* b = std::get_if<bool>(&v)) {
    out += *b ? "true" : "false";
  }
}

std::string text_line(std::string_view ts, Logger::Level level, std::string_view msg,
                      std::initializer_list<Logger::Field> fields) {
  std::string line;
  line.reserve(64 + msg.size() + 24 * fields.size());
  line += ts;
  line += ' ';
  line += level_label(level);
  line += ' ';
  append_escaped(line, msg, false);
  for (const auto& [key, value] : fields) {
    line += ' ';
    append_key(line, key);
    line += '=';
    append_value(line, value);
  }
  line += '\n';
  return line;
}

std::string json_line(std::string_view ts, Logger::Level level, std::string_view msg,
                      std::initializer_list<Logger::Field> fields) {
  // ordered_json keeps ts, level, msg first, as collectors and people expect.
  nlohmann::ordered_json j;
  j["ts"] = ts;
  j["level"] = level_name(level);
  j["msg"] = msg;
  for (const auto& [key, value] : fields) {
    std::string k(key);
    // A field must not overwrite ts / level / msg: it becomes ts_ / level_ / msg_.
    if (k == "ts" || k == "level" || k == "msg") k += '_';
    std::visit([&](const auto& v) { j[k] = v; }, value);
  }
  // A body echoed into a message may be invalid UTF-8: replace it (U+FFFD) rather than let
  // dump() throw out of a log call.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace

Logger::Logger(std::ostream& out, Format format, Level min)
    : out_(out), format_(format), min_(min) {}

void Logger::log(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (level < min_) return;
  // A log call never throws into its caller (it is used on error paths and in destructors);
  // a line we cannot build is lost.
  try {
    const std::string ts = record::format_time(std::chrono::system_clock::now());
    const std::string line = format_ == Format::json ? json_line(ts, level, msg, fields)
                                                     : text_line(ts, level, msg, fields);
    std::lock_guard lock(mu_);
    out_.write(line.data(), static_cast<std::streamsize>(line.size()));
    out_.flush();
  } catch (...) {
  }
}

}  // namespace prober::engine
