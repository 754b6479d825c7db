// The CUJ catalog loader: one pass that reports every problem at once, in the journey loader's
// words ("cujs.toml:7:1: cuj 'purchase': unknown key 'onwer' (did you mean 'owner'?)").

#include "journeys/catalog.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include <toml++/toml.h>

#include "journeys/toml_read.hpp"

namespace journeys {
namespace {

const std::vector<std::string_view> kTopKeys = {"cuj"};
const std::vector<std::string_view> kCujKeys = {"name", "rank", "owner", "description",
                                                "locations"};

void missing_key(Diagnostics& d, const toml::node& table, std::string_view key) {
  d.error(table, "missing required key " + in_quotes(key));
}

Cuj load_cuj(Diagnostics& d, const toml::table& t, std::map<std::string, SourcePos>& seen) {
  Cuj c;
  c.pos = d.pos(t);
  ContextScope ctx(d, "cuj");
  if (const toml::node* n = t.get("name")) {
    if (auto name = string_at(d, *n, "name")) {
      if (name->empty()) {
        d.error(*n, "'name' must not be empty");
      } else if (auto it = seen.find(*name); it != seen.end()) {
        d.error(*n, "CUJ " + in_quotes(*name) + " is already defined at line " +
                        std::to_string(it->second.line));
      } else {
        seen.emplace(*name, d.pos(*n));
        c.name = *name;
      }
    }
  } else {
    missing_key(d, t, "name");
  }
  if (!c.name.empty()) d.set_context("cuj " + in_quotes(c.name));
  check_keys(d, t, kCujKeys);
  if (const toml::node* n = t.get("rank")) {
    if (const auto* i = n->as_integer()) {
      if (i->get() < 1 || i->get() > std::numeric_limits<int>::max())
        d.error(*n, "'rank' must be 1 or more (1 = most business impact), not " +
                        std::to_string(i->get()));
      else
        c.rank = static_cast<int>(i->get());
    } else {
      type_error(d, *n, "rank", "an integer (1 = most business impact)");
    }
  } else {
    missing_key(d, t, "rank");
  }
  if (const toml::node* n = t.get("owner")) c.owner = string_at(d, *n, "owner").value_or("");
  if (const toml::node* n = t.get("description"))
    c.description = string_at(d, *n, "description").value_or("");
  if (const toml::node* n = t.get("locations")) {
    c.locations = strings_at(d, *n, "locations").value_or(std::vector<std::string>{});
    std::set<std::string> unique;
    for (const std::string& l : c.locations)
      if (!unique.insert(l).second) d.error(*n, "location " + in_quotes(l) + " is listed twice");
  }
  return c;
}

}  // namespace

const Cuj* Catalog::find(std::string_view name) const {
  for (const Cuj& c : cujs)
    if (c.name == name) return &c;
  return nullptr;
}

Catalog load_catalog_string(std::string_view toml_text, const std::string& file_name) {
  Diagnostics d(file_name);
  toml::table root = parse_or_throw(d, toml_text);
  Catalog catalog;
  catalog.file = file_name;
  check_keys(d, root, kTopKeys);
  std::map<std::string, SourcePos> seen;
  if (const toml::node* n = root.get("cuj")) {
    const toml::array* a = n->as_array();
    if (!a) {
      type_error(d, *n, "cuj", "an array of tables ([[cuj]])");
    } else {
      for (const toml::node& item : *a) {
        if (const toml::table* t = item.as_table())
          catalog.cujs.push_back(load_cuj(d, *t, seen));
        else
          type_error(d, item, "cuj", "an array of tables ([[cuj]])");
      }
    }
  }
  if (catalog.cujs.empty() && !d.has_errors())
    d.error(SourcePos{file_name, 0, 0}, "no CUJ in the catalog (add a [[cuj]] table)");
  std::vector<Diagnostic> errors = d.take();
  std::stable_sort(errors.begin(), errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
  });
  if (!errors.empty()) throw LoadError(std::move(errors));
  return catalog;
}

Catalog load_catalog_file(const std::filesystem::path& path) {
  std::error_code ec;
  // An ifstream opens a folder without complaint and then reads nothing.
  if (std::filesystem::is_directory(path, ec))
    throw LoadError({file_error(path.string(),
                                "cannot read file: " + std::generic_category().message(EISDIR))});
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw LoadError(
        {file_error(path.string(), "cannot read file: " + std::generic_category().message(errno))});
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw LoadError({file_error(path.string(), "cannot read file")});
  return load_catalog_string(text.str(), path.string());
}

std::vector<Diagnostic> check_journey_cujs(const Catalog& catalog,
                                           const std::vector<JourneyPtr>& journeys) {
  std::vector<std::string_view> names;
  for (const Cuj& c : catalog.cujs)
    names.push_back(c.name);
  std::vector<Diagnostic> out;
  for (const JourneyPtr& j : journeys) {
    if (j->cuj.empty() || catalog.find(j->cuj)) continue;
    Diagnostic w;
    w.severity = Diagnostic::Severity::warning;
    w.pos = j->pos;
    w.context = "journey " + in_quotes(j->name);
    w.message = with_hint("CUJ " + in_quotes(j->cuj) + " is not in the catalog " + catalog.file,
                          j->cuj, names);
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<const Cuj*> uncovered_cujs(const Catalog& catalog,
                                       const std::vector<JourneyPtr>& journeys) {
  std::vector<const Cuj*> out;
  for (const Cuj& c : catalog.cujs) {
    bool covered = std::any_of(journeys.begin(), journeys.end(),
                               [&](const JourneyPtr& j) { return j->cuj == c.name; });
    if (!covered) out.push_back(&c);
  }
  std::stable_sort(out.begin(), out.end(), [](const Cuj* a, const Cuj* b) {
    return std::pair(a->rank, a->name) < std::pair(b->rank, b->name);
  });
  return out;
}

}  // namespace journeys
