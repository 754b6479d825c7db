#pragma once
// The CUJ catalog (cujs.toml): every critical user journey with its business-impact rank, owner
// and description. Journeys name their CUJ (`cuj = "purchase"`); reports order by rank and list
// the CUJs no journey covers.
//
//   [[cuj]]
//   name = "purchase"
//   rank = 1                       # business impact, 1 = most
//   owner = "shop-team"
//   description = "Find a product and pay for it"
//   locations = ["edge-a", "edge-b"]   # optional: where it must be probed from

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "journeys/diag.hpp"
#include "journeys/model.hpp"

namespace journeys {

struct Cuj {
  std::string name;
  int rank = 0;  // >= 1
  std::string owner;
  std::string description;
  std::vector<std::string> locations;  // empty: no expectation
  SourcePos pos;                       // of the [[cuj]] table
};

struct Catalog {
  std::string file;
  std::vector<Cuj> cujs;  // in file order

  // nullptr when no CUJ has that name.
  const Cuj* find(std::string_view name) const;
};

// Parses a catalog from TOML text; file_name is used in diagnostics. Throws LoadError with every
// error found (file:line:col, unknown keys with a did-you-mean).
Catalog load_catalog_string(std::string_view toml_text, const std::string& file_name);
// Reads and parses one file. Throws LoadError (also for an unreadable file).
Catalog load_catalog_file(const std::filesystem::path& path);

// Warnings for journeys that name a CUJ the catalog does not have (with a did-you-mean), at the
// journey's position. A journey that names no CUJ is not warned about here.
std::vector<Diagnostic> check_journey_cujs(const Catalog& catalog,
                                           const std::vector<JourneyPtr>& journeys);

// The CUJs no journey names: the coverage gap "a CUJ with no journey", in rank order (then name).
std::vector<const Cuj*> uncovered_cujs(const Catalog& catalog,
                                       const std::vector<JourneyPtr>& journeys);

}  // namespace journeys
