#pragma once
// Load-time diagnostics: every problem in a journey file is collected, each with the file,
// line and column of the TOML value at fault, so one `prober check` shows them all at once.

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace toml {
inline namespace v3 {
class node;
struct source_region;
}  // namespace v3
}  // namespace toml

namespace journeys {

struct SourcePos {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
};

struct Diagnostic {
  enum class Severity { error, warning };
  Severity severity = Severity::error;
  SourcePos pos;
  std::string context;  // "step 'browse'", "journey", "" — what the message is about
  std::string message;

  // "file:line:col: step 'x': message" (context and position omitted when empty).
  std::string str() const;
};

// Collects diagnostics for one file. `context` is what new diagnostics are about; the loader
// sets it while it walks the steps (see ContextScope).
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  void set_context(std::string context) { context_ = std::move(context); }
  const std::string& context() const { return context_; }

  void error(const SourcePos& pos, std::string message);
  void error(const toml::node& at, std::string message);
  void error(const toml::source_region& at, std::string message);
  void warning(const toml::node& at, std::string message);
  void warning(const SourcePos& pos, std::string message);

  SourcePos pos(const toml::node& at) const;
  SourcePos pos(const toml::source_region& at) const;

  bool has_errors() const;
  const std::vector<Diagnostic>& all() const { return items_; }
  std::vector<Diagnostic> take() { return std::move(items_); }

 private:
  std::string file_;
  std::string context_;
  std::vector<Diagnostic> items_;
};

// RAII: sets the context of a Diagnostics and restores the previous one.
class ContextScope {
 public:
  ContextScope(Diagnostics& d, std::string context) : d_(d), saved_(d.context()) {
    d_.set_context(std::move(context));
  }
  ~ContextScope() { d_.set_context(std::move(saved_)); }
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  Diagnostics& d_;
  std::string saved_;
};

// Thrown by the loaders when a file (or a set of files) has errors; carries all of them.
class LoadError : public std::runtime_error {
 public:
  explicit LoadError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

// "a string", "an integer", "a table"...: a TOML value's type for messages such as
// "'interval' must be a string, not an integer".
std::string_view type_name(const toml::node& n);

// The closest candidate by edit distance ("latency_ms" for "latncy_ms"), or "" if none is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace journeys
