#pragma once
// Loads journey files into the model, reporting every problem in a file at once.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "journeys/check.hpp"
#include "journeys/diag.hpp"
#include "journeys/model.hpp"
#include "journeys/template.hpp"

namespace journeys {

struct LoadOptions {
  const CheckCatalog* checks = nullptr;  // required
  EnvLookup env = process_env();
};

// Parses one journey from TOML text; file_name is used in diagnostics. Throws LoadError with
// every error found (syntax errors stop at the first, as TOML cannot be parsed past them).
Journey load_journey_string(std::string_view toml_text, const std::string& file_name,
                            const LoadOptions& options);
// Reads and parses one file. Throws LoadError (also for an unreadable file).
Journey load_journey_file(const std::filesystem::path& path, const LoadOptions& options);

struct LoadedSet {
  std::vector<JourneyPtr> journeys;  // in path order, folders expanded to their *.toml, sorted
  std::vector<Diagnostic> warnings;
};
// Loads files and folders (recursively, *.toml). Collects the errors of all files and throws
// one LoadError with all of them; also an error: two journeys with the same name, a path
// that does not exist, no journey at all.
LoadedSet load_paths(const std::vector<std::string>& paths, const LoadOptions& options);

}  // namespace journeys
