#pragma once
// Logs: readable text lines on stderr, or JSON lines (--log-format json) for collectors.
//   text: 2026-11-28T10:00:00.123Z INFO  reloaded journeys=12 file=prober.toml
//   json: {"ts":"2026-11-28T10:00:00.123Z","level":"info","msg":"reloaded","journeys":12,...}
// Never pass a secret as a field: callers log shown (redacted) forms only.

#include <initializer_list>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace prober::engine {

class Logger {
 public:
  enum class Format { text, json };
  enum class Level { debug, info, warn, error };
  using Value = std::variant<std::string, long long, double, bool>;
  using Field = std::pair<std::string_view, Value>;

  explicit Logger(std::ostream& out, Format format = Format::text, Level min = Level::info);
  void set_format(Format f) { format_ = f; }

  void log(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
  void debug(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::debug, m, f); }
  void info(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::info, m, f); }
  void warn(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::warn, m, f); }
  void error(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::error, m, f); }

 private:
  std::ostream& out_;
  Format format_;
  Level min_;
  std::mutex mu_;  // a log line is written whole even if another thread logs
};

}  // namespace prober::engine
