#pragma once
// A small argument parser: "--name VALUE", "--name=VALUE", boolean "--flag", positionals.
// Unknown options are usage errors naming the option.

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace prober::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;

  std::optional<std::string> get(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  bool has(const std::string& name) const { return flags.count(name) > 0; }
};

// value_options take a value; flag_options do not. Throws UsageError.
Args parse_args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
                const std::set<std::string>& flag_options);

// An option's value as a whole number: digits only (no sign, space or suffix), nullopt otherwise.
std::optional<long long> whole_number(const std::string& text);

}  // namespace prober::cli
