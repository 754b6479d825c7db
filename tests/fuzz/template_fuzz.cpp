// Fuzzes templating: the input is compiled as a template and, when it compiles, rendered
// against a scope with a few vars (one secret), then redacted as a report would be.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "journeys/template.hpp"

namespace {

const journeys::Scope& scope() {
  static const journeys::Scope s = [] {
    journeys::Scope sc;
    sc.set("location", "fuzz");
    sc.set("run_id", "0123456789abcdef");
    sc.set("journey", "checkout");
    sc.set("user", "ada@example.com");
    sc.set("id", "p-1");
    sc.set("empty", "");
    sc.set("token", "s3cr3t-t0ken", /*secret=*/true);
    sc.add_secret_value("hunter2");
    return sc;
  }();
  return s;
}

void render(const journeys::Template& t) {
  journeys::Rendered out;
  std::string error;
  if (!t.render(scope(), out, &error)) return;
  (void)scope().redact(out.value);
  for (const std::string& secret : out.secret_values)
    (void)scope().redact(secret);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Every {{env.NAME}} resolves (to a value derived from the name, secret by default).
  static const journeys::EnvLookup env = [](std::string_view name) -> std::optional<std::string> {
    return "env-" + std::string(name);
  };
  std::string error;
  std::optional<journeys::Template> t = journeys::Template::compile(text, env, &error);
  if (!t) return 0;
  (void)t->references();
  (void)t->has_secret();
  if (t->is_static()) (void)t->render_static();
  render(*t);
  t->make_public();
  render(*t);
  (void)journeys::url_encode(text);
  (void)journeys::base64_encode(text);
  return 0;
}
