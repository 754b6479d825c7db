// Fuzzes the prober config loader (prober.toml): any text must either load or throw
// journeys::LoadError with located diagnostics. Any other exception escaping is a bug and
// crashes the target. A config that loads also has its locations selected, as `prober run`
// does.
//
// Secrets named by { env = ... } are looked up with getenv (nothing is set for them here, so
// they are errors); those named by { file = ... } are resolved against the folder of the
// config's name, "fuzz/", which does not exist, so relative paths read nothing.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "prober/engine/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    prober::engine::Config config = prober::engine::load_config_string(text, "fuzz/prober.toml");
    (void)prober::engine::select_locations(config, "");
    for (const auto& location : config.locations) {
      try {
        (void)prober::engine::select_locations(config, location.name);
      } catch (const std::runtime_error&) {
        __builtin_trap();  // a location of the config must be selectable by its name
      }
    }
  } catch (const journeys::LoadError& e) {
    for (const journeys::Diagnostic& d : e.diagnostics())
      (void)d.str();
  }
  return 0;
}
