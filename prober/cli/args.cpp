#include "prober/cli/args.hpp"

#include <charconv>

namespace prober::cli {

std::optional<long long> whole_number(const std::string& text) {
  long long n = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || text.front() == '-' || r.ec != std::errc() || r.ptr != text.data() + text.size())
    return std::nullopt;
  return n;
}

Args parse_args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
                const std::set<std::string>& flag_options) {
  Args a;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") {
      a.positional.insert(a.positional.end(), argv.begin() + static_cast<long>(i) + 1, argv.end());
      break;
    }
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      if (arg.size() > 1 && arg[0] == '-') throw UsageError("unknown option '" + arg + "'");
      a.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (value_options.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw UsageError("option '--" + name + "' needs a value");
        value = argv[++i];
      }
      a.values[name] = value;
    } else if (flag_options.count(name)) {
      if (inline_value) throw UsageError("option '--" + name + "' takes no value");
      a.flags.insert(name);
    } else {
      throw UsageError("unknown option '--" + name + "'");
    }
  }
  return a;
}

}  // namespace prober::cli
